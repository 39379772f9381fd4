"""CDR rows in a database table, as cdr_pgsql (or cdr_adaptive_odbc) fills Asterisk's
standard ``cdr`` table.

The table is the one contrib/ast-db-manage/cdr creates (revisions 210693f3123d and
54cde9847798): varchar columns accountcode(80) src dst dcontext clid channel dstchannel
lastapp lastdata (80 each), ``start``/``answer``/``end`` timestamps without time zone,
duration and billsec integers, disposition and amaflags varchar(45), userfield(256),
uniqueid and linkedid (150), peeraccount(80), sequence integer; no primary key. It is
created when missing, as an administrator would have done before starting Asterisk.

How a row is filled follows cdr/cdr_pgsql.c ``pgsql_log``: a column whose value is empty
(an empty string, an unset answer time) is left out of the INSERT, so it stays NULL;
times are written as ``'%Y-%m-%d %T'`` (whole seconds) in the zone cdr_pgsql.conf names
with ``timezone``, or the host's local zone when that is unset (``ast_localtime(..., tz)``);
duration, billsec and sequence are integers; disposition and amaflags their names.

Rows are written by one thread with its own synchronous connection, in the order they
arrive, one committed INSERT each (cdr_pgsql runs each INSERT on its own). When the
database cannot be reached or refuses a row, the row is lost and a warning logged, as
cdr_pgsql's "Calls will not be logged!" does; the next row tries again.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import fields
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from callcenter.sim.records import CdrRow
from callcenter.telephony.durable import CdrLeadingColumns

log = logging.getLogger(__name__)

_STOP = object()
# accountcode ... lastdata: varchar(80) columns, the first of every CDR row
_LEADING = tuple(f.name for f in fields(CdrLeadingColumns))


def cdr_table(name: str, metadata: sa.MetaData) -> sa.Table:
    """``name`` may be ``schema.table``, as cdr_pgsql.conf's ``table`` may."""
    schema, _, table = name.rpartition(".")
    return sa.Table(
        table,
        metadata,
        *(sa.Column(name, sa.String(80)) for name in _LEADING),
        sa.Column("start", sa.DateTime()),
        sa.Column("answer", sa.DateTime()),
        sa.Column("end", sa.DateTime()),
        sa.Column("duration", sa.Integer),
        sa.Column("billsec", sa.Integer),
        sa.Column("disposition", sa.String(45)),
        sa.Column("amaflags", sa.String(45)),
        sa.Column("userfield", sa.String(256)),
        sa.Column("uniqueid", sa.String(150)),
        sa.Column("linkedid", sa.String(150)),
        sa.Column("peeraccount", sa.String(80)),
        sa.Column("sequence", sa.Integer),
        schema=schema or None,
    )


def row_values(row: CdrRow, tz: ZoneInfo) -> dict[str, object]:
    """The columns cdr_pgsql would name in its INSERT, with their values."""

    def when(epoch: float) -> datetime:
        return datetime.fromtimestamp(int(epoch), tz).replace(tzinfo=None)

    values: dict[str, object] = {
        **{name: getattr(row, name) for name in _LEADING},
        "start": when(row.start),
        "answer": when(row.answer) if row.answer is not None else None,
        "end": when(row.end),
        "duration": row.duration,
        "billsec": row.billsec,
        "disposition": row.disposition,
        "amaflags": row.amaflags,
        "userfield": row.userfield,
        "uniqueid": row.uniqueid,
        "linkedid": row.linkedid,
        "peeraccount": row.peeraccount,
        "sequence": row.sequence,
    }
    return {k: v for k, v in values.items() if v is not None and v != ""}


class CdrTableWriter:
    """A queue of rows and the thread that inserts them; ``close()`` waits for the rest."""

    def __init__(self, url: str, table: str, timezone: str) -> None:
        self.engine = sa.create_engine(url)  # a bad URL fails here; nothing connects yet
        self.tz = ZoneInfo(timezone)
        self.metadata = sa.MetaData()
        self.table = cdr_table(table, self.metadata)
        self.written = 0
        self.lost = 0
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="sim-cdr-db", daemon=True)
        self._thread.start()

    def put(self, row: CdrRow) -> None:
        self._queue.put(row)

    def close(self) -> None:
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()

    def _run(self) -> None:
        engine, ready = self.engine, False
        try:
            while (item := self._queue.get()) is not _STOP:
                assert isinstance(item, CdrRow)
                try:
                    with engine.begin() as connection:
                        if not ready:
                            self.metadata.create_all(connection, checkfirst=True)
                            ready = True
                        connection.execute(self.table.insert().values(row_values(item, self.tz)))
                    self.written += 1
                except sa.exc.SQLAlchemyError as exc:
                    self.lost += 1
                    log.warning(
                        "CDR %s not written to %s: %s",
                        item.uniqueid, self.table.fullname, type(exc).__name__,
                    )  # fmt: skip
        finally:
            engine.dispose()
