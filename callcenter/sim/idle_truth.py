"""The simulator's ground truth for ``max_wait_while_idle_s``: when each queue had callers
waiting while one of its members sat free and unrung, and each caller's stay in a queue.

``IdleWatch.observe`` runs after every step that can change who is free or who waits (the
engine's dispatch, a member's device state, pause or removal), so the intervals are exact:
between two steps nothing changes. Only queues with callers are looked at.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from callcenter.sim.call_state import Queue


@dataclass(frozen=True, slots=True)
class QueueStay:
    call_id: str
    queue: str
    joined_at: float
    left_at: float
    rings: tuple[tuple[float, float], ...] = ()  # [start, end) of each member rung for it


@dataclass
class IdleWatch:
    # queue name -> [start, end) spans with a caller waiting and a member free and unrung
    idle: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    stays: list[QueueStay] = field(default_factory=list)
    _since: dict[str, float] = field(default_factory=dict)

    def observe(self, now: float, queues: Iterable[Queue]) -> None:
        for queue in queues:
            free = bool(queue.waiting) and any(m.available(now) for m in queue.members.values())
            since = self._since.get(queue.name)
            if free and since is None:
                self._since[queue.name] = now
            elif not free and since is not None:
                del self._since[queue.name]
                if now > since:
                    self.idle.setdefault(queue.name, []).append((since, now))

    def left(
        self,
        call_id: str,
        queue: str,
        joined_at: float,
        left_at: float,
        rings: tuple[tuple[float, float], ...] = (),
    ) -> None:
        self.stays.append(QueueStay(call_id, queue, joined_at, left_at, rings))
