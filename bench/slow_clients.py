"""Slow web clients against a running service (``make demo``): are callers and pages served?

Opens ``--connections`` web connections that each send half a request header and then
nothing, spread over ``--addresses`` loopback source addresses (127.0.0.2, 127.0.0.3, ...;
one address would meet the per-address limit at once, and the point here is the header
timeout). While they are held it times ``GET /healthz`` from 127.0.0.1 and a new FastAGI
session's first command, then waits (at most ``--wait`` seconds) for the server to close
the half-sent requests. Run it with a raised descriptor limit if needed (``ulimit -n``).

Last line, one JSON object: ``opened``, ``refused_at_once`` (closed within a second: over
the per-address limit or the budget), ``healthz_ms`` (each probe), ``agi_first_command_ms``,
``closed_by_server``, ``last_closed_s`` (since the attack was in place), ``still_open``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

import aiohttp

HALF_REQUEST = b"GET /healthz HTTP/1.1\r\nHost: callcenter\r\nUser-Agent: slow"
AGI_ENV = (
    "agi_network: yes\nagi_network_script: hotline\nagi_request: agi://127.0.0.1/hotline\n"
    "agi_channel: PJSIP/trunk-00000001\nagi_uniqueid: 1795731524.1\nagi_callerid: 5550001\n"
    "agi_context: from-pstn\nagi_extension: 4008001000\nagi_arg_1: 4008001000\n"
    "agi_arg_2: 5550001\n\n"
)


Held = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def hold(host: str, port: int, source: str) -> Held | None:
    try:
        reader, writer = await asyncio.open_connection(host, port, local_addr=(source, 0))
        writer.write(HALF_REQUEST)
        await writer.drain()
    except OSError:
        return None
    return reader, writer  # the writer kept: a collected one closes its connection


async def closed_at(reader: asyncio.StreamReader, until: float) -> float | None:
    """When the server closed the connection (monotonic), or ``None`` if it did not."""
    try:
        await asyncio.wait_for(reader.read(), max(0.0, until - time.monotonic()))
    except TimeoutError:
        return None
    except ConnectionError:
        pass
    return time.monotonic()


async def healthz_ms(host: str, port: int) -> float:
    """Milliseconds to an answer; -1: refused or failed (a spent budget refuses it too)."""
    started = time.monotonic()
    timeout = aiohttp.ClientTimeout(total=10)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as http,
            http.get(f"http://{host}:{port}/healthz") as resp,
        ):
            await resp.read()
            if resp.status != 200:
                return -1.0
    except (aiohttp.ClientError, TimeoutError):
        return -1.0
    return (time.monotonic() - started) * 1000


async def agi_first_command_ms(host: str, port: int) -> float:
    """Milliseconds to the first AGI command; -1: none within 10 s (the caller would not
    have reached the IVR)."""
    started = time.monotonic()
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 10)
    except (OSError, TimeoutError):
        return -1.0
    try:
        writer.write(AGI_ENV.encode())
        line = await asyncio.wait_for(reader.readline(), 10)
        return (time.monotonic() - started) * 1000 if line else -1.0
    except (OSError, TimeoutError):
        return -1.0
    finally:
        writer.close()  # the IVR sees a hang-up; the demo records an ended session


async def run(args: argparse.Namespace) -> dict[str, Any]:
    sources = [f"127.0.0.{2 + i}" for i in range(args.addresses)]
    attempts = [
        hold(args.host, args.web_port, sources[i % len(sources)]) for i in range(args.connections)
    ]
    held = [h for h in await asyncio.gather(*attempts) if h is not None]
    in_place = time.monotonic()
    deadline = in_place + args.wait
    closing = [asyncio.ensure_future(closed_at(reader, deadline)) for reader, _ in held]
    probes = []
    for _ in range(args.probes):
        probes.append(round(await healthz_ms(args.host, args.web_port), 1))
    agi_ms = round(await agi_first_command_ms(args.host, args.agi_port), 1)
    ends = await asyncio.gather(*closing)
    for _, writer in held:
        writer.close()
    closed = [t - in_place for t in ends if t is not None]
    return {
        "opened": len(held),
        "refused_at_once": sum(1 for t in closed if t < 1.0),
        "healthz_ms": probes,
        "agi_first_command_ms": agi_ms,
        "closed_by_server": len(closed),
        "last_closed_s": round(max(closed), 2) if closed else None,
        "still_open": sum(1 for t in ends if t is None),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--web-port", type=int, default=8080)
    parser.add_argument("--agi-port", type=int, default=4573)
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--addresses", type=int, default=10)
    parser.add_argument("--probes", type=int, default=5)
    parser.add_argument("--wait", type=float, default=30.0)
    print(json.dumps(asyncio.run(run(parser.parse_args()))))


if __name__ == "__main__":
    main()
