"""The simulator's callers walk the hotline flow through our FastAGI server, end to end."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

from callcenter import events as ev
from callcenter.ivr.registry import FlowRegistry
from callcenter.ivr.schema import OwnerInfo
from callcenter.sim import AgiTarget, TrafficParams, daytime_start
from callcenter.telephony.fastagi import FastAgiServer
from callcenter.testing import running_simulator

ROOT = Path(__file__).resolve().parent.parent
EXPECTED_QUEUE = {"1": "repair", "2": "complaint", "3": "support", "": "support"}


async def test_simulated_callers_walk_the_hotline_into_the_queues_it_chose(tmp_path: Path) -> None:
    registry = FlowRegistry(ROOT / "ivr_flows", queues={"support", "repair", "complaint"})
    assert registry.reload() == []
    events: list[ev.Event] = []

    async def lookup(number: str) -> OwnerInfo | None:
        return None  # nobody known: the menu decides

    server = FastAgiServer("127.0.0.1", 0, flows=registry, lookup=lookup, on_event=events.append,
                           pbx="sim")  # fmt: skip
    await server.start()
    try:
        traffic = TrafficParams(ivr_hangup_prob=0.1, peak_calls_per_hour=3000.0)
        async with running_simulator(
            tmp_path / "pbx", seed=5, speed=100.0, start_epoch=daytime_start(hour=10),
            agi_target=AgiTarget("127.0.0.1", server.port), traffic=traffic,
        ) as sim:  # fmt: skip
            server.clock = lambda: sim.now
            outcomes = await sim.run(30, timeout=90)
            for _ in range(200):  # the last sessions may still be closing their sockets
                if not server.sessions:
                    break
                await asyncio.sleep(0.01)
    finally:
        await server.close()
    assert len(outcomes) == 30
    assert server.stats["failed"] == 0 and server.stats["sessions"] == 30
    left = {x.call_id: x for x in events if isinstance(x, ev.IvrLeft)}
    missing = {c.call_id for c in outcomes} - set(left)
    assert not missing, f"sessions without a recorded exit: {missing}"
    assert len(left) == 30  # every session ended with its path recorded
    for call in outcomes:
        exit_ = left[call.call_id]
        if exit_.outcome == "queue":
            assert call.queue == exit_.target
            assert call.outcome in ("answered", "abandoned", "short_abandon", "voicemail")
            assert call.queue == EXPECTED_QUEUE[call.dtmf[:1]]
        else:
            assert exit_.outcome == "caller_hangup" and call.outcome == "ivr_only"
    assert Counter(x.outcome for x in left.values())["queue"] >= 20
