"""Asterisk's durable records, written the way Asterisk writes them.

- ``queue_log`` (main/logger.c ``ast_queue_log``): ``time|callid|queue|agent|event|data``
  with ``time`` the integer epoch and ``data`` the event's own ``|``-separated fields.
- ``Master.csv`` (cdr/cdr_csv.c ``build_csv_record``): strings quoted with inner quotes
  doubled, dates quoted ``YYYY-MM-DD HH:MM:SS`` in local time, or GMT with cdr.conf's
  ``usegmtime`` (an unset date is an empty unquoted field), integers bare. The columns
  depend on ``layout``:

  - ``default``: cdr_csv with the stock cdr.conf (``loguniqueid=yes``, ``loguserfield=yes``):
    accountcode, src, dst, dcontext, clid, channel, dstchannel, lastapp, lastdata, start,
    answer, end, duration, billsec, disposition, amaflags, uniqueid, userfield;
  - ``linkedid``: those 18 and a quoted linkedid, as a cdr_custom template writes it;
  - ``newcdrcolumns``: the 18 and, as cdr_csv's ``newcdrcolumns=yes`` appends them,
    peeraccount (quoted), linkedid (quoted), sequence (bare).

Each line is flushed as it is written: these files are the recovery source after an AMI cut.
Every CDR row also goes to ``table`` (a database table, ``cdr_db.py``) when one is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol, TextIO
from zoneinfo import ZoneInfo

from callcenter.sim.config import CDR_LAYOUTS
from callcenter.telephony.durable import CdrLeadingColumns


@dataclass(frozen=True, slots=True)
class CdrRow(CdrLeadingColumns):
    start: float
    answer: float | None
    end: float
    disposition: str
    amaflags: str
    uniqueid: str
    userfield: str
    linkedid: str
    peeraccount: str = ""  # party B's accountcode
    sequence: int = 0  # main/cdr.c global_cdr_sequence when this CDR object was made

    @property
    def duration(self) -> int:
        return int((self.end - self.start) * 1000) // 1000

    @property
    def billsec(self) -> int:
        if self.answer is None:
            return 0
        return int((self.end - self.answer) * 1000) // 1000


class CdrSink(Protocol):
    def put(self, row: CdrRow) -> None: ...

    def close(self) -> None: ...


def csv_string(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


class Records:
    """Writes both files under ``directory``; ``close()`` when done."""

    def __init__(
        self,
        directory: Path | str,
        timezone: str,
        layout: str = "linkedid",
        table: CdrSink | None = None,
        usegmtime: bool = False,
    ) -> None:
        if layout not in CDR_LAYOUTS:
            raise ValueError(f"cdr_layout must be one of {', '.join(CDR_LAYOUTS)}, got {layout!r}")
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.tz = ZoneInfo(timezone)
        self.csv_tz = ZoneInfo("UTC") if usegmtime else self.tz
        self.layout = layout
        self.table = table
        self.queue_log_path = self.directory / "queue_log"
        self.cdr_path = self.directory / "Master.csv"
        self._qlog: TextIO = open(self.queue_log_path, "a", encoding="utf-8")  # noqa: SIM115
        self._cdr: TextIO = open(self.cdr_path, "a", encoding="utf-8", newline="")  # noqa: SIM115

    def local(self, when: float) -> str:
        return datetime.fromtimestamp(int(when), self.tz).strftime("%Y-%m-%d %H:%M:%S")

    def csv_date(self, when: float) -> str:
        return datetime.fromtimestamp(int(when), self.csv_tz).strftime("%Y-%m-%d %H:%M:%S")

    def queue_log(
        self, when: float, callid: str, queue: str, agent: str, event: str, *data: object
    ) -> None:
        line = f"{int(when)}|{callid}|{queue}|{agent}|{event}|{'|'.join(str(d) for d in data)}\n"
        self._qlog.write(line)
        self._qlog.flush()

    def cdr_line(self, row: CdrRow) -> str:
        parts = [
            csv_string(row.accountcode),
            csv_string(row.src),
            csv_string(row.dst),
            csv_string(row.dcontext),
            csv_string(row.clid),
            csv_string(row.channel),
            csv_string(row.dstchannel),
            csv_string(row.lastapp),
            csv_string(row.lastdata),
            csv_string(self.csv_date(row.start)),
            csv_string(self.csv_date(row.answer)) if row.answer is not None else "",
            csv_string(self.csv_date(row.end)),
            str(row.duration),
            str(row.billsec),
            csv_string(row.disposition),
            csv_string(row.amaflags),
            csv_string(row.uniqueid),
            csv_string(row.userfield),
        ]
        if self.layout == "linkedid":
            parts.append(csv_string(row.linkedid))
        elif self.layout == "newcdrcolumns":
            parts += [csv_string(row.peeraccount), csv_string(row.linkedid), str(row.sequence)]
        return ",".join(parts) + "\n"

    def cdr(self, row: CdrRow) -> None:
        self._cdr.write(self.cdr_line(row))
        self._cdr.flush()
        if self.table is not None:
            self.table.put(row)

    def close(self) -> None:
        for handle in (self._qlog, self._cdr):
            if not handle.closed:
                handle.close()
        if self.table is not None:
            self.table.close()
