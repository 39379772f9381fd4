"""Recordings index, listen audit and QA scores (synchronous SQLAlchemy Core).

``recordings`` holds one row per audio file under the recordings root, keyed by its
relative path, with the call facts search needs copied in (caller, agent, queue, start)
so a search never joins across features. ``recording_listens`` is the audit trail: it
keeps the path and call id, so it outlives a purged recording. ``recording_qa`` holds a
supervisor's scores for a recording (one row per reviewer).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, NamedTuple, cast

from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    Double,
    Engine,
    ForeignKey,
    Index,
    Integer,
    RowMapping,
    String,
    Text,
    UniqueConstraint,
    bindparam,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.calls.store import calls_table, legs_table
from callcenter.db.base import Base
from callcenter.recordings.qa import ScoreSheet
from callcenter.recordings.rows import Listen, QaReview, QaSheet, RecordedCall, Recording


class RecordingRow(Base):
    __tablename__ = "recordings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    path: Mapped[str] = mapped_column(String, unique=True)
    name_ids: Mapped[str] = mapped_column(String)  # candidate ids from the name, space-separated
    part: Mapped[str] = mapped_column(String)
    container: Mapped[str] = mapped_column(String)
    codec: Mapped[str] = mapped_column(String)
    duration_s: Mapped[float] = mapped_column(Double)
    sample_rate: Mapped[int] = mapped_column(Integer)
    channels: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String)
    mtime_ns: Mapped[int] = mapped_column(BigInteger)
    inode: Mapped[int] = mapped_column(BigInteger)
    probe_error: Mapped[str] = mapped_column(String)
    missing: Mapped[bool] = mapped_column(Boolean)
    recorded_at: Mapped[float] = mapped_column(Double)  # the call's start, else the file's mtime
    pbx: Mapped[str] = mapped_column(String)
    call_id: Mapped[str] = mapped_column(String)
    caller_number: Mapped[str] = mapped_column(String)
    agent: Mapped[str] = mapped_column(String)
    queue: Mapped[str] = mapped_column(String)
    work_order: Mapped[str] = mapped_column(String)
    call_ended_at: Mapped[float | None] = mapped_column(Double)
    qa_score: Mapped[float | None] = mapped_column(Double)  # mean of the reviewers' totals, %
    legal_hold: Mapped[bool] = mapped_column(Boolean)
    hold_reason: Mapped[str] = mapped_column(String)
    indexed_at: Mapped[float] = mapped_column(Double)

    __table_args__ = (
        Index("ix_recordings_recorded_at", "recorded_at"),
        Index("ix_recordings_pbx_call_id", "pbx", "call_id"),
        Index("ix_recordings_agent_recorded_at", "agent", "recorded_at"),
        Index("ix_recordings_queue_recorded_at", "queue", "recorded_at"),
    )


class ListenRow(Base):
    __tablename__ = "recording_listens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    recording_id: Mapped[int] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(String)
    call_id: Mapped[str] = mapped_column(String)
    user_login: Mapped[str] = mapped_column(String)
    user_role: Mapped[str] = mapped_column(String)
    action: Mapped[str] = mapped_column(String)  # link | play | denied
    detail: Mapped[str] = mapped_column(String)
    at: Mapped[float] = mapped_column(Double)

    __table_args__ = (Index("ix_recording_listens_recording_id_at", "recording_id", "at"),)


class QaRow(Base):
    __tablename__ = "recording_qa"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    recording_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("recordings.id", ondelete="CASCADE")
    )
    reviewer: Mapped[str] = mapped_column(String)
    agent: Mapped[str] = mapped_column(String)
    scored_at: Mapped[float] = mapped_column(Double)
    scores: Mapped[str] = mapped_column(Text)  # JSON: criterion key -> points
    total: Mapped[float] = mapped_column(Double)  # percent of the maximum
    comment: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("recording_id", "reviewer"),
        Index("ix_recording_qa_agent_scored_at", "agent", "scored_at"),
    )


recordings_table = Base.metadata.tables["recordings"]
listens_table = Base.metadata.tables["recording_listens"]
qa_table = Base.metadata.tables["recording_qa"]


class IndexedFile(NamedTuple):
    """What a scan learns of one file: the file columns of its row, in table order."""

    path: str
    name_ids: str  # candidate ids from the name, space-separated
    part: str
    container: str
    codec: str
    duration_s: float
    sample_rate: int
    channels: int
    size: int
    sha256: str
    mtime_ns: int
    inode: int
    probe_error: str


FILE_COLUMNS = IndexedFile._fields
CALL_FIELDS = ("pbx", "call_id", "caller_number", "agent", "queue", "call_ended_at")
# What linking a file to its call sets: the call's facts, and its start as recorded_at.
LINK_COLUMNS = (*CALL_FIELDS, "recorded_at")
_link_values = itemgetter(*LINK_COLUMNS)


@dataclass(frozen=True, slots=True)
class Stamp:
    """What the incremental scan compares to decide a file is unchanged."""

    id: int
    size: int
    mtime_ns: int
    inode: int
    missing: bool


@dataclass(frozen=True, slots=True)
class SearchFilters:
    since: float | None = None
    until: float | None = None
    caller: str | None = None  # digits; matches anywhere in the number
    agent: str | None = None
    queue: str | None = None
    work_order: str | None = None
    min_duration: float | None = None
    max_duration: float | None = None
    min_score: float | None = None
    max_score: float | None = None
    call_id: str | None = None


class RecordingStore:
    def __init__(self, engine: Engine, *, clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self._clock = clock

    # -- files ---------------------------------------------------------------

    def stamps(self) -> dict[str, Stamp]:
        r = recordings_table.c
        query = select(r.path, r.id, r.size, r.mtime_ns, r.inode, r.missing)
        with self.engine.connect() as connection:
            # all(): one fetch for the whole index, where iterating fetches row by row.
            return {
                path: Stamp(rid, size, mtime_ns, inode, missing)
                for path, rid, size, mtime_ns, inode, missing in connection.execute(query).all()
            }

    def save_files(
        self,
        files: Sequence[IndexedFile],
        known: Mapping[str, int] | None = None,
        links: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        """Insert new files and refresh changed ones, giving those in ``links`` (by path)
        their call's facts (LINK_COLUMNS); the call links of the others are kept.

        ``known`` maps paths already indexed to their ids (the scan has them from
        ``stamps()``); without it they are looked up.
        """
        if not files:
            return
        now = self._clock()
        links = links or {}
        r = recordings_table.c
        with self.engine.begin() as connection:
            if known is None:
                known = {}
                for chunk in _chunks([f.path for f in files]):
                    known.update(
                        (row.path, row.id)
                        for row in connection.execute(select(r.path, r.id).where(r.path.in_(chunk)))
                    )
            # New files go straight to the driver as tuples, with their call's facts when
            # they have one: a big first scan spends its time here otherwise. recorded_at
            # is the file's mtime until the file is linked to its call. A path another scan
            # inserted meanwhile is left to that scan.
            plain: list[tuple[Any, ...]] = []
            linked: list[tuple[Any, ...]] = []
            for f in files:
                if f.path in known:
                    continue
                facts = links.get(f.path)
                if facts is None:
                    plain.append((*f, f.mtime_ns / 1e9))
                else:
                    linked.append((*f, *_link_values(facts)))
            style = connection.dialect.paramstyle
            if plain:
                connection.exec_driver_sql(_insert_sql(style, now, ("recorded_at",)), plain)
            if linked:
                connection.exec_driver_sql(_insert_sql(style, now, LINK_COLUMNS), linked)
            # Changed files: one UPDATE per shape of row, many parameter sets each.
            changed: dict[bool, list[dict[str, Any]]] = {False: [], True: []}
            for f in files:
                if f.path in known:
                    facts = links.get(f.path)
                    row = {**f._asdict(), **(facts or {}), "rid": known[f.path]}
                    changed[facts is not None].append(row)
            refresh = (
                update(recordings_table)
                .where(r.id == bindparam("rid"))
                .values(missing=False, indexed_at=now)
            )
            for rows in changed.values():
                if rows:
                    connection.execute(refresh, rows)
            _mark_recorded(connection, links.values())

    def mark_missing(self, paths: Iterable[str]) -> int:
        paths = list(paths)
        with self.engine.begin() as connection:
            for chunk in _chunks(paths):
                connection.execute(
                    update(recordings_table)
                    .where(recordings_table.c.path.in_(chunk))
                    .values(missing=True)
                )
        return len(paths)

    def unlinked(
        self, indexed_since: float | None = None, indexed_before: float | None = None
    ) -> list[tuple[int, tuple[str, ...]]]:
        """(id, candidate ids) of present files not linked to a call, optionally only
        those indexed in [since, before)."""
        r = recordings_table.c
        query = select(r.id, r.name_ids).where(r.call_id == "", r.missing.is_(False))
        if indexed_since is not None:
            query = query.where(r.indexed_at >= indexed_since)
        if indexed_before is not None:
            query = query.where(r.indexed_at < indexed_before)
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        return [(rid, tuple(name_ids.split())) for rid, name_ids in rows]

    def link(self, links: Mapping[int, Mapping[str, Any]]) -> None:
        """Give recordings (by id) their call's facts: LINK_COLUMNS."""
        if not links:
            return
        rows = [{**facts, "rid": rid} for rid, facts in links.items()]
        query = update(recordings_table).where(recordings_table.c.id == bindparam("rid"))
        with self.engine.begin() as connection:
            connection.execute(query, rows)
            _mark_recorded(connection, links.values())

    def linked_calls(self, keys: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which of these (pbx, call_id) have at least one present file."""
        r = recordings_table.c
        found: set[tuple[str, str]] = set()
        keys = list(keys)
        with self.engine.connect() as connection:
            for chunk in _chunks([k[1] for k in keys]):
                query = select(r.pbx, r.call_id).where(r.call_id.in_(chunk), r.missing.is_(False))
                found.update((row.pbx, row.call_id) for row in connection.execute(query))
        return found & set(keys)

    def call_links(self, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """For each of ``ids`` that is a stored call's Linkedid or the Uniqueid of one of its
        legs, the facts linking a file to that call sets (LINK_COLUMNS). A Linkedid wins
        over another call's leg, so the legs are searched only for the other ids."""
        ids = list(set(ids))
        found: dict[str, dict[str, Any]] = {}
        if not ids:
            return found
        facts = "c.pbx, c.call_id, c.caller_number, c.agent, c.queue, c.ended_at, c.started_at"
        with self.engine.connect() as connection:
            # Plain driver SQL: these lookups run for every file a scan indexes.
            marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
            pbxes = [row[0] for row in connection.exec_driver_sql(_PBXES)]
            pbx_markers = ", ".join([marker] * len(pbxes))
            for chunk in _chunks(ids):
                markers = ", ".join([marker] * len(chunk))
                if pbxes:  # by the primary key: calls has no index on call_id alone
                    by_call = connection.exec_driver_sql(
                        f"SELECT {facts} FROM calls c WHERE c.pbx IN ({pbx_markers})"
                        f" AND c.call_id IN ({markers})",
                        (*pbxes, *chunk),
                    )
                    for call in by_call:
                        found[call[1]] = link_facts(call)
                # The ids that name no call are looked for among the legs.
                rest = tuple(i for i in chunk if i not in found)
                if not rest:
                    continue
                by_leg = connection.exec_driver_sql(
                    f"SELECT g.channel_id, {facts} FROM call_legs g JOIN calls c"
                    " ON c.pbx = g.pbx AND c.call_id = g.call_id"
                    f" WHERE g.channel_id IN ({', '.join([marker] * len(rest))})",
                    rest,
                )
                for leg_id, *its_call in by_leg:
                    found.setdefault(leg_id, link_facts(its_call))
        return found

    def recorded_calls(self, since: float | None = None) -> list[RecordedCall]:
        """Every finished call the tracker saw recording (for orphan reports)."""
        c = calls_table.c
        query = select(c.pbx, c.call_id).where(c.recorded.is_(True))
        if since is not None:
            query = query.where(c.started_at >= since)
        with self.engine.connect() as connection:
            keys = {(row.pbx, row.call_id) for row in connection.execute(query)}
            return self._calls(connection, keys)

    @staticmethod
    def _calls(connection: Any, keys: set[tuple[str, str]]) -> list[RecordedCall]:
        c, g = calls_table.c, legs_table.c
        found: dict[tuple[str, str], RecordedCall] = {}
        for pbx in {k[0] for k in keys}:
            call_ids = [k[1] for k in keys if k[0] == pbx]
            for chunk in _chunks(call_ids):
                query = select(
                    c.pbx, c.call_id, c.recorded, c.started_at, c.ended_at, c.caller_number,
                    c.agent, c.queue,
                ).where(c.pbx == pbx, c.call_id.in_(chunk))  # fmt: skip
                for row in connection.execute(query).mappings():
                    found[(row["pbx"], row["call_id"])] = cast(
                        RecordedCall, {**row, "channel_ids": []}
                    )
                legs = select(g.call_id, g.channel_id).where(g.pbx == pbx, g.call_id.in_(chunk))
                for row in connection.execute(legs.order_by(g.position)):
                    found[(pbx, row.call_id)]["channel_ids"].append(row.channel_id)
        return list(found.values())

    def files(self, *, include_missing: bool = False) -> list[Recording]:
        query = select(recordings_table)
        if not include_missing:
            query = query.where(recordings_table.c.missing.is_(False))
        with self.engine.connect() as connection:
            return [_recording(row) for row in connection.execute(query).mappings()]

    def get(self, rid: int) -> Recording | None:
        return self._one(recordings_table.c.id == rid)

    def get_by_path(self, path: str) -> Recording | None:
        return self._one(recordings_table.c.path == path)

    def _one(self, where: ColumnElement[bool]) -> Recording | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(recordings_table).where(where)).mappings().first()
        return _recording(row) if row is not None else None

    def delete(self, ids: Iterable[int]) -> int:
        ids = list(ids)
        with self.engine.begin() as connection:
            for chunk in _chunks(ids):
                connection.execute(delete(qa_table).where(qa_table.c.recording_id.in_(chunk)))
                connection.execute(delete(recordings_table).where(recordings_table.c.id.in_(chunk)))
        return len(ids)

    def set_hold(self, rid: int, hold: bool, reason: str = "") -> bool:
        with self.engine.begin() as connection:
            result = connection.execute(
                update(recordings_table)
                .where(recordings_table.c.id == rid)
                .values(legal_hold=hold, hold_reason=reason if hold else "")
            )
        return result.rowcount > 0

    def set_work_order(self, pbx: str, call_id: str, work_order: str) -> int:
        r = recordings_table.c
        with self.engine.begin() as connection:
            result = connection.execute(
                update(recordings_table)
                .where(r.pbx == pbx, r.call_id == call_id)
                .values(work_order=work_order)
            )
        return int(result.rowcount)

    # -- search --------------------------------------------------------------

    def search(
        self, filters: SearchFilters, *, limit: int = 50, offset: int = 0
    ) -> tuple[int, list[Recording]]:
        r = recordings_table.c
        clauses: list[Any] = [r.missing.is_(False)]
        f = filters
        if f.since is not None:
            clauses.append(r.recorded_at >= f.since)
        if f.until is not None:
            clauses.append(r.recorded_at < f.until)
        if f.caller:
            clauses.append(r.caller_number.contains(f.caller, autoescape=True))
        for column, value in (
            (r.agent, f.agent), (r.queue, f.queue), (r.work_order, f.work_order),
            (r.call_id, f.call_id),
        ):  # fmt: skip
            if value is not None:
                clauses.append(column == value)
        if f.min_duration is not None:
            clauses.append(r.duration_s >= f.min_duration)
        if f.max_duration is not None:
            clauses.append(r.duration_s <= f.max_duration)
        if f.min_score is not None:
            clauses.append(r.qa_score >= f.min_score)
        if f.max_score is not None:
            clauses.append(r.qa_score <= f.max_score)
        query = (
            select(recordings_table)
            .where(*clauses)
            .order_by(r.recorded_at.desc(), r.id.desc())
            .limit(limit)
            .offset(offset)
        )
        with self.engine.connect() as connection:
            total = connection.execute(select(func.count()).where(*clauses)).scalar_one()
            rows = [_recording(row) for row in connection.execute(query).mappings()]
        return int(total), rows

    # -- audit ---------------------------------------------------------------

    def audit(
        self, recording: Mapping[str, Any], *, login: str, role: str, action: str, detail: str = ""
    ) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                listens_table.insert(),
                {
                    "recording_id": recording.get("id", 0),
                    "path": recording.get("path", ""),
                    "call_id": recording.get("call_id", ""),
                    "user_login": login,
                    "user_role": role,
                    "action": action,
                    "detail": detail[:200],
                    "at": self._clock(),
                },
            )

    def listens(self, rid: int | None = None) -> list[Listen]:
        query = select(listens_table).order_by(listens_table.c.id)
        if rid is not None:
            query = query.where(listens_table.c.recording_id == rid)
        with self.engine.connect() as connection:
            return [cast(Listen, dict(row)) for row in connection.execute(query).mappings()]

    # -- QA --------------------------------------------------------------------

    def save_qa(
        self, rid: int, *, reviewer: str, agent: str, scores: str, total: float, comment: str
    ) -> None:
        """One score per reviewer and recording (a new one replaces theirs)."""
        q = qa_table.c
        now = self._clock()
        with self.engine.begin() as connection:
            connection.execute(
                delete(qa_table).where(q.recording_id == rid, q.reviewer == reviewer)
            )
            connection.execute(
                qa_table.insert(),
                {
                    "recording_id": rid, "reviewer": reviewer, "agent": agent, "scored_at": now,
                    "scores": scores, "total": total, "comment": comment,
                },
            )  # fmt: skip
            mean = connection.execute(select(func.avg(q.total)).where(q.recording_id == rid))
            connection.execute(
                update(recordings_table)
                .where(recordings_table.c.id == rid)
                .values(qa_score=mean.scalar_one())
            )

    def qa_for(self, rid: int) -> list[QaReview]:
        query = select(qa_table).where(qa_table.c.recording_id == rid).order_by(qa_table.c.id)
        with self.engine.connect() as connection:
            return [cast(QaReview, dict(row)) for row in connection.execute(query).mappings()]

    def qa_sheets(
        self, since: float | None = None, until: float | None = None, agent: str | None = None
    ) -> list[ScoreSheet]:
        """Whole score sheets (every criterion's points) for calls recorded in [since,
        until), optionally one agent's, newest call first."""
        q, r = qa_table.c, recordings_table.c
        query = (
            select(
                q.recording_id,
                q.reviewer,
                q.agent,
                r.recorded_at,
                q.scored_at,
                q.total,
                q.scores,
                q.comment,
            )
            .join(recordings_table, r.id == q.recording_id)
            .order_by(r.recorded_at.desc(), q.recording_id, q.reviewer)
        )
        if since is not None:
            query = query.where(r.recorded_at >= since)
        if until is not None:
            query = query.where(r.recorded_at < until)
        if agent is not None:
            query = query.where(q.agent == agent)
        with self.engine.connect() as connection:
            return [
                ScoreSheet(rid, reviewer, who, at, scored, total, json.loads(scores), comment)
                for rid, reviewer, who, at, scored, total, scores, comment in connection.execute(
                    query
                )
            ]

    def qa_rows(self, since: float | None = None, until: float | None = None) -> list[QaSheet]:
        """Score sheets with their call's time, for calls in [since, until)."""
        q, r = qa_table.c, recordings_table.c
        query = select(q.agent, q.total, q.scored_at, q.recording_id, r.recorded_at).join(
            recordings_table, r.id == q.recording_id
        )
        if since is not None:
            query = query.where(r.recorded_at >= since)
        if until is not None:
            query = query.where(r.recorded_at < until)
        with self.engine.connect() as connection:
            return [cast(QaSheet, dict(row)) for row in connection.execute(query).mappings()]


