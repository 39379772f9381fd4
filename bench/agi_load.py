"""FastAGI load: 900 concurrent calls walking the hotline flow, plus 10% bad connections.

Each simulated Asterisk session sends the ``agi_*`` environment and answers every command
after the time a real channel would take (a prompt's length, the caller's typing), scaled
by ``--time-scale``. A command turn is timed from the moment Asterisk's reply is written to
the moment the server's next command arrives: the server's own work per turn. The extra
connections are half-open (part of the environment, then silence) or send garbage.

The baseline is a bare FastAGI server in the same run that answers each reply with the next
command of a fixed script (no flow, no engine), under the same load. A stall is a turn over
100 ms, or a session that did not finish. Last line: one JSON object with ``sessions``,
``p50_ms``, ``p99_ms``, ``stalls``, ``baseline_p99_ms``, ``ratio``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from callcenter.config import LoggingSettings  # noqa: E402
from callcenter.ivr.registry import FlowRegistry  # noqa: E402
from callcenter.log import configure_logging  # noqa: E402
from callcenter.telephony.fastagi import FastAgiServer  # noqa: E402

STALL_S = 0.1
MENU = {"1": 0.3, "2": 0.2, "3": 0.15, "4": 0.1, "0": 0.1, "": 0.15}


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


async def caller(
    port: int, i: int, scale: float, turns: list[float], rng: random.Random, ramp_s: float
) -> bool:
    """One call; True when the server ended the session."""
    await asyncio.sleep(rng.uniform(0, ramp_s))  # calls arrive over a ramp, as on a trunk
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(environment(i))
    await writer.drain()
    key = rng.choices(list(MENU), weights=list(MENU.values()))[0]
    sent = 0.0
    try:
        while True:
            line = await asyncio.wait_for(reader.readline(), 30)
            if sent:
                turns.append(time.perf_counter() - sent)
            if not line:
                return True
            cmd = line.decode().strip()
            if cmd.startswith("STREAM FILE") or cmd.startswith("SAY"):
                await asyncio.sleep(rng.uniform(1.5, 4.0) * scale)
                reply = "200 result=0 endpos=20000"
            elif cmd.startswith("GET DATA"):
                await asyncio.sleep(rng.uniform(2.5, 6.0) * scale)
                reply = f"200 result={key}" if key else "200 result= (timeout)"
                key = "31201" if key == "3" else ""
            elif cmd.startswith("GET VARIABLE"):
                reply = "200 result=0"
            elif cmd == "HANGUP":
                reply = "200 result=1"
            else:
                reply = "200 result=1" if cmd.startswith("SET") else "200 result=0"
            writer.write(f"{reply}\n".encode())
            await writer.drain()
            sent = time.perf_counter()
    except (TimeoutError, ConnectionError):
        return False
    finally:
        writer.close()


async def bad_connection(port: int, i: int, hold_s: float) -> None:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        if i % 2:
            writer.write(b"agi_network: yes\nagi_chan")  # half-open: then silence
        else:
            writer.write(b"\x16\x03\x01\x02\x00garbage\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(hold_s)
        writer.close()
    except ConnectionError:
        pass


class EchoServer:
    """The baseline: a bare FastAGI server running a fixed script, nothing else."""

    SCRIPT = ("ANSWER", 'STREAM FILE "welcome" ""', 'GET DATA "menu" "5000" "1"',
              'SET VARIABLE "HOTLINE_ROUTE" "support"')  # fmt: skip

    async def start(self) -> int:
        self.server = await asyncio.start_server(self.session, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while (await asyncio.wait_for(reader.readline(), 5)) not in (b"\n", b""):
                pass
            for cmd in self.SCRIPT:
                writer.write(f"{cmd}\n".encode())
                await writer.drain()
                if not await reader.readline():
                    break
        except (TimeoutError, ConnectionError):
            pass
        writer.close()


async def load(port: int, sessions: int, scale: float, seed: int) -> tuple[list[float], int]:
    turns: list[float] = []
    rng = random.Random(seed)
    ramp = 4.0
    bad = [bad_connection(port, i, 2.0) for i in range(sessions // 10)]
    calls = [caller(port, i, scale, turns, rng, ramp) for i in range(sessions)]
    results = await asyncio.gather(*calls, *bad)
    unfinished = sum(1 for r in results[:sessions] if r is not True)
    return turns, unfinished


def _asterisk(
    port: int, sessions: int, scale: float, seed: int, out: multiprocessing.Queue
) -> None:  # type: ignore[type-arg]
    """The simulated Asterisk, in its own process so it does not share the server's loop."""
    out.put(asyncio.run(load(port, sessions, scale, seed)))


async def load_from_process(port: int, args: argparse.Namespace) -> tuple[list[float], int]:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(
        target=_asterisk, args=(port, args.sessions, args.time_scale, args.seed, queue)
    )
    proc.start()
    while queue.empty():
        await asyncio.sleep(0.05)
    result: tuple[list[float], int] = queue.get()
    proc.join()
    return result


def pct(values: list[float], q: float) -> float:
    return (
        statistics.quantiles(values, n=1000)[int(q * 1000) - 1] * 1000 if len(values) > 1 else 0.0
    )


async def main_async(args: argparse.Namespace) -> dict[str, object]:
    echo = EchoServer()
    echo_port = await echo.start()
    base_turns, _ = await load_from_process(echo_port, args)
    echo.server.close()

    registry = FlowRegistry(ROOT / "ivr_flows", queues={"support", "repair", "complaint"})
    if registry.reload():
        raise SystemExit("the shipped flows do not validate")
    server = FastAgiServer("127.0.0.1", 0, flows=registry, lookup=None, on_event=lambda e: None,
                           header_timeout_s=1.0)  # fmt: skip
    await server.start()
    turns, unfinished = await load_from_process(server.port, args)
    await server.close()
    stalls = unfinished + sum(1 for t in turns if t > STALL_S)
    p99, base_p99 = pct(turns, 0.99), pct(base_turns, 0.99)
    print(f"sessions {args.sessions} (+{args.sessions // 10} bad), turns {len(turns)}, "
          f"p50 {pct(turns, 0.5):.2f} ms, p99 {p99:.2f} ms, max {max(turns) * 1000:.1f} ms; "
          f"baseline p99 {base_p99:.2f} ms; server stats {server.stats}")  # fmt: skip
    return {
        "sessions": args.sessions,
        "p50_ms": round(pct(turns, 0.5), 3),
        "p99_ms": round(p99, 3),
        "stalls": stalls,
        "baseline_p99_ms": round(base_p99, 3),
        "ratio": round(p99 / base_p99, 2) if base_p99 else None,
        "turns": len(turns),
        "refused": server.stats["refused"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=900)
    parser.add_argument("--time-scale", type=float, default=0.2,
                        help="real seconds per second of prompt or typing")  # fmt: skip
    parser.add_argument("--seed", type=int, default=1)
    configure_logging(LoggingSettings(level="warning"))
    result = asyncio.run(main_async(parser.parse_args()))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
