"""Which file belongs to which call, and what is missing on either side. Pure.

A file names a Uniqueid or a Linkedid (``naming.parse_name`` gives the candidates); a call
is known by its Linkedid (``call_id``) and the Uniqueids of its legs. A file that matches
no call is an orphan file; a call the tracker saw recording (``CallRecord.recorded``) that
ended more than ``grace_s`` ago with no file is an orphan call (MixMonitor may finish
writing after the hang-up, so a fresh one is only late).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from callcenter.core.call_record import CallRecord


@dataclass(frozen=True, slots=True)
class CallFacts:
    """What the recordings index keeps of a call (for linking and for search)."""

    pbx: str
    call_id: str
    channel_ids: tuple[str, ...] = ()
    recorded: bool = False
    started_at: float = 0.0
    ended_at: float | None = None
    caller_number: str = ""
    agent: str = ""
    queue: str = ""

    @classmethod
    def from_record(cls, record: CallRecord) -> CallFacts:
        return cls(
            pbx=record.pbx,
            call_id=record.call_id,
            channel_ids=tuple(leg.channel_id for leg in record.legs),
            recorded=record.recorded,
            started_at=record.started_at,
            ended_at=record.ended_at,
            caller_number=record.caller_number,
            agent=record.agent,
            queue=record.queue,
        )

    @property
    def ids(self) -> tuple[str, ...]:
        return (self.call_id, *(c for c in self.channel_ids if c != self.call_id))


@dataclass(frozen=True, slots=True)
class FileFacts:
    path: str
    ids: tuple[str, ...]


@dataclass(slots=True)
class Linking:
    links: dict[str, CallFacts] = field(default_factory=dict)  # path -> its call
    orphan_files: list[str] = field(default_factory=list)
    orphan_calls: list[CallFacts] = field(default_factory=list)  # recorded, no file
    late_calls: list[CallFacts] = field(default_factory=list)  # recorded, no file yet


def ids_to_calls(calls: Iterable[CallFacts]) -> dict[str, CallFacts]:
    """Every id a file may carry, to its call. A Linkedid wins over another call's leg id."""
    by_id: dict[str, CallFacts] = {}
    calls = list(calls)
    for call in calls:
        for channel_id in call.channel_ids:
            by_id.setdefault(channel_id, call)
    for call in calls:
        by_id[call.call_id] = call
    return by_id


def match(ids: Iterable[str], by_id: Mapping[str, CallFacts]) -> CallFacts | None:
    for candidate in ids:
        call = by_id.get(candidate)
        if call is not None:
            return call
    return None


def link(
    files: Iterable[FileFacts], calls: Iterable[CallFacts], *, now: float, grace_s: float
) -> Linking:
    calls = list(calls)
    by_id = ids_to_calls(calls)
    result = Linking()
    with_file: set[tuple[str, str]] = set()
    for facts in files:
        call = match(facts.ids, by_id)
        if call is None:
            result.orphan_files.append(facts.path)
        else:
            result.links[facts.path] = call
            with_file.add((call.pbx, call.call_id))
    for call in calls:
        if not call.recorded or (call.pbx, call.call_id) in with_file:
            continue
        if call.ended_at is not None and call.ended_at + grace_s <= now:
            result.orphan_calls.append(call)
        else:
            result.late_calls.append(call)
    return result