_EMPTY_CALL: dict[str, Any] = {
    "pbx": "", "call_id": "", "caller_number": "", "agent": "",
    "queue": "", "work_order": "", "call_ended_at": None, "qa_score": None,
    "legal_hold": False, "hold_reason": "",
}  # fmt: skip


# The PBXes that have stored calls, one index lookup each (a skip scan of the primary key,
# where SELECT DISTINCT would read every call).
_PBXES = """
WITH RECURSIVE pbxes(pbx) AS (
    SELECT MIN(pbx) FROM calls
    UNION ALL
    SELECT (SELECT MIN(c.pbx) FROM calls c WHERE c.pbx > pbxes.pbx) FROM pbxes
    WHERE pbxes.pbx IS NOT NULL
)
SELECT pbx FROM pbxes WHERE pbx IS NOT NULL
"""


def _recording(row: RowMapping) -> Recording:
    # A select of the whole recordings table: exactly Recording's keys.
    return cast(Recording, dict(row))


def _mark_recorded(connection: Any, facts: Iterable[Mapping[str, Any]]) -> None:
    """A file found for a call says the call was recorded, even when MixMonitor started
    while nobody listened (the call's record then could not say so)."""
    by_pbx: dict[str, set[str]] = {}
    for fact in facts:
        if fact.get("call_id"):
            by_pbx.setdefault(fact["pbx"], set()).add(fact["call_id"])
    c = calls_table.c
    for pbx, call_ids in by_pbx.items():
        for chunk in _chunks(sorted(call_ids)):
            connection.execute(
                update(calls_table)
                .where(c.pbx == pbx, c.call_id.in_(chunk), c.recorded.is_(False))
                .values(recorded=True)
            )


