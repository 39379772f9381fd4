"""FastAGI load: 900 concurrent calls walking the hotline flow, plus 10% bad connections.

The simulated Asterisk runs in its own process (the server's loop is not shared with it) and
is a thin ``asyncio.Protocol`` per session: it sends the ``agi_*`` environment and answers
each command after the time a real channel would take (a prompt's length, the caller's
typing; ``--time-scale`` 1.0 = real time), nothing else. A command turn is timed in the
client from the moment a reply is written to the moment the server's next command arrives
(``data_received``, before any other work): the server's reply time plus loopback. Session
starts are spread evenly over ``--ramp`` seconds, shorter than a session lasts, so that all
sessions are open at once (``concurrent_max`` reports it). The extra connections, spread
over the same ramp, are half-open (part of the environment, then silence) or send garbage.

The baseline is a bare FastAGI server in the same run that answers each reply with the next
command of a fixed script of the same shape as a menu walk (no flow, no engine), under the
same load from a fresh client process. A stall is a turn over 100 ms, or a session that did
not finish. Last line: one JSON object with ``sessions``, ``p50_ms``, ``p99_ms``, ``stalls``,
``baseline_p99_ms``, ``ratio``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import multiprocessing
import os
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from callcenter.ivr.agi_session import IvrSessions  # noqa: E402
from callcenter.ivr.registry import FlowRegistry  # noqa: E402
from callcenter.log import configure_logging  # noqa: E402
from callcenter.log_settings import LoggingSettings  # noqa: E402
from callcenter.telephony.agi_codec import AgiProtocolError, EnvironmentReader  # noqa: E402
from callcenter.telephony.fastagi import FastAgiServer  # noqa: E402

STALL_S = 0.1
MENU = {"1": 0.3, "2": 0.2, "3": 0.15, "4": 0.1, "0": 0.1, "": 0.15}
SESSION_LIMIT_S = 120.0  # a session not ended by then is a stall


def environment(i: int) -> bytes:
    lines = {
        "agi_network": "yes", "agi_network_script": "hotline",
        "agi_request": "agi://127.0.0.1:4573/hotline", "agi_channel": f"PJSIP/trunk-{i:08x}",
        "agi_language": "en", "agi_type": "PJSIP", "agi_uniqueid": f"1795731524.{i}",
        "agi_version": "22.10.1", "agi_callerid": f"138{i:08d}", "agi_calleridname": "PSTN",
        "agi_context": "from-pstn", "agi_extension": "4008001000", "agi_priority": "5",
        "agi_arg_1": "4008001000", "agi_arg_2": f"138{i:08d}",
    }  # fmt: skip
    return ("".join(f"{k}: {v}\n" for k, v in lines.items()) + "\n").encode()


@dataclass
class Tally:
    turns: list[float] = field(default_factory=list)
    open_now: int = 0
    open_max: int = 0
    ended: int = 0
    cut: int = 0  # connection lost with an error


class FakeAsterisk(asyncio.Protocol):
    """Asterisk's side of one call: replies after a prompt's length or the caller's typing."""

    def __init__(self, i: int, scale: float, rng: random.Random, tally: Tally) -> None:
        self.i = i
        self.scale = scale
        self.rng = rng
        self.tally = tally
        self.key = rng.choices(list(MENU), weights=list(MENU.values()))[0]
        self.buf = b""
        self.sent = 0.0
        self.transport: asyncio.Transport | None = None
        self.loop = asyncio.get_running_loop()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.tally.open_now += 1
        self.tally.open_max = max(self.tally.open_max, self.tally.open_now)
        transport.write(environment(self.i))

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()  # first thing: the command's arrival
        if self.sent:
            self.tally.turns.append(now - self.sent)
            self.sent = 0.0
        self.buf += data
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            self.answer(line.decode().strip())

    def answer(self, cmd: str) -> None:
        delay = 0.0
        if cmd.startswith(("STREAM FILE", "SAY")):
            delay, reply = self.rng.uniform(1.5, 4.0), "200 result=0 endpos=20000"
        elif cmd.startswith("GET DATA"):
            delay = self.rng.uniform(2.5, 6.0)
            reply = f"200 result={self.key}" if self.key else "200 result= (timeout)"
            self.key = "31201" if self.key == "3" else ""
        elif cmd.startswith("GET VARIABLE"):
            reply = "200 result=0"
        else:
            reply = "200 result=1" if cmd.startswith(("SET", "HANGUP")) else "200 result=0"
        if delay:
            self.loop.call_later(delay * self.scale, self.reply, reply)
        else:
            self.reply(reply)

    def reply(self, text: str) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(f"{text}\n".encode())
            self.sent = time.perf_counter()

    def connection_lost(self, exc: Exception | None) -> None:
        self.tally.open_now -= 1
        self.tally.ended += 1
        self.tally.cut += exc is not None


