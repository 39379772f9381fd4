"""Several instances over Redis Streams against the simulator: one speaks for the PBX,
every one shows the same picture; Redis going away loses nothing and is caught up; a
stopped holder's PBX is taken over by another instance."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio
import structlog
from cti_fixtures import add_users, client_for
from redis_fixtures import PrivateRedis, require_redis, shared_prefix
from service_fixtures import service_settings

from callcenter.calls.reconcile import compare_with_durable
from callcenter.config import RedisSettings
from callcenter.core.call_record import CallRecord
from callcenter.service import Service
from callcenter.sim import PbxSimulator, TrafficParams
from callcenter.streams.redis_bus import StreamBus
from callcenter.testing import running_simulator


def _settings(
    tmp_path: Path, sim: PbxSimulator, url: str, prefix: str, instance: str, lease_s: float = 1.0
) -> Any:
    base = service_settings(tmp_path, sim)
    return dataclasses.replace(
        base,
        redis=RedisSettings(url=url, instance=instance, prefix=prefix, lease_s=lease_s),
        logging=dataclasses.replace(base.logging, call_lines=False),
    )


async def _eventually(check: Callable[[], bool], timeout: float = 60.0) -> None:
    """Until ``check()``; the deadline only bounds a hang (the machine may be busy)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


async def _stored(service: Service) -> list[CallRecord]:
    await service.settle()
    records = await asyncio.to_thread(service.store.list_calls, pbx="main", limit=100_000)
    return [r for r in records if r.kind == "inbound"]


def _reconciles(records: list[CallRecord], sim: PbxSimulator, tmp_path: Path) -> None:
    ids = [r.call_id for r in records]
    assert len(ids) == len(set(ids)), "a call counted twice"
    assert sorted(ids) == sorted(o.call_id for o in sim.finished), "a call lost"
    report = compare_with_durable(
        records, queue_log=sim.queue_log_path, cdr_csv=sim.cdr_path, pbx="main",
        zone=service_settings(tmp_path).zone, short_abandon_s=5,
    )  # fmt: skip
    assert report.mismatched_calls == 0, report.describe()[:10]
    assert not report.missing and not report.unexpected


async def _stop_once_all_read(server: PrivateRedis, key: str, services: list[Service]) -> None:
    """Stop Redis at a moment when every instance has read and handled every entry written
    so far. A restart without persistence loses entries written but not yet read (the
    documented price of running Redis without an append-only file); what the outboxes
    keep while Redis is away is what must not be lost."""
    buses = [s.streams for s in services if s.streams is not None]
    client = redis.asyncio.Redis.from_url(server.url, decode_responses=True)
    deadline = time.monotonic() + 60
    try:
        while True:
            assert time.monotonic() < deadline, "the instances never caught up with the stream"
            written = [b.written for b in buses]
            idle = all(not b.outbox for b in buses)
            async with client.pipeline(transaction=False) as pipe:
                pipe.xinfo_stream(key)
                pipe.xinfo_groups(key)
                stream, groups = await pipe.execute()
            # Nothing was written or waiting to be while Redis answered ...
            quiet = idle and all(not b.outbox for b in buses)
            quiet = quiet and [b.written for b in buses] == written
            # ... and each instance's group had everything delivered and acknowledged.
            read = len(groups) == len(buses) and all(
                g["pending"] == 0 and g["last-delivered-id"] == stream["last-generated-id"]
                for g in groups
            )
            if quiet and read:
                server.stop()
                return
            await asyncio.sleep(0.01)
    finally:
        await client.aclose()


async def _lease_holder(url: str, key: str) -> str | None:
    client = redis.asyncio.Redis.from_url(url, decode_responses=True)
    try:
        holder: str | None = await client.get(key)
        return holder
    finally:
        await client.aclose()


async def _lease_named(url: str, key: str, origin: str) -> None:
    """Until the lease ``key`` in Redis names ``origin``."""
    deadline = time.monotonic() + 60
    while (holder := await _lease_holder(url, key)) != origin:
        assert time.monotonic() < deadline, f"lease {key} still names {holder!r}"
        await asyncio.sleep(0.05)


def _today(service: Service, sim: PbxSimulator) -> dict[str, Any]:
    return dict(service.metrics.live.snapshot(sim.now)["today"])


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[tuple[PbxSimulator, Service, Service]]:
    url = require_redis()
    with shared_prefix(url) as prefix:
        async with running_simulator(tmp_path / "pbx", seed=21, speed=200) as sim:
            first = Service(_settings(tmp_path, sim, url, prefix, "first"), managed_queues=set())
            await first.start()
            second = Service(_settings(tmp_path, sim, url, prefix, "second"), managed_queues=set())
            await second.start()
            try:
                yield sim, first, second
            finally:
                await second.stop()
                await first.stop()


