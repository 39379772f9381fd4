"""Envelopes waiting for Redis (pure): kept in order, bounded, oldest dropped first.

While Redis is away the service keeps taking calls; what it would have shared waits
here and is written in order when Redis returns. Past ``limit`` the oldest entries go
(counted in ``dropped``): the call records themselves are in the database either way.
"""

from __future__ import annotations

from collections import deque

from callcenter.streams.envelope import Envelope


class Outbox:
    def __init__(self, limit: int = 100_000) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self._items: deque[Envelope] = deque()
        self.dropped = 0

    def put(self, envelope: Envelope) -> None:
        self._items.append(envelope)
        if len(self._items) > self.limit:
            self._items.popleft()
            self.dropped += 1

    def peek(self, count: int) -> list[Envelope]:
        return [self._items[i] for i in range(min(count, len(self._items)))]

    def done(self, count: int) -> None:
        """The first ``count`` entries are written."""
        for _ in range(min(count, len(self._items))):
            self._items.popleft()

    def __len__(self) -> int:
        return len(self._items)
