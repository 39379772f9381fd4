"""CDR rows from a database table, where cdr_pgsql or cdr_adaptive_odbc keep them.

Asterisk's own schema (contrib/ast-db-manage/cdr) has ``start``, ``answer``, ``end``,
``uniqueid``, ``linkedid`` and ``sequence``; older hand-made tables have ``calldate``
(the start) and no linkedid. The columns present are looked up once; rows become the same
``CdrRow`` the CSV gives. A table has no byte offsets: the cursor is the ``end`` time (in
whole seconds) up to which every row is settled, and rows are read again from that second
on, which changes nothing (re-reading is idempotent) and misses nothing written late with
an earlier end. Dates without a zone are in the PBX's zone, as cdr_pgsql writes them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import Engine, MetaData, Table, select
from sqlalchemy.exc import NoSuchTableError, SQLAlchemyError

from callcenter.log import error_reason
from callcenter.telephony.durable import CdrRow

__all__ = ["CdrTable", "CdrTableError"]

READ_LIMIT = 5000  # rows per read; the next read goes on from there
REQUIRED = ("channel", "dstchannel", "uniqueid", "disposition")


class CdrTableError(Exception):
    """The table cannot be read as a CDR table (missing, or without a needed column)."""


def _epoch(value: object, zone: tzinfo) -> float:
    if value is None or value == "":
        return 0.0
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    if isinstance(when, datetime):
        return (when if when.tzinfo else when.replace(tzinfo=zone)).timestamp()
    return float(str(when))


def _text(value: Any) -> str:
    return "" if value is None else str(value)


# Makes the engine that reads a CDR database from its URL (the service's engine factory:
# one connection is enough).
EngineFactory = Callable[[str], Engine]


class CdrTable:
    """One table of CDR rows; ``read_since`` is blocking (run it in a thread). Its engine
    is ``engine``, else ``engine_for(url)``."""

    def __init__(
        self,
        url: str,
        table: str,
        *,
        zone: tzinfo,
        engine: Engine | None = None,
        engine_for: EngineFactory | None = None,
    ):
        self.url = url
        self.name = table
        self.zone = zone
        if engine is None:
            if engine_for is None:
                raise ValueError("a CDR table needs an engine or an engine factory")
            engine = engine_for(url)
        self._engine = engine
        self._table: Table | None = None
        # The rows handed out for the seconds at and after the cursor: read again there.
        self._given: set[tuple[str, str, str, str, float]] = set()

    def _columns(self) -> Table:
        if self._table is None:
            try:
                table = Table(self.name, MetaData(), autoload_with=self._engine)
            except NoSuchTableError as exc:
                raise CdrTableError(f"CDR table {self.name!r} does not exist") from exc
            names = set(table.c.keys())
            missing = [c for c in REQUIRED if c not in names]
            if "end" not in names and "calldate" not in names:
                missing.append("end (or calldate)")
            if missing:
                raise CdrTableError(f"CDR table {self.name!r} lacks column(s) {', '.join(missing)}")
            self._table = table
        return self._table

    @property
    def has_linkedid(self) -> bool:
        return "linkedid" in self._columns().c

    def describe(self) -> str:
        try:
            linked = self.has_linkedid
        except (CdrTableError, SQLAlchemyError) as exc:
            return f"CDR table {self.name}: cannot be read: {error_reason(exc)}"
        if linked:
            return f"CDR table {self.name}: has a linkedid column: every row names its call"
        return (
            f"CDR table {self.name}: no linkedid column: rows are put into calls by their "
            "channels (Local channel pairs, dstchannel) and the ids already seen; add "
            "Asterisk's linkedid column to make every row name its call"
        )

    def exists(self) -> bool:
        try:
            self._columns()
        except CdrTableError:
            return False
        return True

    def newest_end(self) -> float:
        """The latest end time in the table (0 when it is empty, or not there yet)."""
        if not self.exists():
            return 0.0
        table = self._columns()
        c = table.c
        end_column = c["end"] if "end" in c else c["calldate"]
        with self._engine.connect() as connection:
            newest = connection.execute(select(end_column).order_by(end_column.desc()).limit(1))
            value = newest.scalar()
        return _epoch(value, self.zone)

    def read_since(self, since: float) -> list[CdrRow]:
        """Rows that ended at or after ``since`` (epoch seconds) not handed out before;
        none while the table is not there yet (it is looked for again next time)."""
        if not self.exists():
            return []
        table = self._columns()
        c = table.c
        end_column = c["end"] if "end" in c else c["calldate"]
        cutoff = datetime.fromtimestamp(int(since), self.zone)
        if not _zoned(end_column):
            cutoff = cutoff.replace(tzinfo=None)
        query = select(table).where(end_column >= cutoff).order_by(end_column).limit(READ_LIMIT)
        with self._engine.connect() as connection:
            found = [self._row(dict(r)) for r in connection.execute(query).mappings()]
        fresh = []
        low = int(since)
        self._given = {key for key in self._given if key[4] >= low}
        for row in found:
            key = (row.uniqueid, row.dstchannel, row.disposition, row.lastapp, row.end)
            if key not in self._given:
                self._given.add(key)
                fresh.append(row)
        return fresh

    def _row(self, r: dict[str, Any]) -> CdrRow:
        zone = self.zone
        start = _epoch(r.get("start", r.get("calldate")), zone)
        duration = int(r.get("duration") or 0)
        end = _epoch(r["end"], zone) if "end" in r else start + duration
        return CdrRow(
            accountcode=_text(r.get("accountcode")),
            src=_text(r.get("src")),
            dst=_text(r.get("dst")),
            dcontext=_text(r.get("dcontext")),
            clid=_text(r.get("clid")),
            channel=_text(r.get("channel")),
            dstchannel=_text(r.get("dstchannel")),
            lastapp=_text(r.get("lastapp")),
            lastdata=_text(r.get("lastdata")),
            start=start,
            answer=_epoch(r.get("answer"), zone),
            end=end,
            duration=duration,
            billsec=int(r.get("billsec") or 0),
            disposition=_text(r.get("disposition")),
            amaflags=_text(r.get("amaflags")),
            uniqueid=_text(r.get("uniqueid")),
            userfield=_text(r.get("userfield")),
            linkedid=_text(r.get("linkedid")),
        )

    def close(self) -> None:
        self._engine.dispose()


def _zoned(column: Any) -> bool:
    return bool(getattr(column.type, "timezone", False))
