"""Concurrent external lines: an exact sweep over call starts and ends.

A call holds a line over the half-open span ``[started_at, ended_at)``: a line freed at
second t can be taken by a call starting at second t, so a call ending and another
starting in the same second never count as two lines at once. Blocked calls never held a
line; they are counted apart.

The sweep fills fixed buckets (15 minutes, aligned to the epoch, hence to local quarter
hours in every real time zone) with: the peak level seen inside the bucket (a call that
began earlier and is still up counts from the bucket's first instant), the seconds spent
at or above the "high" level, and the seconds at full capacity. Buckets merge exactly
into longer intervals: peak by max, seconds by sum.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from callcenter.core.call_record import CallRecord

__all__ = ["BUCKET_S", "LineBucket", "bucket_start", "line_buckets", "spans"]

BUCKET_S = 900


@dataclass(slots=True)
class LineBucket:
    start: float  # epoch seconds of the bucket's first instant
    peak: int = 0
    seconds_high: float = 0.0
    seconds_full: float = 0.0
    blocked: int = 0

    def merge(self, other: LineBucket) -> None:
        self.peak = max(self.peak, other.peak)
        self.seconds_high += other.seconds_high
        self.seconds_full += other.seconds_full
        self.blocked += other.blocked


def bucket_start(at: float, bucket_s: int = BUCKET_S) -> float:
    return float(math.floor(at / bucket_s) * bucket_s)


def spans(records: Iterable[CallRecord]) -> list[tuple[float, float]]:
    """The line-holding spans of ended inbound calls (blocked calls held no line)."""
    return [
        (r.started_at, r.ended_at)
        for r in records
        if r.kind == "inbound"
        and r.outcome != "blocked"
        and r.ended_at is not None
        and r.ended_at > r.started_at
    ]


def line_buckets(
    call_spans: Iterable[tuple[float, float]],
    *,
    since: float,
    until: float,
    capacity: int,
    high_lines: int,
    bucket_s: int = BUCKET_S,
    blocked_at: Iterable[float] = (),
) -> list[LineBucket]:
    """Every bucket overlapping ``[since, until)``, in order, from the spans given.

    Spans reaching outside the range are clipped (a call started before ``since`` counts
    as up at ``since``). ``since`` should be a bucket edge for whole-bucket figures.
    """
    if until <= since:
        return []
    first = bucket_start(since, bucket_s)
    count = math.ceil((until - first) / bucket_s)
    buckets = [LineBucket(first + i * bucket_s) for i in range(count)]
    for at in blocked_at:
        if since <= at < until:
            buckets[int((at - first) // bucket_s)].blocked += 1
    moves: list[tuple[float, int]] = []
    for start, end in call_spans:
        if end <= since or start >= until or end <= start:
            continue
        moves.append((max(start, since), 1))
        if end < until:
            moves.append((end, -1))
    moves.sort()  # at equal times -1 sorts before +1: ends free their line first
    level = 0
    now = since
    index = int((since - first) // bucket_s)
    edge = first + (index + 1) * bucket_s
    for at, delta in moves:
        while at >= edge:  # run the current level up to the bucket edge, then cross it
            _hold(buckets[index], edge - now, level, capacity, high_lines)
            now = edge
            index += 1
            edge += bucket_s
            if level > buckets[index].peak:
                buckets[index].peak = level
        _hold(buckets[index], at - now, level, capacity, high_lines)
        now = at
        level += delta
        if level > buckets[index].peak:
            buckets[index].peak = level
    while index < count:
        stop = min(edge, until)
        _hold(buckets[index], stop - now, level, capacity, high_lines)
        now = stop
        index += 1
        edge += bucket_s
        if index < count and level > buckets[index].peak:
            buckets[index].peak = level
    return buckets


def _hold(bucket: LineBucket, seconds: float, level: int, capacity: int, high: int) -> None:
    if seconds <= 0:
        return
    if level >= high:
        bucket.seconds_high += seconds
    if level >= capacity:
        bucket.seconds_full += seconds