async def test_one_instance_speaks_for_the_pbx_and_both_show_the_same_board(
    pair: tuple[PbxSimulator, Service, Service], tmp_path: Path
) -> None:
    sim, first, second = pair
    assert first.holds("main") and not second.holds("main")
    await asyncio.to_thread(add_users, second.cti.accounts)
    pops: list[dict[str, Any]] = []
    async with (
        client_for(f"http://127.0.0.1:{second.web_port}", "alice") as alice,
        alice.http.ws_connect(f"{alice.base}/ws/seat") as ws,
    ):

        async def listen() -> None:
            async for message in ws:
                pops.append(json.loads(message.data))

        listener = asyncio.create_task(listen())
        sim.start_traffic(40)
        await asyncio.wait_for(sim.wait_finished(), 120)
        await _eventually(lambda: first.finished_inbound >= 40)
        # The second instance learns everything from the stream.
        await _eventually(lambda: _today(second, sim) == _today(first, sim))
        await _eventually(lambda: any(p.get("state") == "ringing" for p in pops))
        listener.cancel()
    assert second.finished_inbound == 0  # only the holder tracks and writes calls
    assert second.metrics.live.outcomes == first.metrics.live.outcomes
    assert sum(first.metrics.live.outcomes.values()) == 40
    # The pop for alice's seat reached her through the instance she is signed in to.
    rang = [p for p in pops if p.get("state") == "ringing"]
    assert all(p["interface"] == "PJSIP/1001" for p in rang)
    _reconciles(await _stored(first), sim, tmp_path)


async def test_a_stopped_holder_is_taken_over_mid_traffic(
    pair: tuple[PbxSimulator, Service, Service], tmp_path: Path
) -> None:
    sim, first, second = pair
    sim.start_traffic(60)
    await _eventually(lambda: sim.generated >= 25)
    await first.stop()  # hands its lease back (the fixture's second stop does nothing)
    await _eventually(lambda: second.holds("main"), timeout=10)
    await asyncio.wait_for(sim.wait_finished(), 120)
    await _eventually(lambda: second.finished_inbound + first.finished_inbound >= 60)
    await _eventually(lambda: not any(t.open_calls() for t in second.trackers.values()), timeout=10)
    assert second.finished_inbound > 0
    _reconciles(await _stored(second), sim, tmp_path)


async def test_redis_restart_loses_nothing_and_the_others_catch_up(tmp_path: Path) -> None:
    server = PrivateRedis(tmp_path / "redis")
    server.start()
    try:
        async with running_simulator(tmp_path / "pbx", seed=33, speed=200) as sim:
            # A lease of 5 s: a renewal late on a busy machine does not hand the PBX over.
            first = Service(_settings(tmp_path, sim, server.url, "cc", "first", lease_s=5.0))
            second = Service(_settings(tmp_path, sim, server.url, "cc", "second", lease_s=5.0))
            with structlog.testing.capture_logs() as logs:
                await first.start()
                await second.start()
                try:
                    assert first.holds("main") and not second.holds("main")
                    sim.start_traffic(80)
                    await _eventually(lambda: sim.generated >= 20)
                    await _stop_once_all_read(server, "cc:events:main", [first, second])
                    await _eventually(
                        lambda: first.streams is not None and not first.streams.available
                    )
                    assert first.ready()["redis"] is False
                    # Calls go on being tracked and stored while Redis is away.
                    finished_before = first.finished_inbound
                    await _eventually(lambda: first.finished_inbound > finished_before)
                    await _eventually(lambda: sim.generated >= 50)
                    server.start()  # empty: streams, groups and the lease are gone
                    await asyncio.wait_for(sim.wait_finished(), 120)
                    await _eventually(lambda: first.finished_inbound >= 80)
                    await _eventually(lambda: first.streams is not None and first.streams.available)
                    # The holder takes its own lease back; the PBX does not change hands.
                    assert first.streams is not None
                    await _lease_named(server.url, "cc:lease:main", first.streams.origin)
                    await _eventually(lambda: _today(second, sim) == _today(first, sim))
                    assert second.metrics.live.outcomes == first.metrics.live.outcomes
                    assert first.holds("main") and not second.holds("main")
                    _reconciles(await _stored(first), sim, tmp_path)
                finally:
                    await second.stop()
                    await first.stop()
            changed = [e for e in logs if e["event"] == "pbx lease changed hands"]
            assert changed == []
    finally:
        server.stop()


