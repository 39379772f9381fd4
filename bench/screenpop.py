"""Screen-pop latency: from the AgentCalled frame on the AMI socket to the pop frame at the
ringing seat's websocket client, with 100k owners, 50 seats connected and ~90 calls up.

Set-up, all in one process over real TCP: the PBX simulator (50 agents PJSIP/1001..1050,
90 lines, traffic well above what 50 agents can take, so the lines stay full) -> our
AmiClient -> translate -> CtiFeature (Popper + SeatHub) -> aiohttp websocket -> 50 aiohttp
websocket clients, one per signed-in agent. t0 is taken when the AmiClient hands over the
parsed AgentCalled message, t1 when the seat's client has the frame.

Each caller becomes a known owner (added to the index when the call is created, long before
any agent rings), so every pop carries a full owner card. ``lookup_p99_ms`` times the
in-memory lookup inside the pops; the baseline, measured in the same run on the same
numbers, is the SQL lookup a pop would otherwise make (phones -> owners -> units on the
indexed tables): ``ratio`` = baseline p99 / lookup p99. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402
from sqlalchemy import select  # noqa: E402

from callcenter.core.events import ChannelCreated, ChannelHungUp  # noqa: E402
from callcenter.cti.accounts import hash_password  # noqa: E402
from callcenter.cti.feature import CtiFeature  # noqa: E402
from callcenter.cti.owners import Owner, OwnerRecord, PhoneEntry, Unit  # noqa: E402
from callcenter.cti.phones import lookup_key  # noqa: E402
from callcenter.cti.signin import SESSION_COOKIE  # noqa: E402
from callcenter.cti.store import owners_table, phones_table, units_table  # noqa: E402
from callcenter.db import create_engine_for, upgrade  # noqa: E402
from callcenter.sim import TrafficParams, default_queues  # noqa: E402
from callcenter.telephony.ami import AmiClient  # noqa: E402
from callcenter.telephony.ami_events import translate  # noqa: E402
from callcenter.testing import running_simulator  # noqa: E402

SEATS = 50
FLOOR_P99_MS = 20.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def owner_records(count: int, rng: random.Random) -> list[OwnerRecord]:
    records = []
    for n in range(count):
        number = f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"
        records.append(
            OwnerRecord(
                code=f"O{n:06d}",
                name=f"业主{n}",
                zone=f"{n % 20 + 1}区",
                housekeeper=f"管家{n % 20 + 1}",
                vip=n % 50 == 0,
                arrears_cents=(n % 7) * 10000,
                units=[Unit(f"{n % 40 + 1}栋", f"{n % 4 + 1}单元", f"{n % 3000 + 101}")],
                phones=[PhoneEntry(number)],
            )
        )
    return records


async def run(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="screenpop-"))
    url = f"sqlite:///{work / 'cc.db'}"
    upgrade(url)
    engine = create_engine_for(url)
    cti = CtiFeature(engine)
    started = time.perf_counter()
    counts, _ = cti.directory.repository.import_owners(owner_records(args.owners, rng))
    print(
        f"imported {counts.created} owners in {time.perf_counter() - started:.1f}s", file=sys.stderr
    )
    await cti.start()
    shared_hash = hash_password("bench-password")
    tokens = {}
    for ext in range(1001, 1001 + SEATS):
        user = cti.accounts.add_user(
            f"agent{ext}", "agent", "", interface=f"PJSIP/{ext}", agent=f"Agent {ext}",
            password_hash=shared_hash,
        )  # fmt: skip
        tokens[user.interface], _ = cti.accounts.create_session(user, 3600)

    lookup_ms: list[float] = []
    find = cti.directory.find

    def timed_find(number: str) -> tuple[Owner, ...]:
        t = time.perf_counter()
        found = find(number)
        lookup_ms.append((time.perf_counter() - t) * 1000)
        return found

    cti.popper._lookup = timed_find
    rang_at: dict[tuple[str, str], float] = {}
    open_calls: set[str] = set()
    peak = 0
    next_id = [10_000_000]

    def on_message(message: dict[str, str]) -> None:
        nonlocal peak
        if message.get("Event") == "AgentCalled":
            rang_at[(message["Linkedid"], message["Interface"])] = time.perf_counter()
        event = translate(message, "sim")
        if event is None:
            return
        if isinstance(event, ChannelCreated) and event.channel_id == event.call_id:
            open_calls.add(event.call_id)
            peak = max(peak, len(open_calls))
            if event.caller_number and not find(event.caller_number):
                next_id[0] += 1
                cti.directory.index.upsert(
                    [Owner(next_id[0], f"S{next_id[0]}", "来电业主", zone="1区", housekeeper="管家1",
                           units=(Unit("1栋", "1单元", "101"),), phones=(PhoneEntry(event.caller_number),))]
                )  # fmt: skip
        elif isinstance(event, ChannelHungUp) and event.channel_id == event.call_id:
            open_calls.discard(event.call_id)
        cti.on_event(event)

    app = web.Application()
    cti.routes(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    base = f"http://127.0.0.1:{port}"
    latencies: list[float] = []
    # The PBX runs in a process of its own, as Asterisk would: its work does not share our loop.
    sim = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--serve-sim", str(work / "pbx"), "--seed", str(args.seed),
        "--speed", str(args.speed), "--calls-per-hour", str(args.calls_per_hour),
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert sim.stdout is not None
    sim_port = int((await sim.stdout.readline()).decode().strip())
    try:
        ami = AmiClient("127.0.0.1", sim_port, "callcenter", "s", on_event=on_message)
        await ami.start()
        sessions = []
        sockets = []
        for interface, token in tokens.items():
            http = aiohttp.ClientSession(headers={"Cookie": f"{SESSION_COOKIE}={token}"})
            sessions.append(http)
            sockets.append((interface, await http.ws_connect(f"{base}/ws/seat")))

        async def listen(interface: str, ws: aiohttp.ClientWebSocketResponse) -> None:
            async for message in ws:
                received = time.perf_counter()
                frame = json.loads(message.data)
                if frame.get("type") == "pop" and frame["state"] == "ringing":
                    sent = rang_at.get((frame["call_id"], interface))
                    if sent is not None:
                        latencies.append((received - sent) * 1000)

        tasks = [asyncio.create_task(listen(i, ws)) for i, ws in sockets]
        assert sim.stdin is None
        sim.send_signal(signal.SIGUSR1)  # start the traffic now that every seat is connected
        deadline = time.monotonic() + args.seconds
        while time.monotonic() < deadline and len(latencies) < args.pops:
            await asyncio.sleep(0.2)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for _, ws in sockets:
            await ws.close()
        for http in sessions:
            await http.close()
        await ami.close()
    finally:
        sim.terminate()
        await sim.wait()
    await runner.cleanup()

    # Baseline: the same numbers looked up in SQL, as a pop without the index would.
    numbers = [
        k for k in (lookup_key(n) for n in list(cti.directory.index._by_key)[: args.pops]) if k
    ]
    sql_ms: list[float] = []
    query = (
        select(owners_table, units_table.c.building, units_table.c.unit, units_table.c.room)
        .join(phones_table, phones_table.c.owner_id == owners_table.c.id)
        .outerjoin(units_table, units_table.c.owner_id == owners_table.c.id)
    )
    with engine.connect() as connection:
        for number in numbers:
            t = time.perf_counter()
            connection.execute(query.where(phones_table.c.number_key == number)).all()
            sql_ms.append((time.perf_counter() - t) * 1000)
    await cti.stop()
    engine.dispose()
    lookup_p99 = percentile(lookup_ms, 0.99)
    sql_p99 = percentile(sql_ms, 0.99)
    return {
        "pops": len(latencies),
        "owners": len(cti.directory.index),
        "seats": SEATS,
        "peak_concurrent_calls": peak,
        "p50_ms": round(statistics.median(latencies), 3),
        "p99_ms": round(percentile(latencies, 0.99), 3),
        "max_ms": round(max(latencies), 3),
        "lookup_p99_ms": round(lookup_p99, 4),
        "baseline_sql_lookup_p99_ms": round(sql_p99, 4),
        "ratio": round(sql_p99 / lookup_p99, 1) if lookup_p99 else None,
        "floor_p99_ms": FLOOR_P99_MS,
        "meets_floor": percentile(latencies, 0.99) < FLOOR_P99_MS,
    }


async def serve_sim(args: argparse.Namespace) -> None:
    """The simulator process: print the AMI port, start traffic on SIGUSR1, stop on SIGTERM."""
    traffic = TrafficParams(peak_calls_per_hour=args.calls_per_hour, no_answer_prob=0.15)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    async with running_simulator(
        args.serve_sim, seed=args.seed, speed=args.speed, secret="s", lines=90,
        queues=default_queues(SEATS), traffic=traffic,
    ) as pbx:  # fmt: skip
        loop.add_signal_handler(signal.SIGUSR1, lambda: pbx.start_traffic(None))
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        print(pbx.ami_port, flush=True)
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--owners", type=int, default=100_000)
    parser.add_argument("--pops", type=int, default=1000, help="stop after this many pops")
    parser.add_argument("--seconds", type=float, default=90.0, help="or after this long")
    parser.add_argument("--speed", type=float, default=10.0, help="simulated seconds per second")
    parser.add_argument("--calls-per-hour", type=float, default=4000.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--serve-sim", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_sim:
        asyncio.run(serve_sim(args))
        return
    result = asyncio.run(run(args))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
