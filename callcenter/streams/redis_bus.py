"""The Redis Streams adapter: one stream per PBX, a consumer group per instance.

- ``publish`` never blocks and never fails: envelopes wait in an ``Outbox`` and a pump
  writes them in order (XADD, trimmed to ``maxlen``). While Redis is away the pump
  retries with backoff and the service goes on alone; when Redis returns the backlog is
  written and the other instances catch up.
- Each instance reads every PBX stream through its own group (``view:<instance>``):
  entries are acknowledged only after they are handled, so a restarted instance first
  re-reads what it had not finished (at-least-once); the handler skips repeats by
  envelope id. A group that vanished with a Redis restart is created again from the
  stream's start, which then holds only what was written since.
- A lease per PBX (``SET NX PX``, renewed at a third of its life) says which instance
  speaks for that PBX: only the holder feeds its AMI events to the call tracker and the
  stream. When the holder dies its lease runs out and another instance takes over.
  After Redis was away (a restart forgets every lease) an instance takes a free lease
  only once Redis has answered it for a whole lease period: the holder, which went on
  alone meanwhile, takes its own back first, and the PBX does not change hands.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

import structlog
from redis import asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

from callcenter.core.call_record import CallRecord
from callcenter.core.events import Event
from callcenter.core.redact import redact_url
from callcenter.streams.envelope import Envelope, EnvelopeError, decode
from callcenter.streams.outbox import Outbox

log = structlog.get_logger(__name__)

# Renew only a lease we still hold; answer 1 when renewed.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
# Give a lease back only if it is still ours; answer 1 when deleted.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""
_FAILURES = (RedisError, OSError)


class StreamBus:
    def __init__(
        self,
        url: str,
        *,
        instance: str,
        pbxes: list[str],
        on_envelope: Callable[[Envelope], None],
        on_lease: Callable[[str, bool], None] = lambda _pbx, _held: None,
        prefix: str = "callcenter",
        maxlen: int = 1_000_000,
        lease_s: float = 10.0,
        outbox_limit: int = 100_000,
        batch: int = 500,
        forget_after_s: float = 7 * 86400,
    ) -> None:
        self.url = url
        self.instance = instance
        # Sequence numbers restart with the process; the start time keeps ids unique.
        self.origin = f"{instance}/{time.time_ns()}"
        self.pbxes = list(pbxes)
        self.prefix = prefix
        self.maxlen = maxlen
        self.lease_s = lease_s
        self.batch = batch
        self.forget_after_s = forget_after_s
        self.group = f"view:{instance}"
        self.outbox = Outbox(outbox_limit)
        self._on_envelope = on_envelope
        self._on_lease = on_lease
        self._seq = 0
        self._held: dict[str, bool] = {}
        self._redis: aioredis.Redis = aioredis.Redis.from_url(
            url, socket_connect_timeout=1.0, socket_timeout=5.0, decode_responses=True
        )
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._known_groups: set[str] = set()
        self.available = True
        # Since when Redis has answered without a failure (None while it is away).
        self._answering_since: float | None = float("-inf")
        self.written = 0
        self.received = 0
        self.undecodable = 0

    # --- naming ---------------------------------------------------------------------------

    def stream_key(self, pbx: str) -> str:
        return f"{self.prefix}:events:{pbx}"

    def lease_key(self, pbx: str) -> str:
        return f"{self.prefix}:lease:{pbx}"

    # --- publishing -----------------------------------------------------------------------

    def publish(self, pbx: str, item: Event | CallRecord) -> Envelope:
        self._seq += 1
        envelope = Envelope(origin=self.origin, seq=self._seq, pbx=pbx, item=item)
        self.outbox.put(envelope)
        self._wake.set()
        return envelope

    async def _pump(self) -> None:
        delay = 0.2
        while True:
            if not self.outbox:
                self._wake.clear()
                await self._wake.wait()
            batch = self.outbox.peek(self.batch)
            try:
                async with self._redis.pipeline(transaction=False) as pipe:
                    for envelope in batch:
                        pipe.xadd(
                            self.stream_key(envelope.pbx),
                            envelope.fields(),  # type: ignore[arg-type]
                            maxlen=self.maxlen,
                            approximate=True,
                        )
                    await pipe.execute()
            except _FAILURES as exc:
                # A retried batch may land twice; receivers skip repeats by envelope id.
                self._went_away(exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            delay = 0.2
            self.outbox.done(len(batch))
            self.written += len(batch)
            self._came_back()

    # --- consuming ------------------------------------------------------------------------

    async def _ensure_groups(self) -> None:
        for pbx in self.pbxes:
            key = self.stream_key(pbx)
            # A new instance starts from now (it seeds from the database); a group lost
            # with a Redis restart starts from the new stream's beginning.
            start = "0" if key in self._known_groups else "$"
            try:
                await self._redis.xgroup_create(key, self.group, id=start, mkstream=True)
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise
            self._known_groups.add(key)

    async def forget_gone_instances(self) -> list[str]:
        """Drop the groups of instances silent for ``forget_after_s`` (an instance renamed
        or retired): such a group would keep its pending entries and its place in the
        stream's groups forever."""
        dropped = []
        limit_ms = self.forget_after_s * 1000
        for pbx in self.pbxes:
            key = self.stream_key(pbx)
            if not await self._redis.exists(key):
                continue
            for group in await self._redis.xinfo_groups(key):
                name = str(group.get("name", ""))
                if not name.startswith("view:") or name == self.group:
                    continue
                consumers = await self._redis.xinfo_consumers(key, name)
                idle = [float(c.get("idle", 0)) for c in consumers]
                # no consumer yet: an instance that is just starting, not a gone one
                if idle and min(idle) >= limit_ms:
                    await self._redis.xgroup_destroy(key, name)
                    dropped.append(f"{key} {name}")
        if dropped:
            log.info("forgot instances gone silent", groups=dropped)
        return dropped

    async def _consume(self) -> None:
        delay = 0.2
        first = True
        while True:
            try:
                await self._ensure_groups()
                # After a restart, what was delivered but not acknowledged comes first.
                cursor = "0" if first else ">"
                while True:
                    streams: dict[Any, Any] = {self.stream_key(p): cursor for p in self.pbxes}
                    reply: Any = await self._redis.xreadgroup(
                        self.group, self.instance, streams, count=self.batch, block=1000
                    )
                    delay = 0.2
                    self._came_back()
                    entries = sum(len(items) for _key, items in reply or [])
                    if reply:
                        await self._handle(reply)
                    if cursor == "0" and entries == 0:
                        cursor, first = ">", False
            except ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    self._went_away(exc)
                    await asyncio.sleep(delay)
            except _FAILURES as exc:
                self._went_away(exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _handle(self, reply: Any) -> None:
        for key, items in reply:
            done = []
            for entry_id, fields in items:
                done.append(entry_id)
                if not fields:  # trimmed away while pending
                    continue
                try:
                    envelope = decode(fields)
                except EnvelopeError as exc:
                    self.undecodable += 1
                    log.warning(
                        "stream entry skipped", stream=key, entry=entry_id, problem=str(exc)
                    )
                    continue
                if envelope.origin == self.origin:
                    continue
                self.received += 1
                try:
                    self._on_envelope(envelope)
                except Exception:
                    log.exception("stream handler failed", stream=key, entry=entry_id)
            if done:
                await self._redis.xack(key, self.group, *done)

    # --- leases ---------------------------------------------------------------------------

    def holds(self, pbx: str) -> bool:
        return self._held.get(pbx, False)

    async def claim_leases(self) -> None:
        """At start: take the free leases. Without Redis this instance speaks for all."""
        for pbx in self.pbxes:
            try:
                taken = await self._redis.set(
                    self.lease_key(pbx), self.origin, nx=True, px=int(self.lease_s * 1000)
                )
            except _FAILURES as exc:
                self._went_away(exc)
                taken = True
            self._held[pbx] = bool(taken)
            log.info("pbx lease", pbx=pbx, held=bool(taken), instance=self.instance)

    async def _keep_leases(self) -> None:
        while True:
            await asyncio.sleep(self.lease_s / 3)
            await self.renew_leases()

    async def renew_leases(self) -> None:
        """One round: renew the leases held, take the free ones this instance may take."""
        for pbx in self.pbxes:
            try:
                held = await self._renew_or_take(pbx)
            except _FAILURES as exc:
                self._went_away(exc)
                continue  # keep what we believe: calls go on without Redis
            self._came_back()
            if held != self.holds(pbx):
                self._held[pbx] = held
                log.warning("pbx lease changed hands", pbx=pbx, held=held, instance=self.instance)
                self._on_lease(pbx, held)

    async def _renew_or_take(self, pbx: str) -> bool:
        key, ttl = self.lease_key(pbx), int(self.lease_s * 1000)
        if self.holds(pbx):
            renewed = await self._redis.eval(_RENEW, 1, key, self.origin, str(ttl))
            if renewed:
                return True
        elif not self._answered_for(self.lease_s):
            # Redis was away just now: the holder gets a lease period to take its lease
            # back before this instance may take it.
            await self._redis.ping()
            return False
        return bool(await self._redis.set(key, self.origin, nx=True, px=ttl))

    def _answered_for(self, seconds: float) -> bool:
        since = self._answering_since
        return since is not None and time.monotonic() - since >= seconds

    # --- health ---------------------------------------------------------------------------

    def _went_away(self, exc: BaseException) -> None:
        self._answering_since = None
        if self.available:
            self.available = False
            log.warning(
                "redis unavailable: this instance goes on alone and shares again when it returns",
                url=redact_url(self.url),
                error=str(exc) or type(exc).__name__,
                waiting=len(self.outbox),
            )

    def _came_back(self) -> None:
        if self._answering_since is None:
            self._answering_since = time.monotonic()
        if not self.available:
            self.available = True
            log.warning("redis is back: catching up", waiting=len(self.outbox))

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        await self.claim_leases()
        with contextlib.suppress(*_FAILURES):
            await self.forget_gone_instances()
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._pump(), name="streams:pump"),
            loop.create_task(self._consume(), name="streams:consume"),
            loop.create_task(self._keep_leases(), name="streams:leases"),
        ]

    async def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything published so far is written (False on timeout)."""
        deadline = time.monotonic() + timeout
        while self.outbox and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        return not self.outbox

    async def close(self) -> None:
        """Stop reading, write what waits (briefly), hand the leases back."""
        pump, others = self._tasks[:1], self._tasks[1:]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)
        await self.flush(timeout=2.0)
        for task in pump:
            task.cancel()
        await asyncio.gather(*pump, return_exceptions=True)
        with contextlib.suppress(*_FAILURES):
            for pbx in self.pbxes:
                if self.holds(pbx):  # hand over at once rather than after the lease runs out
                    await self._redis.eval(_RELEASE, 1, self.lease_key(pbx), self.origin)
        with contextlib.suppress(*_FAILURES):
            await self._redis.aclose()