async def test_after_a_redis_restart_the_holder_takes_its_lease_back_first(
    tmp_path: Path,
) -> None:
    """A restart forgets every lease. Whichever instance asks first, the free lease goes
    back to the holder, which went on alone while Redis was away; another instance takes
    a lease nobody takes back once Redis has answered it for a lease period."""
    server = PrivateRedis(tmp_path / "redis")
    server.start()
    key = "cc:lease:main"

    def bus(instance: str) -> StreamBus:
        return StreamBus(server.url, instance=instance, pbxes=["main"],
                         on_envelope=lambda _e: None, prefix="cc", lease_s=0.5)  # fmt: skip

    holder, other = bus("first"), bus("second")
    try:
        await holder.claim_leases()
        await other.claim_leases()
        assert holder.holds("main") and not other.holds("main")
        server.stop()
        await holder.renew_leases()
        await other.renew_leases()
        assert not holder.available and not other.available
        assert holder.holds("main")  # it goes on alone
        server.start()  # empty: the lease is gone
        # The other instance asks first (until a round of its reaches Redis) ...
        deadline = time.monotonic() + 60
        while not other.available:
            assert time.monotonic() < deadline, "Redis never answered again"
            await asyncio.sleep(0.05)
            await other.renew_leases()
        assert not other.holds("main")
        assert await _lease_holder(server.url, key) is None
        # ... and the holder's next round takes the free lease back.
        await holder.renew_leases()
        assert holder.holds("main")
        assert await _lease_holder(server.url, key) == holder.origin
        await other.renew_leases()
        assert not other.holds("main")
        # A holder that stopped hands its lease back: the other instance takes it.
        await holder.close()
        while not other.holds("main"):
            assert time.monotonic() < deadline, "the free lease was never taken"
            await asyncio.sleep(other.lease_s / 3)
            await other.renew_leases()
        assert await _lease_holder(server.url, key) == other.origin
    finally:
        await holder.close()
        await other.close()
        server.stop()


async def test_an_instance_started_mid_call_shows_the_calls_already_up(tmp_path: Path) -> None:
    url = require_redis()
    with shared_prefix(url) as prefix:
        async with running_simulator(
            tmp_path / "pbx", seed=8, speed=10, traffic=TrafficParams(peak_calls_per_hour=4000.0)
        ) as sim:
            first = Service(_settings(tmp_path, sim, url, prefix, "first"), managed_queues=set())
            await first.start()
            second: Service | None = None
            try:
                sim.start_traffic(12)
                await _eventually(lambda: sim.generated >= 12)
                lines = first.metrics.live.snapshot(sim.now)["lines_in_use"]
                assert lines > 0
                # Every call began before this instance did; its own login lists them.
                second = Service(
                    _settings(tmp_path, sim, url, prefix, "second"), managed_queues=set()
                )
                await second.start()
                await _eventually(
                    lambda: second.metrics.live.snapshot(sim.now)["lines_in_use"] > 0, 5
                )
                board = ("lines_in_use", "calls_in_ivr", "waiting")

                def same() -> bool:
                    a, b = (
                        first.metrics.live.snapshot(sim.now),
                        second.metrics.live.snapshot(sim.now),
                    )
                    return all(a[k] == b[k] for k in board) and a["lines_in_use"] > 0

                await _eventually(same, 10)
            finally:
                if second is not None:
                    await second.stop()
                await first.stop()


async def test_groups_of_instances_gone_silent_are_forgotten() -> None:
    url = require_redis()
    with shared_prefix(url) as prefix:
        client = redis.asyncio.Redis.from_url(url, decode_responses=True)
        key = f"{prefix}:events:main"
        await client.xadd(key, {"o": "x"})
        for group in ("view:retired", "view:alive", "view:me", "other-tool"):
            await client.xgroup_create(key, group, id="0")
        await client.xreadgroup("view:retired", "retired", {key: ">"}, count=1)
        bus = StreamBus(url, instance="me", pbxes=["main"], on_envelope=lambda _e: None,
                        prefix=prefix, forget_after_s=0.5)  # fmt: skip
        await asyncio.sleep(0.6)
        await client.xreadgroup("view:alive", "alive", {key: ">"}, count=1)  # still reading
        dropped = await bus.forget_gone_instances()
        names = {g["name"] for g in await client.xinfo_groups(key)}
        await bus.close()
        await client.aclose()
    assert dropped == [f"{key} view:retired"]
    # this instance's own group, a live one and groups of other tools stay
    assert names == {"view:alive", "view:me", "other-tool"}
