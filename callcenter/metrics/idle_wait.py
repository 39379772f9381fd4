"""``max_wait_while_idle_s``: the longest time any caller waited while an agent qualified
for their call sat ready and unrung, beyond the preference window (docs/metrics.md).

A caller's qualified agents are the members of the queue they wait in, whatever their
penalty: a penalty keeps a member back only for the preference window. For each stay in
a queue, the time after ``joined + window`` during which the queue had a member ready and
not ringing, and the caller was not being offered (no member's phone ringing for them),
is summed; the figure is the largest such sum. Time a caller's offer rings at one member
is the member's pickup (app_queue rings one member at a time under ``leastrecent``), not
a wait beside an idle agent: ``ringing_included`` counts it too. Pure: spans in, seconds
out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol


class Stay(Protocol):
    @property
    def queue(self) -> str: ...

    @property
    def joined_at(self) -> float: ...

    @property
    def left_at(self) -> float: ...

    @property
    def rings(self) -> Sequence[tuple[float, float]]: ...


def overlap(start: float, end: float, spans: Sequence[tuple[float, float]]) -> float:
    """Seconds of [start, end) covered by ``spans`` (disjoint, in time order)."""
    total = 0.0
    for span_start, span_end in spans:
        if span_end <= start:
            continue
        if span_start >= end:
            break
        total += min(end, span_end) - max(start, span_start)
    return total


def wait_while_idle(
    stay: Stay,
    idle: Mapping[str, Sequence[tuple[float, float]]],
    window_s: float,
    ringing_included: bool = False,
) -> float:
    start = stay.joined_at + window_s
    if stay.left_at <= start:
        return 0.0
    spans = idle.get(stay.queue, ())
    total = overlap(start, stay.left_at, spans)
    if not ringing_included:
        for ring_start, ring_end in stay.rings:  # one ring at a time: disjoint
            if ring_end > start and ring_start < stay.left_at:
                total -= overlap(max(start, ring_start), min(stay.left_at, ring_end), spans)
    return max(0.0, total)


def max_wait_while_idle(
    stays: Iterable[Stay],
    idle: Mapping[str, Sequence[tuple[float, float]]],
    window_s: float,
    ringing_included: bool = False,
) -> float:
    """The longest wait beyond ``window_s`` with a qualified agent ready and unrung."""
    return max((wait_while_idle(s, idle, window_s, ringing_included) for s in stays), default=0.0)
