"""Agent-state time kept in the database, and occupancy read back from it (adapter).

``StateTimeRecorder`` takes the intervals ``AgentStates`` closes (``submit`` only appends
to a buffer, so the event path never waits for the database) and a background task writes
them in batches through ``asyncio.to_thread``. While the database is unreachable the
batch is retried with backoff; past ``buffer_limit`` the oldest intervals are dropped and
counted (``dropped``), so a long outage costs memory only up to a bound.
``close()`` cuts the open intervals at the clock and writes everything left.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field

import structlog

from callcenter.routing.agent_state import AgentStates, Interval, time_in_states
from callcenter.routing.occupancy import AgentOccupancy, summarize
from callcenter.routing.store import AgentTimeStore, StoredInterval

log = structlog.get_logger(__name__)


@dataclass(eq=False)
class StateTimeRecorder:
    store: AgentTimeStore
    states: AgentStates
    _: KW_ONLY
    clock: Callable[[], float] = time.time
    # with several instances, each PBX's time is written by the one speaking for it
    holds: Callable[[str], bool] | None = None
    flush_interval_s: float = 1.0
    max_batch: int = 500
    buffer_limit: int = 100_000
    retry_initial_s: float = 0.5
    retry_max_s: float = 30.0
    written: int = field(default=0, init=False)
    dropped: int = field(default=0, init=False)
    _buffer: deque[Interval] = field(default_factory=deque, init=False, repr=False)
    _wake: asyncio.Event = field(default_factory=asyncio.Event, init=False, repr=False)
    _task: asyncio.Task[None] | None = field(default=None, init=False, repr=False)
    _write_lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        self.states.on_closed = self.submit

    def submit(self, interval: Interval) -> None:
        """Called from the event path: never waits."""
        if self.holds is not None and not self.holds(interval.pbx):
            return
        if len(self._buffer) >= self.buffer_limit:
            self._buffer.popleft()
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.warning("agent state intervals dropped", dropped=self.dropped)
        self._buffer.append(interval)
        if len(self._buffer) >= self.max_batch:
            self._wake.set()

    @property
    def pending(self) -> int:
        return len(self._buffer)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name="agent-state-time"
            )

    async def _run(self) -> None:
        delay = self.retry_initial_s
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.flush_interval_s)
            self._wake.clear()
            try:
                await self.flush()
                delay = self.retry_initial_s
            except Exception as exc:  # the database is away: keep the rows, try again later
                log.warning("agent state intervals not written", error=type(exc).__name__,
                            pending=len(self._buffer), retry_in_s=delay)  # fmt: skip
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.retry_max_s)

    async def flush(self) -> None:
        """Write everything buffered now, batch by batch; a failed batch stays buffered."""
        async with self._write_lock:
            while self._buffer:
                batch = [self._buffer[i] for i in range(min(self.max_batch, len(self._buffer)))]
                await asyncio.to_thread(self.store.insert, [_stored(i) for i in batch])
                for _ in batch:
                    self._buffer.popleft()
                self.written += len(batch)

    async def close(self) -> None:
        """Cut the open intervals at the clock and write what is left (best effort)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        self.states.cut(self.clock())
        try:
            await self.flush()
        except Exception as exc:
            log.warning("agent state intervals lost at shutdown", error=type(exc).__name__,
                        pending=len(self._buffer))  # fmt: skip

    async def occupancy(self, start: float, end: float) -> list[AgentOccupancy]:
        """Per agent over [start, end): the stored time plus what is buffered or still open."""
        async with self._write_lock:  # no batch half-way between the buffer and the table
            rows = await asyncio.to_thread(self.store.time_by_state, start, end)
            unwritten = [*self._buffer, *self.states.open_intervals(min(end, self.clock()))]
        seconds: dict[str, dict[str, float]] = {}
        for row in rows:
            seconds.setdefault(row.agent, {})[row.state] = row.seconds
        by_agent: dict[str, list[Interval]] = {}
        for interval in unwritten:
            by_agent.setdefault(interval.agent, []).append(interval)
        for agent, intervals in by_agent.items():
            slot = seconds.setdefault(agent, {})
            for state, value in time_in_states(intervals, start, end).items():
                slot[state] = slot.get(state, 0.0) + value
        return summarize(seconds)

    async def seat_intervals(
        self, interface: str, start: float, end: float
    ) -> tuple[list[Interval], Interval | None]:
        """One seat's closed intervals overlapping [start, end) (stored or buffered), and
        the one still open, up to now."""
        async with self._write_lock:  # no batch half-way between the buffer and the table
            rows = await asyncio.to_thread(self.store.intervals, start, end, interface)
            buffered = list(self._buffer)
            still_open = self.states.open_intervals(min(end, self.clock()))
        stored = [
            Interval(r.agent, r.interface, r.state, r.reason, r.started, r.ended, r.pbx)
            for r in rows
        ]
        closed = [
            i
            for i in (*stored, *buffered)
            if i.interface == interface and i.end > start and i.start < end
        ]
        current = next((i for i in still_open if i.interface == interface), None)
        return closed, current


def _stored(i: Interval) -> StoredInterval:
    return StoredInterval(i.pbx, i.agent, i.interface, i.state, i.reason, i.start, i.end)
