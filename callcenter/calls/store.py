"""Tables and repository for call records, their legs and the durable-record offsets
(synchronous SQLAlchemy Core).

Times are epoch seconds as Asterisk stamps them (double precision), so a stored
record reads back exactly as the tracker produced it. Text columns have no length
limit: a long caller name must never make a record unwritable.

The async service calls the repository through `asyncio.to_thread`; each method is one
transaction.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import fields
from typing import Any, Unpack

from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    Connection,
    Double,
    Engine,
    ForeignKeyConstraint,
    Index,
    Integer,
    RowMapping,
    String,
    Subquery,
    bindparam,
    delete,
    func,
    select,
    tuple_,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from callcenter.core.call_record import CallFilter, CallRecord, Leg
from callcenter.db.base import Base
from callcenter.db.upsert import upsert


class CallRow(Base):
    """One call, keyed by (pbx, call_id); columns mirror `CallRecord` field for field."""

    __tablename__ = "calls"

    pbx: Mapped[str] = mapped_column(String, primary_key=True)
    call_id: Mapped[str] = mapped_column(String, primary_key=True)
    kind: Mapped[str] = mapped_column(String)
    hotline: Mapped[str] = mapped_column(String)
    caller_number: Mapped[str] = mapped_column(String)
    caller_name: Mapped[str] = mapped_column(String)
    started_at: Mapped[float] = mapped_column(Double)
    queue: Mapped[str] = mapped_column(String)
    queue_joined_at: Mapped[float | None] = mapped_column(Double)
    queue_left_at: Mapped[float | None] = mapped_column(Double)
    agent: Mapped[str] = mapped_column(String)
    agent_interface: Mapped[str] = mapped_column(String)
    ring_started_at: Mapped[float | None] = mapped_column(Double)
    answered_at: Mapped[float | None] = mapped_column(Double)
    ended_at: Mapped[float | None] = mapped_column(Double)
    outcome: Mapped[str] = mapped_column(String)
    hangup_cause: Mapped[int | None] = mapped_column(Integer)
    wait_s: Mapped[float | None] = mapped_column(Double)
    talk_s: Mapped[float | None] = mapped_column(Double)
    ring_s: Mapped[float | None] = mapped_column(Double)
    ivr_s: Mapped[float | None] = mapped_column(Double)
    dtmf: Mapped[str] = mapped_column(String)
    recorded: Mapped[bool] = mapped_column(Boolean)
    origin: Mapped[str] = mapped_column(String)
    updated_at: Mapped[float] = mapped_column(Double)

    legs: Mapped[list[LegRow]] = relationship(
        back_populates="call",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="LegRow.position",
    )

    __table_args__ = (
        Index("ix_calls_started_at", "started_at"),
        Index("ix_calls_outcome_started_at", "outcome", "started_at"),
        Index("ix_calls_queue_started_at", "queue", "started_at"),
        Index("ix_calls_agent_started_at", "agent", "started_at"),
        Index("ix_calls_caller_number", "caller_number"),
    )


class LegRow(Base):
    """One channel of a call; `position` keeps the tracker's order of legs."""

    __tablename__ = "call_legs"

    pbx: Mapped[str] = mapped_column(String, primary_key=True)
    call_id: Mapped[str] = mapped_column(String, primary_key=True)
    channel_id: Mapped[str] = mapped_column(String, primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String)
    started_at: Mapped[float] = mapped_column(Double)
    answered_at: Mapped[float | None] = mapped_column(Double)
    ended_at: Mapped[float | None] = mapped_column(Double)
    cause: Mapped[int | None] = mapped_column(Integer)

    call: Mapped[CallRow] = relationship(back_populates="legs")

    __table_args__ = (
        ForeignKeyConstraint(
            ["pbx", "call_id"], ["calls.pbx", "calls.call_id"], ondelete="CASCADE"
        ),
        # A recording named by a leg's Uniqueid is matched on channel_id alone.
        Index("ix_call_legs_channel_id", "channel_id"),
    )


class DurableOffsetRow(Base):
    """How far the service has read one of a PBX's durable records (queue_log, CDR).

    `identity` names the file that offset belongs to (inode and size, say), so a
    rotated file is noticed and read from the start.
    """

    __tablename__ = "durable_offsets"

    pbx: Mapped[str] = mapped_column(String, primary_key=True)
    source: Mapped[str] = mapped_column(String, primary_key=True)
    offset: Mapped[int] = mapped_column(BigInteger)
    identity: Mapped[str] = mapped_column(String)
    updated_at: Mapped[float] = mapped_column(Double)


