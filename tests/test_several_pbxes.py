"""Two Asterisk servers, one service: a link each, calls keyed by (PBX, Linkedid) even
when both servers hand out the same ids, and one FastAGI server answering both."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from pathlib import Path

import pytest
from service_fixtures import service_settings

from callcenter.calls.reconcile import compare_with_durable
from callcenter.core.events import Event, IvrLeft
from callcenter.routing.sync import ScaledClock
from callcenter.service import Service
from callcenter.sim import AgiTarget, PbxSimulator, TrafficParams, daytime_start
from callcenter.telephony.actions import ActionRouter
from callcenter.telephony.ami import AmiClient
from callcenter.telephony.settings import AmiSettings, PbxSettings
from callcenter.testing import running_simulator

SPEED = 200.0


def _link(name: str, sim: PbxSimulator) -> PbxSettings:
    return PbxSettings(
        name=name,
        ami=AmiSettings(port=sim.ami_port, secret=sim.config.secret, backoff_initial_s=0.05),
        queue_log=str(sim.queue_log_path),
        cdr_csv=str(sim.cdr_path),
    )


async def test_two_pbxes_share_one_service_without_mixing_their_calls(tmp_path: Path) -> None:
    start = daytime_start(hour=10)
    traffic = TrafficParams(peak_calls_per_hour=2000.0)
    common = {"speed": SPEED, "start_epoch": start, "traffic": traffic}
    async with (
        # The same seed and start: both servers number their calls alike, so the same
        # Linkedids arrive from both, told apart only by their PBX.
        running_simulator(tmp_path / "east", seed=4, pbx_name="east", **common) as east,
        running_simulator(tmp_path / "west", seed=4, pbx_name="west", **common) as west,
    ):
        base = service_settings(tmp_path)
        settings = dataclasses.replace(
            base,
            pbxes=[_link("east", east), _link("west", west)],
            logging=dataclasses.replace(base.logging, call_lines=False),
        )
        service = Service(
            settings, pbx_clock=ScaledClock(lambda: east.now, SPEED), managed_queues=set()
        )
        seen: list[Event] = []
        service.event_listeners.append(seen.append)
        await service.start()
        try:
            for name, sim in (("east", east), ("west", west)):
                sim.set_agi_target(
                    AgiTarget("127.0.0.1", service.fastagi.port, f"hotline?pbx={name}")
                )
            east.start_traffic(30)
            west.start_traffic(30)
            await asyncio.wait_for(asyncio.gather(east.wait_finished(), west.wait_finished()), 120)
            deadline = time.monotonic() + 60
            while service.finished_inbound < 60 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            await service.settle()
            for name, sim in (("east", east), ("west", west)):
                records = await asyncio.to_thread(service.store.list_calls, pbx=name, limit=1000)
                inbound = [r for r in records if r.kind == "inbound"]
                assert sorted(r.call_id for r in inbound) == sorted(
                    o.call_id for o in sim.finished
                ), name
                report = compare_with_durable(
                    inbound, queue_log=sim.queue_log_path, cdr_csv=sim.cdr_path, pbx=name,
                    zone=settings.zone, short_abandon_s=settings.targets.short_abandon_s,
                )  # fmt: skip
                assert report.mismatched_calls == 0, report.describe()[:10]
                # Each PBX's IVR exits came back tagged with that PBX.
                exits = {e.call_id for e in seen if isinstance(e, IvrLeft) and e.pbx == name}
                assert {o.call_id for o in sim.finished} <= exits, name
        finally:
            await service.stop()
    # Both servers count Linkedids alike: the same ids, told apart by their PBX.
    shared = {o.call_id for o in east.finished} & {o.call_id for o in west.finished}
    assert shared, "the two simulated servers were expected to reuse each other's ids"


def test_a_seat_action_goes_to_the_pbx_that_serves_the_seat() -> None:
    east = AmiClient("127.0.0.1", 1, "u", "s", on_event=lambda _m: None)
    west = AmiClient("127.0.0.1", 2, "u", "s", on_event=lambda _m: None)
    served = {"PJSIP/2001": "west", "PJSIP/1001": "east"}
    router = ActionRouter({"east": east, "west": west}, served.get, default="east")
    assert router.client_for({"Action": "QueuePause", "Interface": "PJSIP/2001"}) is west
    assert router.client_for({"Action": "Originate", "Channel": "PJSIP/1001"}) is east
    # a phone no PBX reported yet: the first PBX
    assert router.client_for({"Action": "Originate", "Channel": "PJSIP/9999"}) is east
    with pytest.raises(ValueError, match="default PBX"):
        ActionRouter({"east": east}, served.get, default="north")
