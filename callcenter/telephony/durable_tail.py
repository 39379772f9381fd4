"""Reading what Asterisk appended to queue_log and the CDR CSV since a saved position.

The only I/O of the durable records: complete lines, each with the byte offset just past
it and the identity of its file, so that a cursor can be moved line by line as the calls
they describe are safely stored. A file whose identity (device and inode) changed, or that
is shorter than the offset, was rotated or truncated and is read from the start; a missing
file reads as empty.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import tzinfo

from sqlalchemy.exc import SQLAlchemyError

from callcenter.log import error_reason
from callcenter.telephony.ami_events import DEFAULT_ZONE
from callcenter.telephony.cdr_table import CdrTable
from callcenter.telephony.durable import CdrLayout, CdrRow, Offsets, cdr_layout_of, parse_cdr_line
from callcenter.telephony.queue_log import QueueLogEntry, parse_queue_log_line

__all__ = ["CdrFileReport", "DurableTail", "ReadLine", "inspect_cdr_file"]

SOURCES = ("queue_log", "cdr", "cdr_db")


@dataclass(frozen=True, slots=True)
class ReadLine:
    """One parsed line and where the file stands after it."""

    source: str  # "queue_log" | "cdr" | "cdr_db"
    item: QueueLogEntry | CdrRow
    end: int  # byte offset just past the line; for a table row, its end second
    identity: str  # the file's identity (device:inode), or the table's name

    @property
    def at(self) -> float:
        item = self.item
        return item.time if isinstance(item, QueueLogEntry) else (item.end or item.start)


def _identity(stat: os.stat_result) -> str:
    return f"{stat.st_dev}:{stat.st_ino}"


class DurableTail:
    """Reads queue_log and Master.csv on from a position it is told.

    ``read_lines`` returns the complete lines after ``position`` and moves ``position`` to
    where reading stopped; nothing here is saved: the caller decides how far the saved
    cursor may move (``durable_ledger``). With a ``cdr_table`` the CDR rows come from a
    database table instead of the CSV file (source ``cdr_db``, ``cdr_table``).
    """

    SOURCES = SOURCES

    def __init__(
        self,
        queue_log_path: str | os.PathLike[str] | None,
        cdr_path: str | os.PathLike[str] | None,
        *,
        zone: tzinfo = DEFAULT_ZONE,
        offsets: Offsets | None = None,
        cdr_table: CdrTable | None = None,
    ) -> None:
        self._paths = {"queue_log": queue_log_path, "cdr": cdr_path}
        self._table = cdr_table
        self.table_error = ""  # why the CDR table could not be read last time, if it could not
        self.zone = zone
        self.position: Offsets = {}
        self.malformed = 0  # lines skipped because they did not parse
        if offsets:
            self.restore(offsets)

    def restore(self, saved: Offsets) -> None:
        self.position = {k: v for k, v in saved.items() if k in self.SOURCES}

    def skip_to_end(self) -> None:
        """Start after everything already written (history is not ours to count)."""
        for source, path in self._paths.items():
            if path is None:
                continue
            try:
                stat = os.stat(path)
            except OSError:
                continue
            self.position[source] = (stat.st_size, _identity(stat))
        if self._table is not None:
            self.position["cdr_db"] = (int(self._table.newest_end()), self._table.name)

    def read_lines(self) -> list[ReadLine]:
        """The CDR first: Asterisk writes a call's queue_log lines before its CDR rows (at
        hang-up), so a call whose rows are read has its queue_log lines read too."""
        lines: list[ReadLine] = []
        lines.extend(self._read("cdr"))
        if self._table is not None:
            lines.extend(self._read_table(self._table))
        lines.extend(self._read("queue_log"))
        return lines

    def _read_table(self, table: CdrTable) -> list[ReadLine]:
        since, _ = self.position.get("cdr_db", (0, table.name))
        try:
            rows = table.read_since(since)
        except SQLAlchemyError as exc:  # the database is away: read on from here next time
            self.table_error = error_reason(exc)
            return []
        self.table_error = ""
        lines = [ReadLine("cdr_db", row, int(row.end or row.start), table.name) for row in rows]
        newest = max((line.end for line in lines), default=since)
        self.position["cdr_db"] = (max(since, newest), table.name)
        return lines

    def read_new(self) -> tuple[list[QueueLogEntry], list[CdrRow], Offsets]:
        """Everything after ``position``, by kind, and where each file stands after it."""
        entries: list[QueueLogEntry] = []
        rows: list[CdrRow] = []
        for line in self.read_lines():
            if isinstance(line.item, QueueLogEntry):
                entries.append(line.item)
            else:
                rows.append(line.item)
        return entries, rows, dict(self.position)

    def _read(self, source: str) -> Iterator[ReadLine]:
        for raw, end, identity in self._raw_lines(source):
            text = raw.decode("utf-8", errors="replace")
            item: QueueLogEntry | CdrRow | None
            if source == "queue_log":
                item = parse_queue_log_line(text)
            else:
                item = parse_cdr_line(text, self.zone)
            if item is None:
                self.malformed += text.strip() != ""
                continue
            yield ReadLine(source, item, end, identity)

    def _raw_lines(self, source: str) -> list[tuple[bytes, int, str]]:
        path = self._paths[source]
        if path is None:
            return []
        try:
            handle = open(path, "rb")  # noqa: SIM115 - closed below, after fstat
        except OSError:
            return []
        with handle:
            stat = os.fstat(handle.fileno())
            identity = _identity(stat)
            offset, saved_identity = self.position.get(source, (0, ""))
            if (saved_identity and saved_identity != identity) or offset > stat.st_size:
                offset = 0
            handle.seek(offset)
            lines: list[tuple[bytes, int, str]] = []
            for raw in handle:
                if not raw.endswith(b"\n"):
                    break  # a line still being written: read it next time
                offset += len(raw)
                lines.append((raw, offset, identity))
            self.position[source] = (offset, identity)
            return lines


@dataclass(frozen=True, slots=True)
class CdrFileReport:
    """What a CDR file's latest rows say about its layout (for ``config check`` and start)."""

    path: str
    exists: bool
    rows_seen: int
    layout: CdrLayout | None  # the layout of the latest rows; None: no row fits any
    column_counts: tuple[int, ...]  # distinct column counts among the rows looked at

    def describe(self) -> str:
        if not self.exists:
            return f"CDR {self.path}: not there yet (read from its start once it is)"
        if self.rows_seen == 0:
            return f"CDR {self.path}: no rows yet; the layout is found from the first rows"
        if self.layout is None:
            counts = ", ".join(str(n) for n in self.column_counts)
            return f"CDR {self.path}: rows with {counts} columns fit no known layout: not used"
        layout = self.layout
        return f"CDR {self.path}: {layout.name} layout ({layout.columns} columns): {layout.meaning}"


def inspect_cdr_file(path: str | os.PathLike[str], *, tail_bytes: int = 64 * 1024) -> CdrFileReport:
    """Read the last rows of a Master.csv and tell its layout."""
    name = os.fspath(path)
    try:
        with open(name, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            handle.seek(max(0, size - tail_bytes))
            chunk = handle.read()
    except FileNotFoundError:
        return CdrFileReport(name, False, 0, None, ())
    lines = chunk.decode("utf-8", errors="replace").splitlines()
    if size > tail_bytes and lines:
        lines = lines[1:]  # the first may be cut in the middle
    counts: list[int] = []
    layout: CdrLayout | None = None
    for line in lines:
        try:
            fields = next(csv.reader([line]))
        except (csv.Error, StopIteration):
            continue
        counts.append(len(fields))
        layout = cdr_layout_of(fields)
    return CdrFileReport(name, True, len(counts), layout, tuple(sorted(set(counts))))
