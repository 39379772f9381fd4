"""Batched, coalescing, retrying writer: the asyncio shell around `CallStore.upsert_calls`.

Records wait in a bounded buffer keyed by (pbx, call_id), so a newer version of a
call replaces the one still waiting. A background task writes them in batches.
While the database is unreachable the buffer keeps everything and the batch is
retried with exponential backoff; when the buffer is full, `submit` waits.
Nothing is dropped, except a record the database rejects as invalid on its own
(counted in `rejected` and logged), so one bad record cannot stall the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import Callable, Iterable
from itertools import islice

import structlog
from sqlalchemy.exc import DataError, DBAPIError, DisconnectionError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from callcenter.calls.store import CallStore
from callcenter.core.call_record import CallRecord
from callcenter.core.tasks import cancel_and_wait
from callcenter.log import error_reason

log = structlog.get_logger(__name__)

Key = tuple[str, str]


def is_transient(exc: BaseException) -> bool:
    """True when retrying later can succeed: the database is down, locked or not ready.

    Integrity and data errors come from the record itself and would fail forever.
    """
    if isinstance(exc, IntegrityError | DataError):
        return False
    return isinstance(exc, DBAPIError | DisconnectionError | PoolTimeoutError | OSError)


def describe(exc: BaseException) -> str:
    """A one-line reason without SQL parameters (they hold phone numbers)."""
    return error_reason(exc)


class CallWriter:
    def __init__(
        self,
        store: CallStore,
        *,
        max_batch: int = 500,
        flush_interval: float = 0.25,
        buffer_limit: int = 50_000,
        retry_initial: float = 0.2,
        retry_max: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_batch < 1 or buffer_limit < max_batch:
            raise ValueError("need 1 <= max_batch <= buffer_limit")
        if flush_interval < 0 or retry_initial <= 0 or retry_max < retry_initial:
            raise ValueError("need flush_interval >= 0 and 0 < retry_initial <= retry_max")
        self._store = store
        self._max_batch = max_batch
        self._flush_interval = flush_interval
        self._buffer_limit = buffer_limit
        self._retry_initial = retry_initial
        self._retry_max = retry_max
        self._clock = clock
        self._pending: dict[Key, CallRecord] = {}
        self._has_data = asyncio.Event()
        self._batch_full = asyncio.Event()
        self._space = asyncio.Event()
        self._space.set()
        self._write_lock = asyncio.Lock()  # one batch in flight at a time
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._retry_delay = retry_initial
        self._outage_since: float | None = None
        self.written = 0  # calls written (each version that reached the database once)
        self.batches = 0  # successful batch writes
        self.rejected = 0  # records the database refused as invalid

    @property
    def pending(self) -> int:
        """Records waiting to be written (including the batch being written)."""
        return len(self._pending)

    @property
    def available(self) -> bool:
        """False from a failed write until the next successful one."""
        return self._outage_since is None

    def start(self) -> None:
        """Start the background flush loop (call from inside the running event loop)."""
        if self._closed:
            raise RuntimeError("writer is closed")
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name="callcenter.calls.writer"
            )

    async def submit(self, record: CallRecord) -> None:
        """Queue a record; waits while the buffer is full. A copy is kept, so the caller
        may go on changing its record."""
        if self._closed:
            raise RuntimeError("writer is closed")
        key = (record.pbx, record.call_id)
        while key not in self._pending and len(self._pending) >= self._buffer_limit:
            self._space.clear()
            await self._space.wait()
            if self._closed:
                raise RuntimeError("writer is closed")
        self._pending[key] = _snapshot(record)
        self._has_data.set()
        if len(self._pending) >= self._max_batch:
            self._batch_full.set()

    async def flush(self) -> None:
        """Write everything pending now; during an outage, waits until it is written."""
        await self._drain()

    async def close(self, timeout: float | None = None) -> None:
        """Stop accepting records, write all that are pending, stop the loop.

        With a timeout that expires (the database stayed down), the records still
        pending are reported in an error log and remain counted in `pending`.
        """
        if self._closed:
            return
        self._closed = True
        self._has_data.set()
        self._batch_full.set()
        self._space.set()  # wake blocked submitters: they raise instead of waiting forever
        work = self._task if self._task is not None else self._drain()
        try:
            await asyncio.wait_for(work, timeout)
        except TimeoutError:
            log.error("store writer closed with records unwritten", pending=len(self._pending))

    async def abort(self) -> None:
        """Stop at once and drop what is pending, as a killed process loses it."""
        self._closed = True
        self._space.set()
        await cancel_and_wait(self._task)
        self._pending.clear()

    # -- background loop -------------------------------------------------------

    async def _run(self) -> None:
        while not self._closed:
            await self._has_data.wait()
            if not self._closed and len(self._pending) < self._max_batch:
                # Let a batch build up, but never hold a record longer than flush_interval.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._batch_full.wait(), self._flush_interval)
            await self._drain()
        await self._drain()

    async def _drain(self) -> None:
        async with self._write_lock:
            while self._pending:
                await self._write_next_batch()
            self._has_data.clear()
            self._batch_full.clear()

    async def _write_next_batch(self) -> None:
        # Taken afresh on every attempt: a retry writes the newest versions.
        batch = list(islice(self._pending.values(), self._max_batch))
        try:
            count = await asyncio.to_thread(self._store.upsert_calls, batch)
        except Exception as exc:
            if is_transient(exc):
                await self._back_off(exc)
            else:
                await self._write_one_by_one(batch)
            return
        self._recovered()
        self._forget(batch)
        self.written += count
        self.batches += 1

    async def _write_one_by_one(self, batch: list[CallRecord]) -> None:
        """Find the record(s) that make a batch fail; write the others."""
        for record in batch:
            try:
                await asyncio.to_thread(self._store.upsert_calls, [record])
            except Exception as exc:
                if is_transient(exc):
                    await self._back_off(exc)
                    return
                self.rejected += 1
                log.error(
                    "store rejected a call record",
                    pbx=record.pbx,
                    call_id=record.call_id,
                    error=describe(exc),
                )
            else:
                self._recovered()
                self.written += 1
            self._forget([record])

    async def _back_off(self, exc: BaseException) -> None:
        if self._outage_since is None:
            self._outage_since = self._clock()
            log.warning(
                "database unavailable: keeping call records and retrying",
                error=describe(exc),
                pending=len(self._pending),
            )
        await asyncio.sleep(self._retry_delay)
        self._retry_delay = min(self._retry_delay * 2, self._retry_max)

    def _recovered(self) -> None:
        self._retry_delay = self._retry_initial
        if self._outage_since is not None:
            log.info(
                "database available again",
                outage_s=round(self._clock() - self._outage_since, 3),
                pending=len(self._pending),
            )
            self._outage_since = None

    def _forget(self, written: Iterable[CallRecord]) -> None:
        for record in written:
            key = (record.pbx, record.call_id)
            # A newer version submitted during the write stays pending.
            if self._pending.get(key) is record:
                del self._pending[key]
        if len(self._pending) < self._buffer_limit:
            self._space.set()


def _snapshot(record: CallRecord) -> CallRecord:
    return dataclasses.replace(record, legs=[dataclasses.replace(leg) for leg in record.legs])
