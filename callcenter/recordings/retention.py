"""How long recordings are kept: days per queue, a default, and legal holds. Pure.

A recording is due when ``recorded_at + days`` has passed, ``days`` being its queue's
setting or the default; 0 days keeps it forever. A recording under legal hold is never
due, whatever its age; it is listed apart so an operator sees what the hold keeps.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

DAY_S = 86_400.0


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    default_days: int = 365
    days_by_queue: Mapping[str, int] = field(default_factory=dict)

    def days_for(self, queue: str) -> int:
        return self.days_by_queue.get(queue, self.default_days)


@dataclass(frozen=True, slots=True)
class Kept:
    """What retention needs to know of one indexed recording."""

    id: int
    path: str
    queue: str
    recorded_at: float
    legal_hold: bool = False


@dataclass(frozen=True, slots=True)
class Due:
    item: Kept
    days: int
    expired_at: float


@dataclass(slots=True)
class PurgePlan:
    due: list[Due] = field(default_factory=list)
    held: list[Due] = field(default_factory=list)  # expired, kept by a legal hold


def plan_purge(items: Iterable[Kept], policy: RetentionPolicy, now: float) -> PurgePlan:
    plan = PurgePlan()
    for item in items:
        days = policy.days_for(item.queue)
        if days <= 0:
            continue
        expired_at = item.recorded_at + days * DAY_S
        if expired_at > now:
            continue
        (plan.held if item.legal_hold else plan.due).append(Due(item, days, expired_at))
    plan.due.sort(key=lambda d: (d.item.recorded_at, d.item.path))
    plan.held.sort(key=lambda d: (d.item.recorded_at, d.item.path))
    return plan
