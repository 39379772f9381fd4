"""Live staffing alerts reach a real HTTP receiver, signed, retried after failures."""

from __future__ import annotations

import json
from dataclasses import replace

from aiohttp import web
from routing_fixtures import at, roster

from callcenter.core.events import Event, QueueMemberChanged, StaffingBelowMinimum
from callcenter.core.signing import verify
from callcenter.routing.agent_state import AgentStates
from callcenter.routing.alerts import StaffingWatch, alert_webhook, ready_by_team
from callcenter.routing.directory import Agent, Directory, Seat
from callcenter.routing.staffing import LiveStaffingMonitor, MinimumRule

SECRET = "s3cret"


class FixedClock:
    def __init__(self, now: float) -> None:
        self.t = now

    def now(self) -> float:
        return self.t

    async def sleep_until(self, when: float) -> None:
        self.t = when


async def receiver(fail_first: int) -> tuple[web.AppRunner, str, list[dict[str, object]]]:
    got: list[dict[str, object]] = []
    calls = {"n": 0}

    async def hook(request: web.Request) -> web.Response:
        calls["n"] += 1
        body = await request.read()
        if calls["n"] <= fail_first:
            return web.Response(status=503)
        ok = verify(SECRET, request.headers["X-Callcenter-Timestamp"], body,
                    request.headers["X-Callcenter-Signature"])  # fmt: skip
        if not ok:
            return web.Response(status=401)
        got.append(json.loads(body))
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}/hook", got


async def test_alert_is_signed_retried_and_sent_once_per_change() -> None:
    runner, url, got = await receiver(fail_first=2)
    try:
        r = roster(
            "rotations:\n  - {name: h, team: hotline, anchor: 2026-11-30, pattern: [[night]], members: [a]}\n"
        )
        directory = Directory(
            {"S1": Seat("S1", "PJSIP/1"), "S2": Seat("S2", "PJSIP/2")},
            {"a": Agent("a", "A", "S1", "hotline"), "b": Agent("b", "B", "S2", "hotline")},
            {},
        )
        states = AgentStates()
        rules = [
            replace(MinimumRule.parse("night", "21:00-08:00", 2, ["hotline"]), title_zh="夜班")
        ]
        events: list[Event] = []
        watch = StaffingWatch(
            LiveStaffingMonitor(rules, r.book.zone, r.calendar),
            lambda: ready_by_team(states, directory),
            publish=events.append,
            webhook=alert_webhook(url, SECRET, initial_backoff_s=0.01),
            clock=FixedClock(at("2026-12-01T03:00")),
            pbx="main",
        )
        assert [c.below for c in await watch.check_now()] == [True]
        assert await watch.check_now() == []  # still below: no second alert
        for member, interface in (("a", "PJSIP/1"), ("b", "PJSIP/2")):  # one back, then both
            states.apply(QueueMemberChanged(pbx="main", call_id="", at=at("2026-12-01T03:01"),
                                            change="added", queue="support", interface=interface,
                                            member_name=member, status=1))  # fmt: skip
            await watch.check_now()
        assert [
            (e.rule, e.below, e.have) for e in events if isinstance(e, StaffingBelowMinimum)
        ] == [("night", True, 0), ("night", True, 1), ("night", False, 2)]
        # the count moving while below is no new alert for the webhook
        assert [p["type"] for p in got] == ["staffing_below_minimum", "staffing_restored"]
        assert got[0]["message"] == {  # the rule as people call it, its window too
            "zh": "人手不足: 夜班 21:00-08:00 需要至少 2 个坐席在线，当前 0 个",
            "en": "Understaffed: night 21:00-08:00 needs 2 seats online, 0 now",
        }
    finally:
        await runner.cleanup()


async def test_a_refusing_receiver_is_not_retried_and_a_dead_one_gives_up() -> None:
    runner, url, got = await receiver(fail_first=0)
    try:
        wrong = alert_webhook(url, "other-secret", attempts=3, initial_backoff_s=0.01)
        assert await wrong.send({"x": 1}) is False and got == []
        dead = alert_webhook("http://127.0.0.1:9/hook", SECRET, attempts=2, initial_backoff_s=0.01)
        assert await dead.send({"x": 1}) is False
    finally:
        await runner.cleanup()
