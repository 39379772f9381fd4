"""The simulator's FastAGI client against a tiny FastAGI server written here."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from callcenter.sim import AgiTarget, PbxSimulator, SimConfig, TrafficParams, agents
from callcenter.sim.config import QueueConfig

DATA = Path(__file__).parent / "data"
START = 1795731524.0 + 4 * 3600

Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[list[tuple[str, str]]]]


class FastAgiServer:
    """Accepts sessions, records the environment, runs a script of commands."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.environments: list[list[tuple[str, str]]] = []
        self.transcripts: list[list[tuple[str, str]]] = []
        self.raw_env: list[bytes] = []
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self.session, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        env: list[tuple[str, str]] = []
        raw = b""
        while True:
            line = await reader.readline()
            raw += line
            if line in (b"\n", b""):
                break
            key, _, value = line.decode().rstrip("\n").partition(": ")
            env.append((key, value))
        self.environments.append(env)
        self.raw_env.append(raw)
        self.transcripts.append(await self.script(reader, writer))
        writer.close()

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


async def ask(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, command: str) -> str:
    writer.write(f"{command}\n".encode())
    await writer.drain()
    return (await reader.readline()).decode().rstrip("\n")


def config(tmp_path: Path, port: int, **traffic: object) -> SimConfig:
    params = TrafficParams(ivr_hangup_prob=0.0, menu_choices={"1": 1.0}, no_answer_prob=0.0,
                           patience_mean_s=10_000.0)  # fmt: skip
    for key, value in traffic.items():
        setattr(params, key, value)
    return SimConfig(
        seed=2,
        speed=50.0,
        start_epoch=START,
        records_dir=tmp_path,
        queues=[QueueConfig("support", agents(1001, 1)), QueueConfig("repair", agents(1002, 1))],
        hotlines={"4008001000": "support"},
        agi_target=AgiTarget("127.0.0.1", port, "hotline"),
        traffic=params,
    )


def capture_env_keys() -> list[str]:
    first_block = (DATA / "fastagi_env.txt").read_text().split("\n\n")[0]
    return [line.partition(": ")[0] for line in first_block.splitlines()]


