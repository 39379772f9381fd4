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
    events: list[dict[str, str]] = []
    await sim.start()
    sim.add_listener(events.append)
    await sim.run(1, timeout=60)
    await sim.stop()
    await agi.stop()
    truth = sim.finished[0]
    assert truth.outcome == "ivr_only" and truth.queue == ""
    # res_agi.c: AGISTATUS=HANGUP and AGI() returns -1: the dialplan goes no further
    assert varsets(events, "AGISTATUS") == ["HANGUP"]
    assert agi.transcripts[0] == [
        ("ANSWER", "200 result=0"),
        ("GET DATA", "200 result=-1"),
        ("after", "HANGUP"),
        ("STREAM FILE", "511 Command Not Permitted on a dead channel or intercept routine"),
        ("GET VARIABLE", f"200 result=1 ({truth.call_id})"),
    ]


async def test_unreachable_agi_server_falls_back_to_the_hotlines_own_queue(tmp_path: Path) -> None:
    probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = int(probe.sockets[0].getsockname()[1])
    probe.close()
    await probe.wait_closed()
    cfg = config(tmp_path, port)
    cfg.hotlines = {"4008001000": "repair"}
    sim = PbxSimulator(cfg)
    events: list[dict[str, str]] = []
    await sim.start()
    sim.add_listener(events.append)
    await sim.run(1, timeout=60)
    await sim.stop()
    assert sim.finished[0].queue == "repair"
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


# --- how a session ends: AGISTATUS and the dialplan after it (res_agi.c, extensions.conf) ----


async def run_one(
    tmp_path: Path, script: Script, **cfg: object
) -> tuple[PbxSimulator, FastAgiServer, list[dict[str, str]]]:
    """One call through ``script``; the simulator, the server and every AMI event."""
    agi = FastAgiServer(script)
    port = await agi.start()
    config_ = config(tmp_path, port)
    for key, value in cfg.items():
        setattr(config_, key, value)
    sim = PbxSimulator(config_)
    events: list[dict[str, str]] = []
    await sim.start()
    sim.add_listener(events.append)
    try:
        await sim.run(1, timeout=60)
    finally:
        await sim.stop()
        await agi.stop()
    return sim, agi, events


def varsets(events: list[dict[str, str]], name: str) -> list[str]:
    return [e["Value"] for e in events if e["Event"] == "VarSet" and e["Variable"] == name]


def first(events: list[dict[str, str]], name: str, **fields: str) -> dict[str, str]:
    return next(e for e in events
                if e["Event"] == name and all(e.get(k) == v for k, v in fields.items()))  # fmt: skip


