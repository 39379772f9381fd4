"""Compare call records with what Asterisk's own queue_log and CDR say happened.

The expected records are built by folding the durable records alone through a fresh
tracker; a record mismatches when its outcome differs or its queue wait is off by more
than the tolerance.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from callcenter.calls.tracker import CallTracker
from callcenter.core.call_record import CallRecord
from callcenter.core.events import ResyncCompleted
from callcenter.telephony.durable import durable_events
from callcenter.telephony.durable_tail import DurableTail
from callcenter.telephony.queue_log import QueueLogEntry


@dataclass(frozen=True)
class Mismatch:
    call_id: str
    field: str
    recorded: object
    expected: object


@dataclass
class Reconciliation:
    mismatches: list[Mismatch] = field(default_factory=list)  # one or more per call
    missing: list[str] = field(default_factory=list)  # in the durable records, not recorded
    unexpected: list[str] = field(default_factory=list)  # recorded, not in the durable records

    @property
    def clean(self) -> bool:
        return not (self.mismatches or self.missing or self.unexpected)

    @property
    def mismatched_calls(self) -> int:
        return len({m.call_id for m in self.mismatches})

    def describe(self) -> list[str]:
        lines = [f"missing call {c}" for c in self.missing]
        lines += [f"unexpected call {c}" for c in self.unexpected]
        lines += [
            f"call {m.call_id}: {m.field} recorded {m.recorded!r}, expected {m.expected!r}"
            for m in self.mismatches
        ]
        return lines


def expected_records(
    *, queue_log: Path, cdr_csv: Path, pbx: str, zone: zoneinfo.ZoneInfo, short_abandon_s: float
) -> dict[str, CallRecord]:
    tail = DurableTail(str(queue_log), str(cdr_csv), zone=zone)
    entries, rows, _ = tail.read_new()
    tracker = CallTracker(short_abandon_s=short_abandon_s)
    finished: dict[str, CallRecord] = {}
    for event in durable_events(entries, rows, pbx):
        for record in tracker.apply(event):
            finished[record.call_id] = record
    for record in tracker.apply(ResyncCompleted(pbx=pbx, call_id="", at=0.0)):
        finished[record.call_id] = record
    return finished


def same_outcome(
    record: CallRecord, want_outcome: str, short_abandon_s: float, tolerance_s: float
) -> bool:
    if record.outcome == want_outcome:
        return True
    # queue_log counts whole seconds: an abandon at the short-abandon threshold can fall
    # on either side of it there, while the live record has the exact time.
    abandons = {"abandoned", "short_abandon"}
    return (
        {record.outcome, want_outcome} <= abandons
        and record.wait_s is not None
        and abs(record.wait_s - short_abandon_s) <= tolerance_s
    )


def compare(
    recorded: Iterable[CallRecord],
    expected: dict[str, CallRecord],
    *,
    short_abandon_s: float = 5.0,
    tolerance_s: float = 1.0,
) -> Reconciliation:
    result = Reconciliation()
    seen: set[str] = set()
    for record in recorded:
        seen.add(record.call_id)
        want = expected.get(record.call_id)
        if want is None:
            result.unexpected.append(record.call_id)
            continue
        if not same_outcome(record, want.outcome, short_abandon_s, tolerance_s):
            result.mismatches.append(
                Mismatch(record.call_id, "outcome", record.outcome, want.outcome)
            )
            continue
        if record.queue != want.queue:
            result.mismatches.append(Mismatch(record.call_id, "queue", record.queue, want.queue))
        if (record.wait_s is None) != (want.wait_s is None) or (
            record.wait_s is not None
            and want.wait_s is not None
            and abs(record.wait_s - want.wait_s) > tolerance_s
        ):
            result.mismatches.append(Mismatch(record.call_id, "wait_s", record.wait_s, want.wait_s))
        if record.outcome == "answered" and record.agent != want.agent:
            result.mismatches.append(Mismatch(record.call_id, "agent", record.agent, want.agent))
    result.missing = sorted(set(expected) - seen)
    return result


def compare_with_durable(
    recorded: Iterable[CallRecord],
    *,
    queue_log: Path,
    cdr_csv: Path,
    pbx: str,
    zone: zoneinfo.ZoneInfo,
    short_abandon_s: float,
    tolerance_s: float = 1.0,
) -> Reconciliation:
    expected = expected_records(
        queue_log=queue_log, cdr_csv=cdr_csv, pbx=pbx, zone=zone, short_abandon_s=short_abandon_s
    )
    return compare(recorded, expected, short_abandon_s=short_abandon_s, tolerance_s=tolerance_s)


# queue_log events that end a caller's wait without an agent (app_queue.c)
_LEFT_UNANSWERED = frozenset({"ABANDON", "EXITWITHTIMEOUT", "EXITEMPTY", "EXITWITHKEY"})


def queue_log_figures(
    entries: Iterable[QueueLogEntry], short_abandon_s: float, *, since: float = 0.0
) -> dict[str, int]:
    """Offered, answered, abandoned and short abandons as Asterisk's queue_log alone says,
    the way a queue_log report (QueueMetrics, say) counts them: one call per queued
    channel (a callid) that entered a queue; answered when an agent connected; a short
    abandon when the caller hung up (ABANDON) less than ``short_abandon_s`` whole seconds
    after first entering a queue. ``since``: calls that entered a queue from then on."""
    joined: dict[str, float] = {}
    answered: set[str] = set()
    ended: dict[str, tuple[str, float]] = {}
    for entry in entries:
        callid, event = entry.callid, entry.event
        if event == "ENTERQUEUE":
            joined.setdefault(callid, entry.time)
        elif event == "CONNECT":
            answered.add(callid)
        elif event in _LEFT_UNANSWERED:
            ended[callid] = (event, entry.time)
    offered = [c for c, at in joined.items() if at >= since]
    took = [c for c in offered if c in answered]
    short = [
        c
        for c in offered
        if c not in answered
        and ended.get(c, ("", 0.0))[0] == "ABANDON"
        and ended[c][1] - joined[c] < short_abandon_s
    ]
    return {
        "offered": len(offered),
        "answered": len(took),
        "abandoned": len(offered) - len(took),
        "short_abandons": len(short),
    }
