"""``max_wait_while_idle_s``: the longest time any caller waited while an agent qualified
for their call sat ready and unrung, beyond the preference window (docs/metrics.md).

A caller's qualified agents are the members of the queue they wait in, whatever their
penalty: a penalty keeps a member back only for the preference window. For each stay in
a queue, the time after ``joined + window`` during which the queue had a member ready and
not ringing is summed; the figure is the largest such sum. Pure: spans in, seconds out.
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
    stay: Stay, idle: Mapping[str, Sequence[tuple[float, float]]], window_s: float
) -> float:
    start = stay.joined_at + window_s
    if stay.left_at <= start:
        return 0.0
    return overlap(start, stay.left_at, idle.get(stay.queue, ()))


def max_wait_while_idle(
    stays: Iterable[Stay], idle: Mapping[str, Sequence[tuple[float, float]]], window_s: float
) -> float:
    """The longest wait beyond ``window_s`` with a qualified agent ready and unrung."""
    return max((wait_while_idle(s, idle, window_s) for s in stays), default=0.0)