async def test_server_gone_mid_get_data_cuts_the_prompt_and_the_fallback_queue_takes_over(
    tmp_path: Path,
) -> None:
    """The field report: the service died with the caller in the menu. res_agi.c's GET DATA
    watches the socket, so its end cuts the prompt (no reply, no key read), run_agi reads
    the end of the script and AGISTATUS is SUCCESS; the variables the session set stay."""

    async def script(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> list[tuple[str, str]]:
        lines = [("ANSWER", await ask(r, w, "ANSWER"))]
        lines.append(("SET", await ask(r, w, 'SET VARIABLE HOTLINE_DIGITS "7"')))
        w.write(b"GET DATA hotline/menu 5000 1\n")  # and the service dies
        await w.drain()
        return lines

    sim, _, events = await run_one(tmp_path, script, hotlines={"4008001000": "repair"})
    truth = sim.finished[0]
    assert truth.queue == "repair"  # the hotline's own queue (Gosub ARG2), not a hang-up
    assert truth.dtmf == ""  # the caller's planned key was never read: the prompt was cut
    assert varsets(events, "AGISTATUS") == ["SUCCESS"]
    assert varsets(events, "HOTLINE_DIGITS") == ["7"]  # set before the end, still set
    get_data = first(events, "AGIExecStart", Command="GET DATA hotline/menu 5000 1")
    ended = first(events, "AGIExecEnd", CommandId=get_data["CommandId"])
    assert ended["ResultCode"] == "200"
    joined = first(events, "QueueCallerJoin")
    assert float(joined["Timestamp"]) - float(get_data["Timestamp"]) < 0.5  # not 2.5 s on


async def test_server_gone_mid_stream_file_and_half_a_command(tmp_path: Path) -> None:
    async def script(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> list[tuple[str, str]]:
        w.write(b'STREAM FILE beep ""\n')
        await w.drain()
        return []

    sim, _, events = await run_one(tmp_path, script)
    assert sim.finished[0].queue == "support"
    assert varsets(events, "AGISTATUS") == ["SUCCESS"]

    async def half(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> list[tuple[str, str]]:
        w.write(b'SET VARIABLE HOTLINE_ROUTE "repair"')  # no newline: fgets hands it over
        await w.drain()
        return []

    sim, _, events = await run_one(tmp_path / "half", half)
    assert sim.finished[0].queue == "repair"
    assert varsets(events, "HOTLINE_ROUTE") == ["repair"]


async def test_a_new_line_cuts_a_prompt_which_then_replies_nothing(tmp_path: Path) -> None:
    """What a stopping service relies on to hand a caller over at once."""

    async def script(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> list[tuple[str, str]]:
        lines = [("ANSWER", await ask(r, w, "ANSWER"))]
        w.write(b"GET DATA hotline/menu 5000 1\n")
        w.write(b'SET VARIABLE HOTLINE_ROUTE "fallback"\nGET VARIABLE HOTLINE_ROUTE\n')
        await w.drain()
        lines += [("next", (await r.readline()).decode().rstrip("\n")) for _ in range(2)]
        w.write(b"WAIT FOR DIGIT 5000\nNOOP cut\n")
        await w.drain()
        lines += [("next", (await r.readline()).decode().rstrip("\n")) for _ in range(2)]
        return lines

    sim, agi, events = await run_one(tmp_path, script, hotlines={"4008001000": "repair"})
    assert agi.transcripts[0] == [
        ("ANSWER", "200 result=0"),
        ("next", "200 result=1"),  # SET VARIABLE; GET DATA said nothing
        ("next", "200 result=1 (fallback)"),
        ("next", "200 result=1"),  # WAIT FOR DIGIT does reply: 1, "something waiting"
        ("next", "200 result=0"),  # NOOP
    ]
    assert sim.finished[0].queue == "repair" and sim.finished[0].dtmf == ""
    assert varsets(events, "AGISTATUS") == ["SUCCESS"]


async def test_reserved_routes_end_the_call_or_leave_a_message(tmp_path: Path) -> None:
    def ending(*commands: str) -> Script:
        async def script(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> list[tuple[str, str]]:
            return [(c, await ask(r, w, c)) for c in commands]

        return script

    sim, _, events = await run_one(tmp_path / "h", ending('SET VARIABLE HOTLINE_ROUTE "hangup"'))
    assert (sim.finished[0].outcome, sim.finished[0].queue) == ("ivr_only", "")
    assert not [e for e in events if e["Event"] == "QueueCallerJoin"]

    sim, _, events = await run_one(
        tmp_path / "v",
        ending(
            'SET VARIABLE HOTLINE_MAILBOX "200@default"', 'SET VARIABLE HOTLINE_ROUTE "voicemail"'
        ),
    )
    assert (sim.finished[0].outcome, sim.finished[0].queue) == ("voicemail", "")
    assert first(events, "Newexten", Application="VoiceMail")["AppData"] == "200@default,u"

    sim, _, events = await run_one(tmp_path / "f", ending('SET VARIABLE HOTLINE_ROUTE "fallback"'),
                                   hotlines={"4008001000": "repair"})  # fmt: skip
    assert sim.finished[0].queue == "repair"


async def test_server_gone_during_an_answered_dial_ends_the_call_after_it(tmp_path: Path) -> None:
    """EXEC'd applications do not watch the socket: the Dial goes on, the callee answers
    and hangs up (g: the caller comes back), then run_agi reads the end: SUCCESS, no
    route, DIALSTATUS=ANSWER, and the dialplan ends the call instead of queueing it."""

    async def script(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> list[tuple[str, str]]:
        lines = [("ANSWER", await ask(r, w, "ANSWER"))]
        w.write(b'EXEC Dial "PJSIP/1001,20,g"\n')  # and the service dies
        await w.drain()
        return lines

    sim, _, events = await run_one(
        tmp_path, script, traffic=TrafficParams(ivr_hangup_prob=0.0, menu_choices={"": 1.0},
                                                no_answer_prob=0.0, agent_hangup_prob=1.0,
                                                patience_mean_s=10_000.0),
    )  # fmt: skip
    truth = sim.finished[0]
    assert (truth.outcome, truth.queue, truth.agent_interface) == ("answered", "", "PJSIP/1001")
    assert varsets(events, "AGISTATUS") == ["SUCCESS"]
    assert "ANSWER" in varsets(events, "DIALSTATUS")
    assert not [e for e in events if e["Event"] == "QueueCallerJoin"]
