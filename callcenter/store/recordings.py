"""Recordings index, listen audit and QA scores (synchronous SQLAlchemy Core).

``recordings`` holds one row per audio file under the recordings root, keyed by its
relative path, with the call facts search needs copied in (caller, agent, queue, start)
so a search never joins across features. ``recording_listens`` is the audit trail: it
keeps the path and call id, so it outlives a purged recording. ``recording_qa`` holds a
supervisor's scores for a recording (one row per reviewer).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Double,
    Engine,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.store.models import Base, calls_table, legs_table


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

FILE_COLUMNS = (
    "path", "name_ids", "part", "container", "codec", "duration_s", "sample_rate", "channels",
    "size", "sha256", "mtime_ns", "inode", "probe_error",
)  # fmt: skip
CALL_FIELDS = ("pbx", "call_id", "caller_number", "agent", "queue", "call_ended_at")


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
            return {
                row.path: Stamp(row.id, row.size, row.mtime_ns, row.inode, row.missing)
                for row in connection.execute(query)
            }

    def save_files(
        self, files: Sequence[Mapping[str, Any]], known: Mapping[str, int] | None = None
    ) -> None:
        """Insert new files and refresh changed ones; call links are kept.

        ``known`` maps paths already indexed to their ids (the scan has them from
        ``stamps()``); without it they are looked up.
        """
        if not files:
            return
        now = self._clock()
        r = recordings_table.c
        with self.engine.begin() as connection:
            if known is None:
                known = {}
                for chunk in _chunks([f["path"] for f in files]):
                    known.update(
                        (row.path, row.id)
                        for row in connection.execute(select(r.path, r.id).where(r.path.in_(chunk)))
                    )
            fresh = [f for f in files if f["path"] not in known]
            if fresh:
                # Straight to the driver with prebuilt tuples: a big first scan spends
                # its time here otherwise. A path another scan inserted meanwhile is
                # left to that scan.
                # The values every new row shares are SQL literals: fewer parameters to bind.
                marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
                names = (*FILE_COLUMNS, "recorded_at", "missing", "indexed_at", *_EMPTY_CALL)
                bound = [marker] * (len(FILE_COLUMNS) + 1)
                shared = ["FALSE", repr(float(now)), *map(_literal, _EMPTY_CALL.values())]
                sql = (
                    f"INSERT INTO recordings ({', '.join(names)}) "
                    f"VALUES ({', '.join(bound + shared)}) ON CONFLICT (path) DO NOTHING"
                )
                facts = itemgetter(*FILE_COLUMNS)
                # recorded_at is the file's mtime until the file is linked to its call.
                connection.exec_driver_sql(sql, [(*facts(f), f["mtime_ns"] / 1e9) for f in fresh])
            for f in files:
                if f["path"] in known:
                    connection.execute(
                        update(recordings_table)
                        .where(r.id == known[f["path"]])
                        .values(**f, missing=False, indexed_at=now)
                    )

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
            return [(row.id, tuple(row.name_ids.split())) for row in connection.execute(query)]

    def link(self, links: Mapping[int, Mapping[str, Any]]) -> None:
        """Give recordings (by id) their call's facts: CALL_FIELDS plus recorded_at."""
        with self.engine.begin() as connection:
            for rid, facts in links.items():
                connection.execute(
                    update(recordings_table).where(recordings_table.c.id == rid).values(**facts)
                )

    def link_paths(self, links: Mapping[str, Mapping[str, Any]]) -> None:
        """Give recordings (by path) their call's facts."""
        if not links:
            return
        with self.engine.begin() as connection:
            for path, facts in links.items():
                connection.execute(
                    update(recordings_table).where(recordings_table.c.path == path).values(**facts)
                )

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

    def calls_for_ids(self, ids: Iterable[str]) -> list[dict[str, Any]]:
        """Stored calls whose Linkedid or a leg's Uniqueid is among ``ids``, with leg ids."""
        ids = list(set(ids))
        keys: set[tuple[str, str]] = set()
        if not ids:
            return []
        with self.engine.connect() as connection:
            # Plain driver SQL: these lookups run for every file a scan indexes.
            marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
            for chunk in _chunks(ids):
                markers = ", ".join([marker] * len(chunk))
                for table, column in (("calls", "call_id"), ("call_legs", "channel_id")):
                    result = connection.exec_driver_sql(
                        f"SELECT pbx, call_id FROM {table} WHERE {column} IN ({markers})",
                        tuple(chunk),
                    )
                    keys.update((row[0], row[1]) for row in result)
            return self._calls(connection, keys)

    def recorded_calls(self, since: float | None = None) -> list[dict[str, Any]]:
        """Every finished call the tracker saw recording (for orphan reports)."""
        c = calls_table.c
        query = select(c.pbx, c.call_id).where(c.recorded.is_(True))
        if since is not None:
            query = query.where(c.started_at >= since)
        with self.engine.connect() as connection:
            keys = {(row.pbx, row.call_id) for row in connection.execute(query)}
            return self._calls(connection, keys)

    @staticmethod
    def _calls(connection: Any, keys: set[tuple[str, str]]) -> list[dict[str, Any]]:
        c, g = calls_table.c, legs_table.c
        found: dict[tuple[str, str], dict[str, Any]] = {}
        for pbx in {k[0] for k in keys}:
            call_ids = [k[1] for k in keys if k[0] == pbx]
            for chunk in _chunks(call_ids):
                query = select(
                    c.pbx, c.call_id, c.recorded, c.started_at, c.ended_at, c.caller_number,
                    c.agent, c.queue,
                ).where(c.pbx == pbx, c.call_id.in_(chunk))  # fmt: skip
                for row in connection.execute(query).mappings():
                    found[(row["pbx"], row["call_id"])] = {**row, "channel_ids": []}
                legs = select(g.call_id, g.channel_id).where(g.pbx == pbx, g.call_id.in_(chunk))
                for row in connection.execute(legs.order_by(g.position)):
                    found[(pbx, row.call_id)]["channel_ids"].append(row.channel_id)
        return list(found.values())

    def files(self, *, include_missing: bool = False) -> list[dict[str, Any]]:
        query = select(recordings_table)
        if not include_missing:
            query = query.where(recordings_table.c.missing.is_(False))
        with self.engine.connect() as connection:
            return [dict(row) for row in connection.execute(query).mappings()]

    def get(self, rid: int) -> dict[str, Any] | None:
        with self.engine.connect() as connection:
            row = (
                connection.execute(select(recordings_table).where(recordings_table.c.id == rid))
                .mappings()
                .first()
            )
        return dict(row) if row is not None else None

    def get_by_path(self, path: str) -> dict[str, Any] | None:
        with self.engine.connect() as connection:
            row = (
                connection.execute(select(recordings_table).where(recordings_table.c.path == path))
                .mappings()
                .first()
            )
        return dict(row) if row is not None else None

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
    ) -> tuple[int, list[dict[str, Any]]]:
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
            rows = [dict(row) for row in connection.execute(query).mappings()]
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

    def listens(self, rid: int | None = None) -> list[dict[str, Any]]:
        query = select(listens_table).order_by(listens_table.c.id)
        if rid is not None:
            query = query.where(listens_table.c.recording_id == rid)
        with self.engine.connect() as connection:
            return [dict(row) for row in connection.execute(query).mappings()]

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

    def qa_for(self, rid: int) -> list[dict[str, Any]]:
        query = select(qa_table).where(qa_table.c.recording_id == rid).order_by(qa_table.c.id)
        with self.engine.connect() as connection:
            return [dict(row) for row in connection.execute(query).mappings()]

    def qa_rows(
        self, since: float | None = None, until: float | None = None
    ) -> list[dict[str, Any]]:
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
            return [dict(row) for row in connection.execute(query).mappings()]


_EMPTY_CALL: dict[str, Any] = {
    "pbx": "", "call_id": "", "caller_number": "", "agent": "",
    "queue": "", "work_order": "", "call_ended_at": None, "qa_score": None,
    "legal_hold": False, "hold_reason": "",
}  # fmt: skip


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
