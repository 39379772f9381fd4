"""The rows the recordings repository hands out, typed column by column.

They stay dictionaries (callers and the JSON answers read them by key); the types say
which keys each one has.
"""

from __future__ import annotations

from typing import TypedDict


class Recording(TypedDict):
    """One row of ``recordings``, as the repository hands it out."""

    id: int
    path: str
    name_ids: str
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
    missing: bool
    recorded_at: float
    pbx: str
    call_id: str
    caller_number: str
    agent: str
    queue: str
    work_order: str
    call_ended_at: float | None
    qa_score: float | None
    legal_hold: bool
    hold_reason: str
    indexed_at: float


class Listen(TypedDict):
    """One row of ``recording_listens``: who linked, played or was denied a recording."""

    id: int
    recording_id: int
    path: str
    call_id: str
    user_login: str
    user_role: str
    action: str
    detail: str
    at: float


class QaReview(TypedDict):
    """One row of ``recording_qa``: a reviewer's score sheet for a recording."""

    id: int
    recording_id: int
    reviewer: str
    agent: str
    scored_at: float
    scores: str
    total: float
    comment: str


class QaSheet(TypedDict):
    """A score sheet with its call's time, for the monthly QA roll-up."""

    agent: str
    total: float
    scored_at: float
    recording_id: int
    recorded_at: float


class RecordedCall(TypedDict):
    """A call the tracker saw recording, with its legs' Uniqueids (for orphan reports)."""

    pbx: str
    call_id: str
    recorded: bool
    started_at: float
    ended_at: float | None
    caller_number: str
    agent: str
    queue: str
    channel_ids: list[str]
