"""Prompts callers can interrupt, over FastAGI between the simulated Asterisk and our server.

A recording TCP relay sits between the two, so the commands and res_agi.c replies are read
as they cross the wire.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from pathlib import Path

from agi_fixtures import ivr_fastagi_server, ivr_of

from callcenter.core import events as ev
from callcenter.ivr.registry import FlowRegistry
from callcenter.sim import AgiTarget, TrafficParams, daytime_start
from callcenter.sim.agi_client import BARGE_IN_S, SAMPLES_PER_S, prompt_seconds
from callcenter.testing import running_simulator

ROOT = Path(__file__).resolve().parent.parent
MENU_KEYS = "123409"  # the hotline's main menu options, in the flow's order
NEXT_PROMPT = {"1": 'STREAM FILE "callcenter/zh/connecting" ""',
               "2": 'STREAM FILE "callcenter/zh/connecting" ""',
               "3": 'GET DATA "callcenter/zh/enter_unit" "8000" "8"'}  # fmt: skip


class Relay:
    """Forwards FastAGI sessions to ``port``; ``turns[n]`` is session n's list of
    (command, reply) lines in order."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.turns: dict[int, list[tuple[str, str]]] = defaultdict(list)
        self.server: asyncio.Server | None = None
        self.count = 0

    async def start(self) -> int:
        self.server = await asyncio.start_server(self.session, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def session(self, pbx_r: asyncio.StreamReader, pbx_w: asyncio.StreamWriter) -> None:
        n, self.count = self.count, self.count + 1
        srv_r, srv_w = await asyncio.open_connection("127.0.0.1", self.port)
        log = self.turns[n]

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter, who: str) -> None:
            while line := await src.readline():
                text = line.decode().strip()
                if who == "server":
                    log.append((text, ""))
                elif log and not log[-1][1] and text != "HANGUP":
                    log[-1] = (log[-1][0], text)
                dst.write(line)
                await dst.drain()
            dst.close()

        await asyncio.gather(pump(pbx_r, srv_w, "pbx"), pump(srv_r, pbx_w, "server"),
                             return_exceptions=True)  # fmt: skip

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()


async def test_a_key_pressed_during_the_welcome_routes_at_once(tmp_path: Path) -> None:
    registry = FlowRegistry(ROOT / "ivr_flows", queues={"support", "repair", "complaint"})
    assert registry.reload() == []
    events: list[ev.Event] = []
    server = ivr_fastagi_server("127.0.0.1", 0, flows=registry, lookup=None,
                                on_event=events.append, pbx="sim")  # fmt: skip
    await server.start()
    relay = Relay(server.port)
    relay_port = await relay.start()
    try:
        traffic = TrafficParams(ivr_hangup_prob=0.0, peak_calls_per_hour=3000.0)
        async with running_simulator(
            tmp_path / "pbx", seed=11, speed=100.0, start_epoch=daytime_start(hour=10),
            agi_target=AgiTarget("127.0.0.1", relay_port, barge_in=1.0), traffic=traffic,
        ) as sim:  # fmt: skip
            ivr_of(server).clock = lambda: sim.now
            outcomes = await sim.run(12, timeout=90)
            deadline = time.monotonic() + 60
            while server.sessions and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
    finally:
        await server.close()
        await relay.close()
    assert len(outcomes) == 12 and len(relay.turns) == 12
    left = {x.call_id: x for x in events if isinstance(x, ev.IvrLeft)}
    welcome = prompt_seconds("callcenter/zh/welcome")
    pressed = silent = 0
    for call in outcomes:
        turns = next(t for t in relay.turns.values() if _linkedid_of(t) == call.call_id)
        commands = [c for c, _ in turns]
        first = next((c, r) for c, r in turns if c.startswith("STREAM FILE"))
        # the welcome stops on exactly the menu's keys
        assert first[0] == f'STREAM FILE "callcenter/zh/welcome" "{MENU_KEYS}"'
        if call.dtmf:
            pressed += 1
            key = call.dtmf[0]
            # res_agi.c: the escape digit's ASCII code and the samples played so far
            assert first[1] == f"200 result={ord(key)} endpos={int(BARGE_IN_S * SAMPLES_PER_S)}"
            assert not any("main_menu" in c for c in commands)  # the menu was not played
            # the main menu took the key at once: the next prompt is where the key leads
            choice = next(x for x in events if isinstance(x, ev.IvrChoice)
                          and x.call_id == call.call_id and x.node == "main")  # fmt: skip
            assert choice.digits == key
            prompts = [c for c in commands if c.startswith(("STREAM FILE", "GET DATA"))]
            assert prompts[1] == NEXT_PROMPT[key]
            if key in "12":
                assert left[call.call_id].target == {"1": "repair", "2": "complaint"}[key]
        else:
            silent += 1
            assert first[1] == f"200 result=0 endpos={int(welcome * SAMPLES_PER_S)}"
            assert 'GET DATA "callcenter/zh/main_menu" "3000" "1"' in commands
            assert left[call.call_id].target == "support"
    assert pressed >= 6 and silent >= 1


def _linkedid_of(turns: list[tuple[str, str]]) -> str:
    """The linkedid the session read first (``GET VARIABLE CHANNEL(linkedid)``)."""
    reply = turns[0][1] if turns else ""
    return reply.partition("(")[2].rstrip(")")
