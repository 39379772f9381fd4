from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from callcenter.calls.store import CallStore
from callcenter.core.call_record import CallRecord, Leg
from callcenter.db import create_engine_for, upgrade
from callcenter.web.app import build_app
from callcenter.web.security import USER_KEY, User

USERS = {
    "supervisor": User(1, "sup", "supervisor"),
    "agent": User(2, "kf01", "agent", agent="kf01", interface="PJSIP/1001"),
}


@web.middleware
async def as_user(request: web.Request, handler):  # type: ignore[no-untyped-def]
    """Test-only stand-in for the sign-in middleware: the role comes from a header."""
    role = request.headers.get("X-Test-Role")
    if role in USERS:
        request[USER_KEY] = USERS[role]
    return await handler(request)


@dataclass
class View:
    store: CallStore
    links_up: bool = True

    def ready(self) -> dict[str, bool]:
        return {"pbx:main": self.links_up, "database": True}


def record(
    call_id: str, started: float, outcome: str = "answered", queue: str = "support"
) -> CallRecord:
    return CallRecord(
        pbx="main",
        call_id=call_id,
        hotline="4008001000",
        caller_number="13800138000",
        caller_name="张三",
        started_at=started,
        queue=queue,
        outcome=outcome,  # type: ignore[arg-type]
        agent="kf01" if outcome == "answered" else "",
        ended_at=started + 60,
        legs=[Leg(channel_id=call_id, channel="PJSIP/trunk-00000001", started_at=started)],
    )


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[str, View]]:
    url = f"sqlite:///{tmp_path / 'cc.db'}"
    upgrade(url)
    engine = create_engine_for(url)
    store = CallStore(engine)
    store.upsert_calls(
        [
            record(f"1795731524.{i}", 1795731524.0 + i, "answered" if i % 2 else "abandoned")
            for i in range(10)
        ]
    )
    view = View(store)
    app = build_app(view)
    app.middlewares.insert(0, as_user)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}", view
    await runner.cleanup()
    engine.dispose()


async def test_lists_calls_newest_first_with_filters(served: tuple[str, View]) -> None:
    base, _ = served
    async with aiohttp.ClientSession(headers={"X-Test-Role": "supervisor"}) as http:
        async with http.get(f"{base}/api/calls") as resp:
            assert resp.status == 200
            body = await resp.json()
        assert body["total"] == 10
        assert [c["call_id"] for c in body["calls"]][:2] == ["1795731524.9", "1795731524.8"]
        assert body["calls"][0]["caller_name"] == "张三"
        async with http.get(
            f"{base}/api/calls", params={"outcome": "abandoned", "limit": "2"}
        ) as resp:
            body = await resp.json()
        assert body["total"] == 5
        assert len(body["calls"]) == 2
        assert {c["outcome"] for c in body["calls"]} == {"abandoned"}
        async with http.get(f"{base}/api/calls/main/1795731524.3") as resp:
            assert resp.status == 200
            one = await resp.json()
        assert one["legs"][0]["channel"] == "PJSIP/trunk-00000001"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"outcome": "lost"}, "outcome: must be one of"),
        ({"limit": "100000"}, "limit: must be at most 1000"),
        ({"limit": "-1"}, "limit: must be at least 0"),
        ({"limit": "²"}, "limit: must be a whole number"),
        ({"limit": "2.5"}, "limit: must be a whole number"),
        ({"limit": ""}, "limit: must be a whole number"),
        ({"since": "yesterday"}, "since: must be a number"),
        ({"until": "nan"}, "until: must be a number"),
    ],
)
async def test_bad_queries_get_a_400_that_names_the_problem(
    served: tuple[str, View], query: dict[str, str], message: str
) -> None:
    base, _ = served
    async with (
        aiohttp.ClientSession(headers={"X-Test-Role": "supervisor"}) as http,
        http.get(f"{base}/api/calls", params=query) as resp,
    ):
        assert resp.status == 400
        assert message in (await resp.json())["error"]["en"]


async def test_a_head_request_is_checked_like_its_get(served: tuple[str, View]) -> None:
    base, _ = served
    async with (
        aiohttp.ClientSession(headers={"X-Test-Role": "supervisor"}) as http,
        http.head(f"{base}/api/calls", params={"limit": "many"}) as resp,
    ):
        assert resp.status == 400


async def test_unknown_call_is_404(served: tuple[str, View]) -> None:
    base, _ = served
    async with (
        aiohttp.ClientSession(headers={"X-Test-Role": "supervisor"}) as http,
        http.get(f"{base}/api/calls/main/nope") as resp,
    ):
        assert resp.status == 404


async def test_readiness_follows_the_links(served: tuple[str, View]) -> None:
    base, view = served
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/readyz") as resp:
            assert resp.status == 200
        view.links_up = False
        async with http.get(f"{base}/readyz") as resp:
            assert resp.status == 503
            assert (await resp.json())["parts"]["pbx:main"] is False
        async with http.get(f"{base}/healthz") as resp:
            assert resp.status == 200
            assert resp.headers["X-Content-Type-Options"] == "nosniff"


async def test_calls_need_a_signed_in_user_and_agents_see_only_their_own(
    served: tuple[str, View],
) -> None:
    base, _ = served
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/api/calls") as resp:
            assert resp.status == 401
        async with http.get(f"{base}/api/calls", headers={"X-Test-Role": "agent"}) as resp:
            body = await resp.json()
        assert body["total"] == 5
        assert {c["agent"] for c in body["calls"]} == {"kf01"}
        # Another agent's (here: nobody's) call is not found for an agent.
        async with http.get(
            f"{base}/api/calls/main/1795731524.2", headers={"X-Test-Role": "agent"}
        ) as resp:
            assert resp.status == 404
        async with http.get(
            f"{base}/api/calls/main/1795731524.3", headers={"X-Test-Role": "agent"}
        ) as resp:
            assert resp.status == 200
