"""Screen-pops against the PBX simulator over TCP: AMI socket -> translate -> pop -> the
seat's websocket, timed from the AgentCalled frame; and the seat's AMI actions (pause,
click-to-call) reaching the PBX."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

from aiohttp import web
from cti_fixtures import add_users, client_for, serving, sqlite_engine

from callcenter.core.events import QueueMemberChanged
from callcenter.cti.feature import CtiFeature
from callcenter.telephony.ami import AmiClient
from callcenter.telephony.ami_events import translate
from callcenter.testing import running_simulator

SEATS = {"alice": "PJSIP/1001", "bob": "PJSIP/1002"}


async def test_pops_reach_the_ringing_agent_within_milliseconds(tmp_path: Path) -> None:
    engine = sqlite_engine(tmp_path)
    cti = CtiFeature(engine)
    add_users(cti.accounts)
    await cti.start()
    rang_at: dict[tuple[str, str], tuple[float, str]] = {}
    seen: list[Any] = []

    def on_message(message: dict[str, str]) -> None:
        if message.get("Event") == "AgentCalled":
            key = (message["Linkedid"], message["Interface"])
            rang_at[key] = (time.perf_counter(), message.get("CallerIDNum", ""))
        event = translate(message, "sim")
        if event is not None:
            seen.append(event)
            cti.on_event(event)

    app = web.Application()
    cti.routes(app)
    async with (
        running_simulator(tmp_path / "pbx", seed=11, speed=40, secret="s") as pbx,
        serving(app) as base,
        client_for(base, "alice") as alice,
        client_for(base, "bob") as bob,
    ):
        ami = AmiClient("127.0.0.1", pbx.ami_port, "callcenter", "s", on_event=on_message)
        await ami.start()
        cti.deps.ami = ami
        frames: dict[str, list[tuple[float, dict[str, Any]]]] = {"alice": [], "bob": []}

        async def listen(login: str, client: Any) -> None:
            async with client.http.ws_connect(f"{base}/ws/seat") as ws:
                async for message in ws:
                    frames[login].append((time.perf_counter(), json.loads(message.data)))

        listeners = [
            asyncio.create_task(listen("alice", alice)),
            asyncio.create_task(listen("bob", bob)),
        ]
        try:
            # The seat's own actions reach the PBX.
            status, _ = await alice.post_json("/api/seat/pause", {"paused": True, "reason": "meal"})
            assert status == 200
            status, _ = await alice.post_json("/api/seat/pause", {"paused": False})
            assert status == 200
            status, body = await alice.post_json("/api/seat/call", {"number": "138 0013 8000"})
            assert status == 202, body
            pbx.start_traffic(40)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                rings = [
                    f for login in frames for _, f in frames[login] if f.get("state") == "ringing"
                ]
                if sum(1 for f in rings if f["interface"] in SEATS.values()) >= 4:
                    break
                await asyncio.sleep(0.1)
        finally:
            for task in listeners:
                task.cancel()
            await asyncio.gather(*listeners, return_exceptions=True)
            await ami.close()
    await cti.stop()
    engine.dispose()

    paused = [e for e in seen if isinstance(e, QueueMemberChanged) and e.change == "paused"]
    assert any(e.interface == "PJSIP/1001" and e.paused for e in paused)
    assert any(e.interface == "PJSIP/1001" and not e.paused for e in paused)
    latencies = []
    for login, seat in SEATS.items():
        for received, frame in frames[login]:
            assert frame.get("interface", seat) == seat  # nobody else's pops
            if frame.get("type") == "pop" and frame["state"] == "ringing":
                sent, number = rang_at[(frame["call_id"], seat)]
                assert frame["caller_number"] == number
                latencies.append((received - sent) * 1000)
    assert len(latencies) >= 4
    assert max(latencies) < 100, latencies  # typically about a millisecond