async def test_environment_and_replies_then_route_by_variable(tmp_path: Path) -> None:
    async def script(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> list[tuple[str, str]]:
        commands = [
            "ANSWER",
            'VERBOSE "FastAGI hotline session 1" 1',
            'GET FULL VARIABLE "${CALLERID(num)}"',
            "GET VARIABLE CHANNEL",
            "GET VARIABLE NOT_SET_ANYWHERE",
            'STREAM FILE beep "0123456789"',
            "GET DATA beep 1500 4",
            'SET VARIABLE HOTLINE_ROUTE "repair"',
            "CHANNEL STATUS",
            "FROBNICATE now",
            "NOOP done",
        ]
        return [(c, await ask(r, w, c)) for c in commands]

    agi = FastAgiServer(script)
    port = await agi.start()
    sim = PbxSimulator(config(tmp_path, port))
    events: list[dict[str, str]] = []
    await sim.start()
    sim.add_listener(events.append)
    await sim.run(1, timeout=60)
    await sim.stop()
    await agi.stop()

    truth = sim.finished[0]
    env = dict(agi.environments[0])
    assert [k for k, _ in agi.environments[0]] == capture_env_keys()
    assert agi.raw_env[0].endswith(b"\n\n") and b"\r" not in agi.raw_env[0]
    assert env["agi_network"] == "yes" and env["agi_network_script"] == "hotline"
    assert env["agi_request"] == f"agi://127.0.0.1:{port}/hotline"
    assert env["agi_channel"] == truth.channel and env["agi_uniqueid"] == truth.call_id
    assert env["agi_type"] == "PJSIP" and env["agi_context"] == "from-pstn"
    assert (env["agi_arg_1"], env["agi_arg_2"]) == (truth.hotline, truth.caller)
    replies = dict(agi.transcripts[0])
    assert replies == {
        "ANSWER": "200 result=0",
        'VERBOSE "FastAGI hotline session 1" 1': "200 result=1",
        'GET FULL VARIABLE "${CALLERID(num)}"': f"200 result=1 ({truth.caller})",
        "GET VARIABLE CHANNEL": f"200 result=1 ({truth.channel})",
        "GET VARIABLE NOT_SET_ANYWHERE": "200 result=0",
        'STREAM FILE beep "0123456789"': "200 result=0 endpos=3404",
        "GET DATA beep 1500 4": "200 result=1 (timeout)",
        'SET VARIABLE HOTLINE_ROUTE "repair"': "200 result=1",
        "CHANNEL STATUS": "200 result=6",
        "FROBNICATE now": "510 Invalid or unknown command",
        "NOOP done": "200 result=0",
    }
    assert truth.queue == "repair" and truth.outcome == "answered" and truth.dtmf == "1"
    starts = [e for e in events if e["Event"] == "AGIExecStart"]
    ends = [e for e in events if e["Event"] == "AGIExecEnd"]
    assert len(starts) == len(ends) == 11
    assert [e["CommandId"] for e in starts] == [e["CommandId"] for e in ends]
    assert ends[9]["ResultCode"] == "510"
    digits = [e for e in events if e["Event"] == "DTMFEnd"]
    assert [(d["Digit"], d["Direction"]) for d in digits] == [("1", "Received")]
    route = [e for e in events if e["Event"] == "VarSet" and e["Variable"] == "HOTLINE_ROUTE"]
    assert route and route[0]["Value"] == "repair"


async def test_caller_hangup_during_agi(tmp_path: Path) -> None:
    async def script(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> list[tuple[str, str]]:
        lines = [("ANSWER", await ask(r, w, "ANSWER"))]
        lines.append(("GET DATA", await ask(r, w, "GET DATA hotline/menu 5000 4")))
        lines.append(("after", (await r.readline()).decode().rstrip("\n")))
        lines.append(("STREAM FILE", await ask(r, w, 'STREAM FILE beep ""')))
        lines.append(("GET VARIABLE", await ask(r, w, "GET VARIABLE UNIQUEID")))
        return lines

    agi = FastAgiServer(script)
    port = await agi.start()
    cfg = config(tmp_path, port, ivr_hangup_prob=1.0, ivr_seconds=(1.0, 1.0),
                 menu_choices={"": 1.0})  # fmt: skip
    sim = PbxSimulator(cfg)
    await sim.start()
    await sim.run(1, timeout=60)
    await sim.stop()
    await agi.stop()
    truth = sim.finished[0]
    assert truth.outcome == "ivr_only" and truth.queue == ""
    assert agi.transcripts[0] == [
        ("ANSWER", "200 result=0"),
        ("GET DATA", "200 result=-1"),
        ("after", "HANGUP"),
        ("STREAM FILE", "511 Command Not Permitted on a dead channel or intercept routine"),
        ("GET VARIABLE", f"200 result=1 ({truth.call_id})"),
    ]


async def test_unreachable_agi_server_falls_back_to_the_default_queue(tmp_path: Path) -> None:
    probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = int(probe.sockets[0].getsockname()[1])
    probe.close()
    await probe.wait_closed()
    sim = PbxSimulator(config(tmp_path, port))
    events: list[dict[str, str]] = []
    await sim.start()
    sim.add_listener(events.append)
    await sim.run(1, timeout=60)
    await sim.stop()
    assert sim.finished[0].queue == "support"
    status = [e for e in events if e["Event"] == "VarSet" and e["Variable"] == "AGISTATUS"]
    assert status[0]["Value"] == "FAILURE"


async def test_a_local_caller_runs_the_agi_on_its_second_half(tmp_path: Path) -> None:
    """As in the capture (agi_channel Local/...;2): the dialplan, so the AGI, runs on ;2;
    the caller hanging up during it is ;1 going first, then ;2."""

    async def script(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> list[tuple[str, str]]:
        lines = [("UNIQUEID", await ask(r, w, "GET VARIABLE UNIQUEID"))]
        lines.append(("LINKEDID", await ask(r, w, "GET VARIABLE CHANNEL(linkedid)")))
        lines.append(("GET DATA", await ask(r, w, "GET DATA hotline/menu 5000 4")))
        lines.append(("after", (await r.readline()).decode().rstrip("\n")))
        return lines

    agi = FastAgiServer(script)
    port = await agi.start()
    cfg = config(tmp_path, port, ivr_hangup_prob=1.0, ivr_seconds=(1.0, 1.0),
                 menu_choices={"": 1.0})  # fmt: skip
    cfg.topology = "local"
    sim = PbxSimulator(cfg)
    events: list[dict[str, str]] = []
    await sim.start()
    sim.add_listener(events.append)
    await sim.run(1, timeout=60)
    await sim.stop()
    await agi.stop()
    truth = sim.finished[0]
    assert truth.outcome == "ivr_only" and truth.channel_id != truth.call_id
    env = dict(agi.environments[0])
    assert env["agi_channel"] == truth.channel and truth.channel.endswith(";2")
    assert (env["agi_type"], env["agi_uniqueid"]) == ("Local", truth.channel_id)
    assert agi.transcripts[0] == [
        ("UNIQUEID", f"200 result=1 ({truth.channel_id})"),
        ("LINKEDID", f"200 result=1 ({truth.call_id})"),
        ("GET DATA", "200 result=-1"),
        ("after", "HANGUP"),
    ]
    hangups = [(e["Channel"][-1], e["Cause"]) for e in events if e["Event"] == "Hangup"]
    assert hangups == [("1", "0"), ("2", "0")]
    rows = [e["Channel"][-1] for e in events if e["Event"] == "Cdr"]
    assert rows == ["1", "2"]
