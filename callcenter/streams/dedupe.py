"""Handle each envelope once (pure): a bounded window of the ids already seen.

Delivery is at-least-once: a consumer that restarts re-reads what it had not
acknowledged, and a publisher that retries a write may add an entry twice. Ids are
remembered in arrival order and the oldest forgotten past ``capacity``, far more than
can be redelivered.
"""

from __future__ import annotations

from collections import OrderedDict


class SeenWindow:
    def __init__(self, capacity: int = 200_000) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._seen: OrderedDict[str, None] = OrderedDict()
        self.repeats = 0

    def first_time(self, key: str) -> bool:
        """True the first time ``key`` is offered, False (and counted) after."""
        if key in self._seen:
            self.repeats += 1
            return False
        self._seen[key] = None
        if len(self._seen) > self.capacity:
            self._seen.popitem(last=False)
        return True

    def __len__(self) -> int:
        return len(self._seen)
