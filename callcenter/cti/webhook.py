"""Work-order changes to the business system: signed with HMAC-SHA256, retried with backoff.

Each delivery is a JSON POST with
- ``X-Callcenter-Event``: the kind (``work_order.created``, ``work_order.changed``),
- ``X-Callcenter-Delivery``: a unique id (the same on every retry: receivers dedupe on it),
- ``X-Callcenter-Timestamp``: epoch seconds,
- ``X-Callcenter-Signature``: ``sha256=`` + hex HMAC of ``"<timestamp>." + body``.
Deliveries go out one at a time, in order. A 2xx ends a delivery; 408, 429, 5xx and network
errors are retried (1 s, 2 s, 4 s … up to ``max_backoff_s``, ``max_attempts`` in all);
other 4xx answers are final. The secret never appears in a log line or a repr. Signing and
retrying are ``callcenter.core.webhook``'s; this module keeps the queue and the order.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

import aiohttp
import structlog

from callcenter.core.webhook import RetryPolicy, SignedPost, backoff_s, post_signed

__all__ = ["Delivery", "WebhookSender", "backoff_s"]

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Delivery:
    id: str
    kind: str
    body: bytes


class WebhookSender:
    def __init__(
        self,
        url: str,
        secret: str,
        *,
        max_attempts: int = 8,
        initial_backoff_s: float = 1.0,
        max_backoff_s: float = 300.0,
        timeout_s: float = 10.0,
        queue_limit: int = 10_000,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self.url = url
        self.timeout_s = timeout_s
        policy = RetryPolicy(max_attempts, initial_backoff_s, max_backoff_s)
        self._target = SignedPost(url, secret, policy, clock=clock, sleep=sleep)
        self._queue: asyncio.Queue[Delivery | None] = asyncio.Queue(queue_limit)
        self._task: asyncio.Task[None] | None = None
        self._http: aiohttp.ClientSession | None = None
        self.delivered = 0
        self.failed = 0

    def __repr__(self) -> str:
        return f"WebhookSender(url={self.url!r})"

    async def start(self) -> None:
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout_s))
        self._task = asyncio.get_running_loop().create_task(self._run(), name="cti-webhook")

    async def close(self, timeout: float = 5.0) -> None:
        """Send what is queued (within ``timeout``), then stop."""
        if self._task is not None:
            self._queue.put_nowait(None)
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout)
            except TimeoutError:
                self._task.cancel()
        if self._http is not None:
            await self._http.close()

    def send(self, kind: str, payload: dict[str, Any]) -> None:
        """Queue one delivery; never blocks the caller (the oldest is dropped when full)."""
        body = json.dumps({"kind": kind, "data": payload}, ensure_ascii=False).encode("utf-8")
        delivery = Delivery(uuid.uuid4().hex, kind, body)
        if self._queue.full():
            dropped = self._queue.get_nowait()
            log.error(
                "webhook queue full, dropping the oldest", kind=dropped.kind if dropped else ""
            )
            self.failed += 1
        self._queue.put_nowait(delivery)

    async def drain(self) -> None:
        await self._queue.join()

    async def _run(self) -> None:
        while True:
            delivery = await self._queue.get()
            try:
                if delivery is None:
                    return
                await self._deliver(delivery)
            finally:
                self._queue.task_done()

    async def _deliver(self, delivery: Delivery) -> None:
        assert self._http is not None
        headers = {
            "Content-Type": "application/json",
            "X-Callcenter-Event": delivery.kind,
            "X-Callcenter-Delivery": delivery.id,
        }
        target = replace(self._target, headers=headers)
        reason = await post_signed(self._http, target, delivery.body)
        if not reason:
            self.delivered += 1
            return
        self.failed += 1
        log.error("webhook gave up", kind=delivery.kind, delivery=delivery.id, reason=reason)
