"""One signed webhook post, retried as the caller's policy says.

Every post carries ``X-Callcenter-Timestamp`` and ``X-Callcenter-Signature`` (see
``callcenter.core.signing``). A 2xx ends it; an answer the policy calls transient, or a
network error, is tried again after a doubling pause; any other answer is final. The
secret never reaches a log line.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
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
