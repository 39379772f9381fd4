"""Live monitoring: the ChanSpy originate (pure), and from the wallboard against the PBX
simulator over AMI: a supervisor listens to an agent who is on a call; audited."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from cti_fixtures import client_for, serving
from monitor_fixtures import MonitoredFloor

from callcenter.metrics.monitor import MonitorError, chanspy_originate, parse_request
from callcenter.metrics.wallboard import setup
from callcenter.telephony.ami import AmiClient
from callcenter.testing import running_simulator


@pytest.mark.parametrize(
    ("mode", "options"), [("listen", "qE"), ("whisper", "qwE"), ("barge", "qBE")]
)
def test_each_mode_runs_chanspy_with_its_options(mode: str, options: str) -> None:
    wanted = parse_request({"interface": "PJSIP/1001", "mode": mode, "phone": "PJSIP/1009"})
    fields = chanspy_originate(wanted, '"listen 1001" <1001>')
    assert fields["Action"] == "Originate"
    assert fields["Channel"] == "PJSIP/1009"  # the supervisor's phone rings first
    assert fields["Application"] == "ChanSpy"
    assert fields["Data"] == f"PJSIP/1001,{options}"
    assert fields["Async"] == "true"


def test_the_supervisors_own_seat_is_the_default_phone() -> None:
    wanted = parse_request({"interface": "PJSIP/1001", "mode": "listen"}, "PJSIP/1009")
    assert wanted.phone == "PJSIP/1009"


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"interface": "PJSIP/1001", "mode": "spy", "phone": "PJSIP/1009"}, "mode"),
        ({"interface": "PJSIP/1001,B", "mode": "listen", "phone": "PJSIP/1009"}, "interface"),
        ({"interface": "1001", "mode": "listen", "phone": "PJSIP/1009"}, "interface"),
        ({"interface": "PJSIP/1001", "mode": "listen", "phone": ""}, "phone is required"),
        ({"interface": "PJSIP/1001", "mode": "listen", "phone": "PJSIP/9\r\nAction: x"}, "phone"),
        ({"interface": "PJSIP/1001", "mode": "listen", "phone": "PJSIP/1001"}, "your own"),
    ],
)
def test_bad_requests_name_the_problem(body: dict[str, Any], problem: str) -> None:
    with pytest.raises(MonitorError) as refused:
        parse_request(body)
    assert problem in refused.value.en and refused.value.zh


async def test_a_supervisor_listens_to_an_agent_on_a_call(tmp_path: Path) -> None:
    floor = MonitoredFloor.build(tmp_path)
    engine, cti, hub = floor.engine, floor.cti, floor.hub
    spies, originated, on_message = floor.spies, floor.originated, floor.on_message
    async with running_simulator(tmp_path / "pbx", seed=5, speed=20, secret="s") as pbx:
        ami = AmiClient("127.0.0.1", pbx.ami_port, "callcenter", "s", on_event=on_message)
        await ami.start()
        app = web.Application()
        cti.routes(app)
        setup(
            app, hub, ami=ami, audit=cti.records.audit, seats=lambda: {"PJSIP/1011", "PJSIP/1012"}
        )
        try:
            async with (
                serving(app) as base,
                client_for(base, "sue") as sue,
                client_for(base, "alice") as alice,
            ):
                pbx.start_traffic(60)
                busy = ""
                deadline = time.monotonic() + 60
                while not busy and time.monotonic() < deadline:
                    await asyncio.sleep(0.2)
                    status, board = await sue.get_json("/api/wallboard")
                    assert status == 200 and isinstance(board, dict)
                    busy = next((s["interface"] for s in board["seats"]
                                 if s["state"] == "in_call"), "")  # fmt: skip
                assert busy, "no agent took a call within a minute"
                phone = "PJSIP/1012" if busy != "PJSIP/1012" else "PJSIP/1011"
                body = {"interface": busy, "mode": "listen", "phone": phone}
                # an agent may not, and a request without the CSRF token is refused
                status, _ = await alice.post_json("/api/monitor", body)
                assert status == 403
                async with sue.http.post(
                    f"{base}/api/monitor", json=body, headers={"Origin": base}
                ) as resp:
                    assert resp.status == 403
                assert not originated
                # a dial string through a trunk is no seat: an outside number would listen
                outside = {**body, "phone": "PJSIP/13800138000@trunk"}
                status, refused = await sue.post_json("/api/monitor", outside)
                assert status == 400 and isinstance(refused, dict)
                assert "not a configured seat" in refused["error"]["en"], refused
                assert not originated
                status, reply = await sue.post_json("/api/monitor", body)
                assert status == 202, reply
                deadline = time.monotonic() + 60
                while not spies and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
                assert spies, "no ChanSpyStart from the PBX"
                assert spies[0]["SpyerChannel"].startswith(phone + "-")
                assert spies[0]["SpyeeChannel"].startswith(busy + "-")
                assert originated[0]["Application"] == "ChanSpy"
                assert originated[0]["Data"] == f"{busy},qE"
                status, trail = await sue.get_json("/api/audit?login=sue")
                assert status == 200 and isinstance(trail, dict)
                entries = [(a["action"], a["detail"]) for a in trail["audit"]]
                assert ("monitor_listen", f"listen {busy} from {phone}") in entries
        finally:
            await ami.close()
    engine.dispose()