async def bad_connection(port: int, i: int, hold_s: float) -> None:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        if i % 2:
            writer.write(b"agi_network: yes\nagi_chan")  # half-open: then silence
        else:
            writer.write(b"\x16\x03\x01\x02\x00garbage\r\n\r\n")
        await asyncio.sleep(hold_s)
        writer.close()
    except ConnectionError:
        pass


async def load(
    port: int, sessions: int, scale: float, seed: int, ramp_s: float
) -> dict[str, object]:
    loop = asyncio.get_running_loop()
    tally = Tally()
    bad_tasks: list[asyncio.Task[None]] = []
    started = time.perf_counter()
    gap = ramp_s / max(1, sessions)
    for i in range(sessions):  # evenly spread: no bunching of arrivals
        await asyncio.sleep(max(0.0, started + i * gap - time.perf_counter()))
        rng = random.Random(f"{seed}:{i}")
        await loop.create_connection(
            lambda i=i, rng=rng: FakeAsterisk(i, scale, rng, tally),  # type: ignore[misc]
            "127.0.0.1",
            port,
        )
        if i % 10 == 5:
            bad_tasks.append(asyncio.create_task(bad_connection(port, i // 10, 3.0)))
    deadline = time.perf_counter() + SESSION_LIMIT_S
    while tally.ended < sessions and time.perf_counter() < deadline:
        await asyncio.sleep(0.1)
    await asyncio.gather(*bad_tasks)
    return {"turns": tally.turns, "unfinished": sessions - tally.ended, "cut": tally.cut,
            "concurrent_max": tally.open_max, "bad": len(bad_tasks)}  # fmt: skip


def _asterisk(port: int, args: argparse.Namespace, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    """The simulated Asterisk, in its own process so it does not share the server's loop."""
    gc.disable()  # the measuring side must not pause (it lives for one run only)
    out.put(asyncio.run(load(port, args.sessions, args.time_scale, args.seed, args.ramp)))


async def load_from_process(port: int, args: argparse.Namespace) -> dict[str, object]:
    """Runs the load in a fresh process; adds the server's CPU time spent meanwhile."""
    cpu = time.process_time()
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_asterisk, args=(port, args, queue))
    proc.start()
    result: dict[str, object] = await asyncio.get_running_loop().run_in_executor(None, queue.get)
    proc.join()
    result["server_cpu_s"] = time.process_time() - cpu
    return result


class EchoServer:
    """The baseline: a bare FastAGI server running a fixed script, nothing else."""

    SCRIPT = ('GET VARIABLE "CHANNEL(linkedid)"', "ANSWER", 'STREAM FILE "welcome" ""',
              'GET DATA "main_menu" "5000" "1"', 'STREAM FILE "connecting" ""',
              'SET VARIABLE "HOTLINE_ROUTE" "repair"')  # fmt: skip

    async def start(self) -> int:
        self.server = await asyncio.start_server(self.session, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:  # the environment read as our server reads it: one deadline for all of it
            await asyncio.wait_for(self.environment(reader), 1.0)
            for cmd in self.SCRIPT:
                writer.write(f"{cmd}\n".encode())
                await writer.drain()
                if not await reader.readline():
                    break
        except (TimeoutError, ConnectionError, AgiProtocolError):
            pass
        writer.close()

    @staticmethod
    async def environment(reader: asyncio.StreamReader) -> None:
        env = EnvironmentReader()
        while not env.done:
            line = await reader.readline()
            if not line.endswith(b"\n"):
                raise AgiProtocolError("closed before the end of the environment")
            env.feed(line)


def pct(values: list[float], q: float) -> float:
    if len(values) < 2:
        return 0.0
    return statistics.quantiles(values, n=1000)[int(q * 1000) - 1] * 1000


def summary(name: str, got: dict[str, object]) -> tuple[list[float], int]:
    turns = got["turns"]
    assert isinstance(turns, list)
    unfinished = int(str(got["unfinished"]))
    stalls = unfinished + sum(1 for t in turns if t > STALL_S)
    cpu_ms = float(str(got["server_cpu_s"])) * 1000 / max(1, len(turns))
    print(f"{name}: turns {len(turns)}, p50 {pct(turns, 0.5):.2f} ms, p99 {pct(turns, 0.99):.2f} "
          f"ms, max {max(turns, default=0) * 1000:.1f} ms, stalls {stalls}, unfinished "
          f"{unfinished}, concurrent max {got['concurrent_max']}, bad {got['bad']}, "
          f"server cpu {cpu_ms:.3f} ms/turn, load average {os.getloadavg()[0]:.2f}")  # fmt: skip
    return turns, stalls


async def main_async(args: argparse.Namespace) -> dict[str, object]:
    registry = FlowRegistry(ROOT / "ivr_flows", queues={"support", "repair", "complaint"})
    if registry.reload():
        raise SystemExit("the shipped flows do not validate")
    sessions = IvrSessions(flows=registry, lookup=None, on_event=lambda e: None)
    server = FastAgiServer("127.0.0.1", 0, sessions, header_timeout_s=1.0)
    await server.start()
    echo = EchoServer()
    echo_port = await echo.start()
    # Alternating rounds, so that a busy neighbour on this shared machine weighs on both
    # sides alike; the figures are the median over rounds of each round's percentiles.
    ours: list[tuple[list[float], int]] = []
    base: list[tuple[list[float], int]] = []
    for r in range(args.rounds):
        base.append(summary(f"round {r + 1} baseline", await load_from_process(echo_port, args)))
        ours.append(summary(f"round {r + 1} server", await load_from_process(server.port, args)))
    echo.server.close()
    await server.close()
    print(f"server stats {server.stats}")
    p50 = statistics.median(pct(t, 0.5) for t, _ in ours)
    p99 = statistics.median(pct(t, 0.99) for t, _ in ours)
    base_p99 = statistics.median(pct(t, 0.99) for t, _ in base)
    return {
        "sessions": args.sessions,
        "p50_ms": round(p50, 3),
        "p99_ms": round(p99, 3),
        "stalls": sum(stalls for _, stalls in ours),
        "baseline_p99_ms": round(base_p99, 3),
        "ratio": round(p99 / base_p99, 2) if base_p99 else None,
        "rounds": args.rounds,
        "turns": sum(len(t) for t, _ in ours),
        "baseline_stalls": sum(stalls for _, stalls in base),
        "refused": server.stats["refused"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sessions", type=int, default=900)
    parser.add_argument("--time-scale", type=float, default=1.0,
                        help="real seconds per second of prompt or typing")  # fmt: skip
    parser.add_argument("--ramp", type=float, default=5.0,
                        help="seconds over which the sessions start")  # fmt: skip
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    configure_logging(LoggingSettings(level="warning"))
    result = asyncio.run(main_async(parser.parse_args()))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