def link_facts(values: Sequence[Any]) -> dict[str, Any]:
    """LINK_COLUMNS from a call's pbx, call_id, caller_number, agent, queue, ended_at and
    started_at: the call's start is when its recording was made."""
    *call, started_at = values
    return {**dict(zip(CALL_FIELDS, call, strict=True)), "recorded_at": float(started_at or 0.0)}


def _insert_sql(paramstyle: str, now: float, bound: Sequence[str]) -> str:
    """INSERT of new files: the file columns and ``bound`` as parameters, in that order;
    the values every new row shares written as SQL literals (fewer parameters to bind)."""
    marker = "?" if paramstyle == "qmark" else "%s"
    shared = {"missing": False, **_EMPTY_CALL}
    for name in bound:
        shared.pop(name, None)
    names = (*FILE_COLUMNS, *bound, "indexed_at", *shared)
    values = (
        *[marker] * (len(FILE_COLUMNS) + len(bound)),
        repr(float(now)),
        *map(_literal, shared.values()),
    )
    return (
        f"INSERT INTO recordings ({', '.join(names)}) "
        f"VALUES ({', '.join(values)}) ON CONFLICT (path) DO NOTHING"
    )


def _literal(value: bool | str | None) -> str:
    """SQL for the constant defaults of a new row (no user data ever goes through here)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if value == "":
        return "''"
    raise ValueError(f"not a constant default: {value!r}")


def _chunks(items: Sequence[Any], size: int = 500) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