calls_table = Base.metadata.tables["calls"]
legs_table = Base.metadata.tables["call_legs"]
offsets_table = Base.metadata.tables["durable_offsets"]

CALL_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(CallRecord) if f.name != "legs")
LEG_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(Leg))
CALL_KEY = ("pbx", "call_id")
# A recording found for a call (by its file, after a restart, say) is never unsaid by a
# later version of the record that did not see MixMonitor start.
STICKY = ("recorded",)
OFFSET_KEY = ("pbx", "source")

Offsets = Mapping[str, tuple[int, str]]

_DELETE_LEGS = delete(legs_table).where(
    legs_table.c.pbx == bindparam("k_pbx"), legs_table.c.call_id == bindparam("k_call_id")
)


class CallStore:
    """Reads and writes `CallRecord`s keyed by (pbx, call_id).

    `clock` stamps `updated_at` (epoch seconds).
    """

    def __init__(self, engine: Engine, *, clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self._clock = clock

    # -- calls --------------------------------------------------------------

    def upsert_calls(self, records: Sequence[CallRecord]) -> int:
        """Insert or replace each record and its legs; returns how many calls were written.

        Idempotent: writing the same record again leaves one row. The legs stored
        for a call become exactly the record's legs. When one batch holds several
        versions of a call, the last one wins, except that a call rebuilt from queue_log
        and CDR (origin ``recovered``) never replaces an ended one stored from live events: after
        a restart the durable records are read again from the saved cursor, and the
        live record has the detail they lack (legs, keys pressed, exact times).
        """
        latest: dict[tuple[str, str], CallRecord] = {}
        for record in records:
            latest[(record.pbx, record.call_id)] = record
        if not latest:
            return 0
        with self.engine.begin() as connection:
            recovered = [key for key, record in latest.items() if record.origin == "recovered"]
            for key in _stored_live(connection, recovered):
                del latest[key]
            if not latest:
                return 0
            now = self._clock()
            call_rows = [_call_row(record, now) for record in latest.values()]
            leg_rows = [
                _leg_row(record, position, leg)
                for record in latest.values()
                for position, leg in enumerate(record.legs)
            ]
            connection.execute(upsert(connection, calls_table, CALL_KEY, STICKY), call_rows)
            # One keyed delete per call: an index lookup each, however large the table.
            connection.execute(_DELETE_LEGS, [{"k_pbx": p, "k_call_id": c} for p, c in latest])
            if leg_rows:
                connection.execute(legs_table.insert(), leg_rows)
        return len(latest)

    def get_call(self, pbx: str, call_id: str) -> CallRecord | None:
        page = select(calls_table).where(calls_table.c.pbx == pbx, calls_table.c.call_id == call_id)
        with self.engine.connect() as connection:
            records = _load(connection, page.subquery(), ())
        return records[0] if records else None

    def list_calls(
        self,
        *,
        limit: int = 100,
        offset: int = 0,
        newest_first: bool = True,
        **filters: Unpack[CallFilter],
    ) -> list[CallRecord]:
        """Calls that started in [since, until), filtered, ordered by start time."""
        if limit < 0 or offset < 0:
            raise ValueError("limit and offset must not be negative")
        order = ("started_at", "pbx", "call_id")
        page = (
            select(calls_table)
            .where(*_filters(filters))
            .order_by(*(_ordered(calls_table.c[name], newest_first) for name in order))
            .limit(limit)
            .offset(offset)
            .subquery()
        )
        page_order = [_ordered(page.c[name], newest_first) for name in order]
        with self.engine.connect() as connection:
            return _load(connection, page, page_order)

    def count_calls(self, **filters: Unpack[CallFilter]) -> int:
        query = select(func.count()).select_from(calls_table).where(*_filters(filters))
        with self.engine.connect() as connection:
            return int(connection.execute(query).scalar_one())

    def ended_calls_by_id(self, pbx: str, ids: Iterable[str]) -> dict[str, str]:
        """Stored ended calls found by any of their ids: each id that is a call's id or one
        of its legs' channel ids -> that call's id. After a restart, what queue_log and the
        CDR say again about these calls is already in the store."""
        wanted = list(dict.fromkeys(ids))
        found: dict[str, str] = {}
        c, leg = calls_table.c, legs_table.c
        ended = c.outcome != "in_progress"
        with self.engine.connect() as connection:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                by_call = select(c.call_id).where(c.pbx == pbx, c.call_id.in_(chunk), ended)
                found.update((row[0], row[0]) for row in connection.execute(by_call))
                by_leg = (
                    select(leg.channel_id, leg.call_id)
                    .join(calls_table, (c.pbx == leg.pbx) & (c.call_id == leg.call_id))
                    .where(leg.pbx == pbx, leg.channel_id.in_(chunk), ended)
                )
                for channel_id, call_id in connection.execute(by_leg):
                    found.setdefault(channel_id, call_id)
        return found

    # -- durable-record offsets --------------------------------------------

    def get_offsets(self, pbx: str) -> dict[str, tuple[int, str]]:
        """source ("queue_log" | "cdr") -> (byte offset, file identity) for one PBX."""
        query = select(offsets_table.c.source, offsets_table.c.offset, offsets_table.c.identity)
        with self.engine.connect() as connection:
            rows = connection.execute(query.where(offsets_table.c.pbx == pbx)).all()
        return {source: (int(offset), identity) for source, offset, identity in rows}

    def save_offsets(self, pbx: str, offsets: Offsets) -> None:
        if not offsets:
            return
        now = self._clock()
        rows = [
            {
                "pbx": pbx,
                "source": source,
                "offset": offset,
                "identity": identity,
                "updated_at": now,
            }
            for source, (offset, identity) in offsets.items()
        ]
        with self.engine.begin() as connection:
            connection.execute(upsert(connection, offsets_table, OFFSET_KEY), rows)


def _stored_live(connection: Connection, keys: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which of these calls are already stored, ended, from live events."""
    found: set[tuple[str, str]] = set()
    c = calls_table.c
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        query = select(c.pbx, c.call_id).where(
            tuple_(c.pbx, c.call_id).in_(chunk), c.origin == "live", c.outcome != "in_progress"
        )
        found.update((row[0], row[1]) for row in connection.execute(query))
    return found


def _filters(filters: CallFilter) -> list[ColumnElement[bool]]:
    c = calls_table.c
    clauses: list[ColumnElement[bool]] = []
    since, until = filters.get("since"), filters.get("until")
    if since is not None:
        clauses.append(c.started_at >= since)
    if until is not None:
        clauses.append(c.started_at < until)
    for name in ("outcome", "queue", "agent", "pbx"):
        value = filters.get(name)
        if value is not None:
            clauses.append(c[name] == value)
    return clauses


def _call_row(record: CallRecord, now: float) -> dict[str, Any]:
    row = {name: getattr(record, name) for name in CALL_COLUMNS}
    row["updated_at"] = now
    return row


def _leg_row(record: CallRecord, position: int, leg: Leg) -> dict[str, Any]:
    row = {name: getattr(leg, name) for name in LEG_COLUMNS}
    row.update(pbx=record.pbx, call_id=record.call_id, position=position)
    return row


def _ordered(column: ColumnElement[Any], descending: bool) -> ColumnElement[Any]:
    return column.desc() if descending else column.asc()


def _load(
    connection: Connection, page: Subquery, order: Iterable[ColumnElement[Any]]
) -> list[CallRecord]:
    """The page's calls with their legs, in one statement (so one consistent snapshot):
    each leg is found by its call's key in the legs' primary-key index."""
    leg_columns = [legs_table.c[name].label(f"leg_{name}") for name in LEG_COLUMNS]
    query = (
        select(page, *leg_columns)
        .outerjoin(
            legs_table,
            (legs_table.c.pbx == page.c.pbx) & (legs_table.c.call_id == page.c.call_id),
        )
        .order_by(*order, page.c.pbx, page.c.call_id, legs_table.c.position)
    )
    records: dict[tuple[str, str], CallRecord] = {}
    for row in connection.execute(query).mappings():
        key = (row["pbx"], row["call_id"])
        record = records.get(key)
        if record is None:
            record = records[key] = _record(row, ())
        if row["leg_channel_id"] is not None:
            record.legs.append(Leg(**{name: row[f"leg_{name}"] for name in LEG_COLUMNS}))
    return list(records.values())


def _record(row: RowMapping, legs: Iterable[Leg]) -> CallRecord:
    values = {name: row[name] for name in CALL_COLUMNS}
    return CallRecord(**values, legs=list(legs))
