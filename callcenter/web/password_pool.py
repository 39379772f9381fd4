"""Password checks on their own few threads, with a bounded queue (adapter).

A scrypt check takes tens of milliseconds and 32 MiB on purpose. Run on the default
executor, which every request's database read also uses, a burst of sign-ins would make a
signed-in agent's pages wait behind it. Here at most ``workers`` checks run at once, at most
``max_waiting`` more wait, and beyond that a sign-in is told to come back (``PoolFull``)
without costing any hashing at all.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


class PoolFull(RuntimeError):
    """Every worker is busy and the waiting line is full."""


class PasswordPool:
    def __init__(self, *, workers: int = 2, max_waiting: int = 64) -> None:
        self.workers = workers
        self.max_waiting = max_waiting
        self.in_flight = 0  # running or waiting, counted when submitted
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="password")

    @property
    def full(self) -> bool:
        return self.in_flight >= self.workers + self.max_waiting

    def submit(self, check: Callable[..., T], *args: object) -> asyncio.Future[T]:
        """Queue ``check(*args)`` now (counted before this returns, so a caller that looked
        at ``full`` and submits without awaiting in between cannot overfill the pool)."""
        if self.full:
            raise PoolFull
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._executor, check, *args)
        self.in_flight += 1
        future.add_done_callback(self._done)
        return future

    def _done(self, _future: object) -> None:
        self.in_flight -= 1

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
