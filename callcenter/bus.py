"""In-process event bus: one FIFO queue per subscriber, handled in order.

Publishing is synchronous and never blocks the AMI reader: each subscriber has its own
queue and task, so a slow or failing subscriber delays only itself, and the events of
one call reach every subscriber in the order they were published. An exception in a
handler is logged and the next event is handled; the bus never stops for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import structlog

log = structlog.get_logger(__name__)

T = TypeVar("T")
Handler = Callable[[T], Awaitable[None]]


@dataclass
class _Subscriber(Generic[T]):
    name: str
    handler: Handler[T]
    queue: asyncio.Queue[T | None] = field(default_factory=asyncio.Queue)
    task: asyncio.Task[None] | None = None
    handled: int = 0
    failed: int = 0


class InProcessBus(Generic[T]):
    def __init__(self) -> None:
        self._subscribers: list[_Subscriber[T]] = []
        self._closed = False

    def subscribe(self, name: str, handler: Handler[T]) -> None:
        subscriber: _Subscriber[T] = _Subscriber(name, handler)
        subscriber.task = asyncio.get_running_loop().create_task(
            self._run(subscriber), name=f"bus:{name}"
        )
        self._subscribers.append(subscriber)

    def publish(self, item: T) -> None:
        if self._closed:
            raise RuntimeError("the bus is closed")
        for subscriber in self._subscribers:
            subscriber.queue.put_nowait(item)

    def backlog(self) -> dict[str, int]:
        return {s.name: s.queue.qsize() for s in self._subscribers}

    async def drain(self) -> None:
        """Wait until every subscriber has handled everything published so far."""
        await asyncio.gather(*(s.queue.join() for s in self._subscribers))

    async def close(self) -> None:
        """Let subscribers finish what is queued, then stop them."""
        self._closed = True
        for subscriber in self._subscribers:
            subscriber.queue.put_nowait(None)
        await asyncio.gather(*(s.task for s in self._subscribers if s.task is not None))

    @staticmethod
    async def _run(subscriber: _Subscriber[T]) -> None:
        while True:
            item = await subscriber.queue.get()
            try:
                if item is None:
                    return
                await subscriber.handler(item)
                subscriber.handled += 1
            except Exception:
                subscriber.failed += 1
                log.exception("bus handler failed", subscriber=subscriber.name)
            finally:
                subscriber.queue.task_done()
