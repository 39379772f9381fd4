"""Virtual time for the simulator: one timer on the event loop drives every call.

``speed`` X means X virtual seconds pass per real second. Work is scheduled at virtual
instants; the scheduler keeps a single heap and a single ``loop.call_at`` handle (no task
per event), and runs each callback with ``now`` set to the instant it was scheduled for,
so the sequence of timestamps depends only on the schedule, never on how late the loop
woke up. Ties run in scheduling order.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from typing import Any

Callback = Callable[[], None]


class Scheduler:
    def __init__(self, start_epoch: float | None = None, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed}")
        self.speed = speed
        self.start_epoch = time.time() if start_epoch is None else float(start_epoch)
        self._now = self.start_epoch
        self._heap: list[tuple[float, int, Callback]] = []
        self._seq = itertools.count()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._origin = 0.0
        self._timer: asyncio.Handle | None = None
        self._timer_due = float("inf")
        self._stopped = False
        self.on_error: Callable[[BaseException], None] | None = None

    # -- time ---------------------------------------------------------------
    def start(self) -> None:
        """Anchor virtual time to the running loop; scheduled work starts to fire."""
        self._loop = asyncio.get_running_loop()
        self._origin = self._loop.time()
        self._stopped = False
        self._arm()

    def rebase(self) -> None:
        """Make the real clock read ``now`` at this instant (before any work has run).

        Traffic that starts a little after ``start()`` then unfolds exactly as if it had
        started at once, which keeps a seeded run identical from run to run.
        """
        if self._loop is not None:
            self._origin = self._loop.time() - (self._now - self.start_epoch) / self.speed
            self._arm()

    def stop(self) -> None:
        self._stopped = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    @property
    def now(self) -> float:
        """The virtual instant of the callback being run (or of the last one)."""
        return self._now

    def wall_now(self) -> float:
        """Virtual time derived from the real clock (for work arriving from outside)."""
        if self._loop is None:
            return self._now
        return self.start_epoch + (self._loop.time() - self._origin) * self.speed

    def advance_to_wall(self) -> float:
        """Move ``now`` forward to the real-clock virtual time (never backwards)."""
        self._now = max(self._now, self.wall_now())
        return self._now

    # -- scheduling ---------------------------------------------------------
    def at(self, when: float, callback: Callback) -> None:
        heapq.heappush(self._heap, (when, next(self._seq), callback))
        if when < self._timer_due:
            self._arm()

    def after(self, delay: float, callback: Callback) -> None:
        self.at(self._now + max(0.0, delay), callback)

    def pending(self) -> int:
        return len(self._heap)

    def _arm(self) -> None:
        if self._loop is None or self._stopped:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._heap:
            self._timer_due = float("inf")
            return
        due = self._heap[0][0]
        self._timer_due = due
        real_at = self._origin + (due - self.start_epoch) / self.speed
        self._timer = self._loop.call_at(real_at, self._fire)

    def _fire(self) -> None:
        self._timer = None
        self._timer_due = float("inf")
        horizon = self.wall_now()
        ran = 0
        # Bounded batches keep the loop responsive to sockets under heavy load.
        while self._heap and self._heap[0][0] <= horizon and ran < 5000 and not self._stopped:
            when, _, callback = heapq.heappop(self._heap)
            self._now = max(self._now, when)
            ran += 1
            try:
                callback()
            except Exception as exc:  # one broken call must not stop the whole PBX
                if self.on_error is not None:
                    self.on_error(exc)
                else:
                    raise
        if ran >= 5000 and self._loop is not None and not self._stopped:
            self._timer_due = self._now
            self._timer = self._loop.call_soon(self._fire)
            return
        self._arm()

    async def sleep(self, virtual_seconds: float) -> None:
        """Await ``virtual_seconds`` of virtual time (used by the FastAGI client)."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Any] = loop.create_future()

        def wake() -> None:
            if not done.done():
                done.set_result(None)

        self.after(virtual_seconds, wake)
        await done
