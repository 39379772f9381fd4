"""Calls and screen-pops reach another system's receiver: real HTTP, each post signed
as every webhook of the service is, only the kinds asked for, and only where this
instance speaks for the PBX."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from cti_fixtures import serving, sqlite_engine
from store_fixtures import make_record

from callcenter.core.events import AgentAnswered, AgentRinging, ChannelCreated, QueueJoined
from callcenter.core.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from callcenter.cti.feature import CtiFeature
from callcenter.cti.settings import CtiSettings

SECRET = "crm-hook-secret"


class Receiver:
    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, object]]] = []
        self.bad_signatures = 0
        self.arrived = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        stamp, signature = request.headers[TIMESTAMP_HEADER], request.headers[SIGNATURE_HEADER]
        if not verify(SECRET, stamp, body, signature):
            self.bad_signatures += 1
            return web.Response(status=401)
        data = json.loads(body)
        assert data["kind"] == request.headers["X-Callcenter-Event"]
        self.seen.append((data["kind"], data["data"]))
        self.arrived.set()
        return web.Response(status=204)

    async def wait_for(self, count: int) -> None:
        while len(self.seen) < count:
            self.arrived.clear()
            await asyncio.wait_for(self.arrived.wait(), 10)


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[str, Receiver]]:
    target = Receiver()
    app = web.Application()
    app.router.add_post("/events", target.handle)
    async with serving(app) as base:
        yield f"{base}/events", target


def feature(tmp_path: Path, url: str, *kinds: str, holds: bool = True) -> CtiFeature:
    settings = CtiSettings(
        events_webhook_url=url,
        events_webhook_secret=SECRET,
        **({"events_webhook_kinds": list(kinds)} if kinds else {}),  # type: ignore[arg-type]
    )
    return CtiFeature(sqlite_engine(tmp_path), settings, holds=lambda _pbx: holds)


def one_call() -> list[object]:
    at = 1_795_731_524.0
    common = {"pbx": "main", "call_id": "1795731524.1"}
    return [
        ChannelCreated(**common, channel_id="1795731524.1", at=at, channel="PJSIP/trunk-1",
                       caller_number="13800138000", context="from-trunk", exten="4008001000"),
        QueueJoined(**common, at=at + 1, queue="hotline", caller_number="13800138000"),
        AgentRinging(**common, at=at + 2, queue="hotline", interface="PJSIP/1001",
                     member_name="Agent 1001"),
        AgentAnswered(**common, at=at + 5, queue="hotline", interface="PJSIP/1001",
                      member_name="Agent 1001", hold_time=4),
    ]  # fmt: skip


async def test_calls_and_pops_arrive_signed(tmp_path: Path, receiver: tuple[str, Receiver]) -> None:
    url, target = receiver
    cti = feature(tmp_path, url)
    await cti.start()
    try:
        listeners = cti.listeners
        for event in one_call():
            for listen in (*listeners.events, *listeners.pbx_events):
                listen(event)  # type: ignore[arg-type]
        for record_listener in listeners.pbx_records:
            record_listener(make_record("1795731524.1", pbx="main", agent="Agent 1001"))
        await target.wait_for(5)
    finally:
        await cti.stop()
    kinds = [kind for kind, _data in target.seen]
    assert kinds == ["call.queued", "screen_pop", "screen_pop", "call.answered", "call.ended"]
    queued, ringing, talking, answered, ended = (data for _kind, data in target.seen)
    assert queued["caller_number"] == "13800138000" and queued["queue"] == "hotline"
    assert ringing["state"] == "ringing" and ringing["interface"] == "PJSIP/1001"
    assert ringing["card"]["caller_number"] == "13800138000"  # type: ignore[index]
    assert answered["agent"] == "Agent 1001" and answered["hold_time"] == 4
    assert talking["state"] == "answered"
    assert ended["call_id"] == "1795731524.1" and ended["outcome"] == "answered"
    assert target.bad_signatures == 0


async def test_only_the_kinds_asked_for_and_no_pops_of_a_pbx_held_elsewhere(
    tmp_path: Path, receiver: tuple[str, Receiver]
) -> None:
    url, target = receiver
    cti = feature(tmp_path, url, "screen_pop", "call.ended", holds=False)
    await cti.start()
    try:
        listeners = cti.listeners
        for event in one_call():
            for listen in listeners.events:  # elsewhere only the live picture is followed
                listen(event)  # type: ignore[arg-type]
        for record_listener in listeners.pbx_records:  # as if this instance held it again
            record_listener(make_record("1795731524.1", pbx="main"))
        await target.wait_for(1)
    finally:
        await cti.stop()
    assert [kind for kind, _data in target.seen] == ["call.ended"]
