"""The wallboard over real HTTP and websockets: who may see it, what it shows, and how fast
a change reaches the screen; the colours against the targets (pure)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from aiohttp import web
from cti_fixtures import add_users as add_test_users
from cti_fixtures import client_for, serving, sqlite_engine

from callcenter.core.call_record import CallRecord
from callcenter.core.events import (
    ChannelCreated,
    ChannelHungUp,
    ChannelSnapshot,
    Event,
    QueueEntrySnapshot,
    QueueMemberChanged,
    ResyncCompleted,
)
from callcenter.cti.feature import CtiFeature
from callcenter.metrics.kpis import Thresholds
from callcenter.metrics.live import LiveCounters
from callcenter.metrics.wallboard import WallboardHub, levels, setup
from callcenter.web.headers import install as install_security_headers

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=TZ).timestamp()
TH = Thresholds(line_capacity=5)  # high level: 4 lines


def created(n: int) -> ChannelCreated:
    call = f"c{n}"
    return ChannelCreated(
        pbx="p", call_id=call, channel_id=call, at=NOW, channel="PJSIP/trunk-1", context="from-pstn"
    )


def member(interface: str, status: int) -> QueueMemberChanged:
    return QueueMemberChanged(
        pbx="p", call_id="", channel_id="", at=NOW, change="status", queue="support",
        interface=interface, status=status,
    )  # fmt: skip


@dataclass
class Board:
    base: str
    live: LiveCounters
    hub: WallboardHub
    cti: CtiFeature

    def feed(self, *events: Event) -> None:
        """What Service does: live.apply, then the hub (both event listeners, in order)."""
        for event in events:
            self.live.apply(event)
            self.hub.on_event(event)


@pytest.fixture
async def board(tmp_path: Path) -> AsyncIterator[Board]:
    engine = sqlite_engine(tmp_path)
    cti = CtiFeature(engine)
    add_test_users(cti.accounts)
    live = LiveCounters(thresholds=TH)
    hub = WallboardHub(live, clock=lambda: NOW)
    app = web.Application()
    install_security_headers(app)
    cti.routes(app)
    setup(app, hub, audit=cti.records.audit)
    async with serving(app) as base:
        yield Board(base, live, hub, cti)
    engine.dispose()


async def next_frame(ws: aiohttp.ClientWebSocketResponse, timeout: float = 60.0) -> dict[str, Any]:
    message = await ws.receive(timeout=timeout)
    assert message.type == aiohttp.WSMsgType.TEXT, message
    frame: dict[str, Any] = json.loads(message.data)
    return frame


async def test_a_supervisor_sees_a_change_within_half_a_second(board: Board) -> None:
    # The change is pushed push_delay_s after it happens (whatever the machine adds to
    # that); with the idle refresh an hour away, every frame below is such a push.
    assert board.hub.push_delay_s <= 0.5
    board.hub.refresh_s = 3600.0
    async with (
        client_for(board.base, "sue") as sue,
        sue.http.ws_connect(f"{board.base}/ws/wallboard") as ws,
    ):
        first = await next_frame(ws)
        assert first["lines_in_use"] == 0 and first["line_capacity"] == 5
        assert first["levels"]["lines"] == "ok" and first["alerts"] == []
        board.feed(created(1), created(2), created(3), created(4), member("PJSIP/1001", 2))
        frame = await next_frame(ws)
        # a burst of events arrives as one snapshot holding all of them
        assert frame["lines_in_use"] == 4
        assert frame["levels"]["lines"] == "warn"
        assert [a["kind"] for a in frame["alerts"]] == ["lines_high"]
        assert frame["seats"] == [{"interface": "PJSIP/1001", "state": "in_call"}]
        hangup = ChannelHungUp(
            pbx="p", call_id="c1", channel_id="c1", at=NOW, channel="PJSIP/trunk-1"
        )
        board.feed(hangup)
        frame = await next_frame(ws)
        assert frame["lines_in_use"] == 3 and frame["alerts"] == []
    assert board.hub.pushes == 2


async def test_the_page_and_socket_are_for_supervisors_and_admins(board: Board) -> None:
    base = board.base
    async with client_for(base, None) as anonymous:
        async with anonymous.http.get(f"{base}/wallboard", allow_redirects=False) as resp:
            assert resp.status == 303
            assert resp.headers["Location"].startswith("/login?next=")
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await anonymous.http.ws_connect(f"{base}/ws/wallboard")
        assert refused.value.status == 401
    async with client_for(base, "alice") as agent:
        async with agent.http.get(f"{base}/wallboard") as resp:
            assert resp.status == 403
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await agent.http.ws_connect(f"{base}/ws/wallboard")
        assert refused.value.status == 403
        status, _ = await agent.post_json(
            "/api/monitor", {"interface": "PJSIP/1002", "mode": "listen", "phone": "PJSIP/1001"}
        )
        assert status == 403
    async with client_for(base, "ada") as admin:
        async with admin.http.get(f"{base}/wallboard") as resp:
            assert resp.status == 200
            page = await resp.text()
        assert "实时监控大屏" in page and "const CAN_MONITOR = false" in page
        async with admin.http.ws_connect(f"{base}/ws/wallboard") as ws:
            assert (await next_frame(ws))["line_capacity"] == 5


async def test_the_page_is_chinese_unless_english_is_asked_for(board: Board) -> None:
    async with client_for(board.base, "sue") as sue:
        async with sue.http.get(f"{board.base}/wallboard") as resp:
            zh = await resp.text()
            csp = resp.headers["Content-Security-Policy"]
        async with sue.http.get(f"{board.base}/wallboard?lang=en") as resp:
            en = await resp.text()
    assert '<html lang="zh-CN">' in zh and "今日接通率" in zh
    assert '<html lang="en">' in en and "Answer rate today" in en
    assert "const CAN_MONITOR = true" in zh
    # everything inline: no script, style or font from another host
    assert "http://" not in zh and "https://" not in zh and "src=" not in zh
    assert "default-src 'self'" in csp


async def test_a_cross_site_socket_is_refused(board: Board) -> None:
    async with client_for(board.base, "sue") as sue:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await sue.http.ws_connect(
                f"{board.base}/ws/wallboard", headers={"Origin": "https://evil.example"}
            )
        assert refused.value.status == 403


async def test_no_push_is_scheduled_while_nobody_watches(board: Board) -> None:
    board.feed(created(1))
    await asyncio.sleep(0.2)
    assert board.hub.pushes == 0


def snapshot_with(lines: int, today_rate: float | None, wait: float = 0.0) -> dict[str, Any]:
    live = LiveCounters(thresholds=Thresholds(line_capacity=90))
    body = live.snapshot(NOW)
    body["lines_in_use"] = lines
    body["today"]["answer_rate"] = today_rate
    body["waiting"] = {"support": {"waiting": 1, "longest_wait_s": wait}}
    return body


@pytest.mark.parametrize(
    ("lines", "expected"), [(0, "ok"), (71, "ok"), (72, "warn"), (89, "warn"), (90, "alert")]
)
def test_lines_turn_amber_at_80_percent_and_red_when_full(lines: int, expected: str) -> None:
    assert levels(snapshot_with(lines, None), Thresholds(line_capacity=90))["lines"] == expected


@pytest.mark.parametrize(
    ("rate", "expected"), [(None, "ok"), (0.8999, "alert"), (0.90, "warn"), (0.95, "ok")]
)
def test_answer_rate_is_red_under_the_90_percent_target(rate: float | None, expected: str) -> None:
    th = Thresholds(line_capacity=90)
    assert levels(snapshot_with(0, rate), th)["answer_rate_today"] == expected


def test_waits_colour_against_the_service_level_seconds() -> None:
    th = Thresholds(service_level_s=20.0)
    assert levels(snapshot_with(0, None, 20.0), th)["wait:support"] == "ok"
    assert levels(snapshot_with(0, None, 21.0), th)["wait:support"] == "warn"
    assert levels(snapshot_with(0, None, 41.0), th)["wait:support"] == "alert"


async def test_answer_rate_alert_reaches_the_board(board: Board) -> None:
    def record(n: int, outcome: str) -> CallRecord:
        return CallRecord(
            pbx="p", call_id=f"r{n}", started_at=NOW - 60 + n, queue="support",
            queue_joined_at=NOW - 55 + n, ended_at=NOW - 10, outcome=outcome,  # type: ignore[arg-type]
            answered_at=NOW - 40 + n if outcome == "answered" else None, wait_s=15.0,
            talk_s=30.0 if outcome == "answered" else None,
        )  # fmt: skip

    for n in range(8):
        board.live.call_finished(record(n, "answered"))
    for n in range(8, 10):
        board.live.call_finished(record(n, "abandoned"))
    async with (
        client_for(board.base, "sue") as sue,
        sue.http.ws_connect(f"{board.base}/ws/wallboard") as ws,
    ):
        frame = await next_frame(ws)
    assert frame["today"]["answer_rate"] == 0.8
    assert frame["levels"]["answer_rate_today"] == "alert"
    assert "answer_rate_today" in [a["kind"] for a in frame["alerts"]]


def test_a_resync_shows_the_calls_already_up_and_forgets_those_that_ended_unseen() -> None:
    live = LiveCounters()
    live.apply(created(9))  # ends while the link is down
    snapshot = [
        ChannelSnapshot(
            pbx="p", call_id="talking", channel_id="talking", at=NOW, channel="PJSIP/trunk-2",
            context="from-pstn", duration_s=90, bridge_id="b1", source="resync",
        ),
        ChannelSnapshot(
            pbx="p", call_id="waiting", channel_id="waiting", at=NOW, channel="PJSIP/trunk-3",
            context="from-pstn", duration_s=40, source="resync",
        ),
        ChannelSnapshot(  # an agent's leg of the first call: not a line
            pbx="p", call_id="talking", channel_id="agent-leg", at=NOW, channel="PJSIP/1001-1",
            context="agents", duration_s=60, bridge_id="b1", source="resync",
        ),
        QueueEntrySnapshot(
            pbx="p", call_id="waiting", channel_id="waiting", at=NOW, channel="PJSIP/trunk-3",
            queue="support", wait=25, source="resync",
        ),
        ResyncCompleted(pbx="p", call_id="", at=NOW, live_channel_ids=("talking", "agent-leg",
                                                                         "waiting")),
    ]  # fmt: skip
    for event in snapshot:
        live.apply(event)
    body = live.snapshot(NOW + 5)
    assert body["lines_in_use"] == 2
    assert body["calls_in_ivr"] == 0
    assert body["waiting"] == {"support": {"waiting": 1, "longest_wait_s": 30.0}}
    # the same snapshot again (another instance's copy of it) changes nothing
    for event in snapshot:
        live.apply(event)
    assert live.snapshot(NOW + 5) == body


def test_a_call_counted_again_replaces_its_last_version() -> None:
    """A call rebuilt from durable records and then corrected, or re-read after a restart
    that had already counted it from the store, is one call on the board."""
    live = LiveCounters()

    def record(call_id: str, outcome: str, wait: float) -> CallRecord:
        return CallRecord(
            pbx="p", call_id=call_id, started_at=NOW - 120, queue="support" if wait else "",
            queue_joined_at=NOW - 110 if wait else None, ended_at=NOW - 10,
            outcome=outcome, wait_s=wait or None,  # type: ignore[arg-type]
            answered_at=NOW - 100 if outcome == "answered" else None,
        )  # fmt: skip

    live.call_finished(record("a", "answered", 10.0))
    live.call_finished(record("b", "ivr_only", 0.0))  # closed by its first CDR row
    live.call_finished(record("b", "abandoned", 40.0))  # its queue_log lines came after
    live.call_finished(record("a", "answered", 10.0))  # re-read after a restart
    today = live.snapshot(NOW)["today"]
    assert (today["offered"], today["answered"], today["abandoned"]) == (2, 1, 1)
    assert today["ivr_only"] == 0
    assert live.outcomes == {"answered": 1, "abandoned": 1, "ivr_only": 0}


def test_each_queue_shows_its_waits_now_and_its_answer_rate_today() -> None:
    live = LiveCounters(thresholds=Thresholds(service_level_s=20))

    def record(call_id: str, queue: str, outcome: str, wait: float) -> CallRecord:
        return CallRecord(
            pbx="p", call_id=call_id, started_at=NOW - 120, queue=queue,
            queue_joined_at=NOW - 110, ended_at=NOW - 10, outcome=outcome,  # type: ignore[arg-type]
            wait_s=wait, answered_at=NOW - 100 if outcome == "answered" else None,
        )  # fmt: skip

    live.call_finished(record("a", "support", "answered", 10.0))
    live.call_finished(record("b", "support", "answered", 30.0))  # past the 20 s
    live.call_finished(record("c", "support", "abandoned", 40.0))
    live.call_finished(record("d", "repair", "answered", 5.0))
    queues = live.snapshot(NOW)["queues"]
    assert queues["support"] == {
        "waiting": 0, "longest_wait_s": 0.0, "offered": 3, "answered": 2,
        "answer_rate": round(2 / 3, 4), "service_level": round(1 / 3, 4),
    }  # fmt: skip
    assert (queues["repair"]["answer_rate"], queues["repair"]["service_level"]) == (1.0, 1.0)
    # a correction counts once, in the queue's figures too
    live.call_finished(record("c", "support", "answered", 15.0))
    assert live.snapshot(NOW)["queues"]["support"]["answer_rate"] == 1.0
    # tomorrow the figures start again
    assert live.snapshot(NOW + 86_400)["queues"] == {}
