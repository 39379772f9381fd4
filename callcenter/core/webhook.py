"""Signed webhook posts, retried as the caller's policy says: ``JsonWebhook`` awaits each
post, ``WebhookQueue`` sends in order from a bounded queue without blocking its caller.

Every post carries ``X-Callcenter-Timestamp`` and ``X-Callcenter-Signature`` (see
``callcenter.core.signing``). A 2xx ends it; an answer the policy calls transient, or a
network error, is tried again after a doubling pause; any other answer is final. The
secret never reaches a log line.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import aiohttp
import structlog

from callcenter.core.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

log = structlog.get_logger(__name__)


def backoff_s(attempt: int, initial_s: float = 1.0, maximum_s: float = 300.0) -> float:
    """Delay after failed attempt ``attempt`` (1-based): 1, 2, 4, … capped."""
    return float(min(maximum_s, initial_s * 2 ** (attempt - 1)))


def transient(status: int) -> bool:
    """Timeouts, throttling and server errors pass; the receiver may take the post later."""
    return status in (408, 429) or status >= 500


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 8
    initial_backoff_s: float = 1.0
    max_backoff_s: float = 300.0
    retry_status: Callable[[int], bool] = field(default=transient)

    def delay_s(self, attempt: int) -> float:
        return backoff_s(attempt, self.initial_backoff_s, self.max_backoff_s)


@dataclass(frozen=True)
class SignedPost:
    """Where and how to post; ``headers`` are sent with the two signature headers."""

    url: str
    secret: str = field(repr=False)
    policy: RetryPolicy = RetryPolicy()
    headers: Mapping[str, str] = field(default_factory=dict)
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep


async def post_signed(session: aiohttp.ClientSession, target: SignedPost, body: bytes) -> str:
    """Post ``body`` until it is taken or the policy gives up; "" when it was taken,
    otherwise why the last attempt failed."""
    policy = target.policy
    reason = "not tried"
    for attempt in range(1, policy.attempts + 1):
        stamp = str(int(target.clock()))
        headers = {
            **target.headers,
            TIMESTAMP_HEADER: stamp,
            SIGNATURE_HEADER: sign(target.secret, stamp, body),
        }
        try:
            async with session.post(target.url, data=body, headers=headers) as resp:
                status = resp.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            reason = type(exc).__name__
        else:
            if 200 <= status < 300:
                return ""
            reason = f"HTTP {status}"
            if not policy.retry_status(status):
                return reason
        if attempt < policy.attempts:
            delay = policy.delay_s(attempt)
            log.warning("webhook failed, retrying", reason=reason, attempt=attempt, in_s=delay)
            await target.sleep(delay)
    return reason


class JsonWebhook:
    """Posts one JSON payload at a time and awaits the outcome (for rare events such as
    alerts, where the caller wants to know the post was taken)."""

    def __init__(self, target: SignedPost, *, timeout_s: float = 10.0) -> None:
        self.url = target.url
        self.timeout_s = timeout_s
        headers = {"Content-Type": "application/json; charset=utf-8", **target.headers}
        self._target = replace(target, headers=headers)

    def __repr__(self) -> str:  # the secret stays out of logs
        return f"JsonWebhook(url={self.url!r})"

    async def send(self, payload: Mapping[str, Any]) -> bool:
        """Post once, retrying as the policy says; True when the receiver took it."""
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        async with aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.timeout_s)
        ) as session:
            reason = await post_signed(session, self._target, body)
        if reason:
            log.warning("webhook_failed", error=reason)
        return not reason


@dataclass(frozen=True)
class Delivery:
    id: str
    kind: str
    body: bytes


class WebhookQueue:
    """Deliveries to one receiver, one at a time and in order, each with a unique
    ``X-Callcenter-Delivery`` id (the same on every retry: receivers dedupe on it) and its
    kind in ``X-Callcenter-Event``. ``send`` never blocks: when the queue is full the oldest
    delivery is dropped and counted as failed."""

    def __init__(
        self, target: SignedPost, *, timeout_s: float = 10.0, queue_limit: int = 10_000
    ) -> None:
        self.url = target.url
        self.timeout_s = timeout_s
        self._target = target
        self._queue: asyncio.Queue[Delivery | None] = asyncio.Queue(queue_limit)
        self._task: asyncio.Task[None] | None = None
        self._http: aiohttp.ClientSession | None = None
        self.delivered = 0
        self.failed = 0

    def __repr__(self) -> str:
        return f"WebhookQueue(url={self.url!r})"

    async def start(self) -> None:
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout_s))
        self._task = asyncio.get_running_loop().create_task(self._run(), name="webhook-queue")

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
