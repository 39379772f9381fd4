"""Soak: the service against the PBX simulator at ten times the hotline's 90 lines, with the
AMI link cut again and again, then every call reconciled.

Three processes, so that the service's loop is shared with nothing else:
- the simulator (``--lines`` lines, static agents, the simulator's own menu, arrivals raised
  until about ``--lines`` lines are busy), which cuts every AMI client ``--ami-cuts`` times
  spread over the run (every other cut refuses logins for 1.5 s, so whole calls begin and
  end unseen) and notes when it writes each ``Hangup`` event (CLOCK_MONOTONIC, shared by
  all processes on the machine);
- this one: the service (SQLite by default, ``--database-url`` for PostgreSQL), which
  notes when each live ``Hangup`` has passed the call tracker and every event listener,
  and when each call's record is committed to the database;
- the baseline, in the same run: a bare AMI reader (asyncio stream, split on blank lines,
  nothing translated, tracked or stored) logged in to the same simulator, which notes when
  each ``Hangup`` reaches it.

``p99_ms``: from the simulator writing a ``Hangup`` to the service having applied it (call
records closed, screen-pops, wallboard and live counters told), over every ``Hangup`` that
arrived over a live link; ``baseline_p99_ms`` the same for the bare reader; ``ratio`` =
p99_ms / baseline_p99_ms. ``record_p99_ms``: from a call's last ``Hangup`` to its record
committed. ``cpu_pct`` and ``rss_mb`` (peak) are this process's (the service), from /proc.
``lost`` and ``duplicated`` are counted in the database against the simulator's own list
of calls; the records are also checked against its queue_log and CDR (``mismatches``,
``missing``, ``unexpected``) and its account of each call (``truth_mismatches``).
Floors: lost = 0, duplicated = 0. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import io
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from callcenter.config import Settings, SimulatorSettings  # noqa: E402
from callcenter.core.call_record import CallRecord  # noqa: E402
from callcenter.core.events import ChannelHungUp, Event  # noqa: E402
from callcenter.demo import (  # noqa: E402
    DemoOptions,
    cut_link_during_traffic,
    linked_settings,
    simulator_config,
)
from callcenter.demo_check import summarise_run  # noqa: E402
from callcenter.log import configure_logging  # noqa: E402
from callcenter.log_settings import LoggingSettings  # noqa: E402
from callcenter.service import Service  # noqa: E402
from callcenter.sim import PbxSimulator  # noqa: E402
from callcenter.telephony.settings import AmiSettings, PbxSettings  # noqa: E402

SECRET = "soak-secret"
LONG_CUT_S = 1.5  # cut_link_during_traffic: every other cut refuses logins this long


def bench_settings(args: argparse.Namespace, records_dir: Path) -> Settings:
    """The same settings in every process: the simulator's and the service's."""
    base = Settings()
    return dataclasses.replace(
        base,
        pbxes=[
            PbxSettings(
                name="main",
                ami=AmiSettings(secret=SECRET, backoff_initial_s=0.05, backoff_max_s=0.5),
            )
        ],
        simulator=SimulatorSettings(
            enabled=True,
            seed=args.seed,
            speed=args.speed,
            peak_calls_per_hour=args.calls_per_hour,
            lines=args.lines,
            agents=args.agents,
            records_dir=str(records_dir),
        ),
        targets=dataclasses.replace(base.targets, line_capacity=args.lines),
        database=dataclasses.replace(
            base.database, url=args.database_url or f"sqlite:///{records_dir / 'soak.db'}"
        ),
        fastagi=dataclasses.replace(base.fastagi, port=0),
        recordings=dataclasses.replace(base.recordings, root=str(records_dir / "recordings")),
        logging=dataclasses.replace(base.logging, level=args.log_level, call_lines=False),
    )


def options(args: argparse.Namespace) -> DemoOptions:
    return DemoOptions(
        headless=True, calls=args.calls, seed=args.seed, speed=args.speed, plain=True,
        cuts=args.ami_cuts, lines=args.lines, timeout_s=args.timeout,
    )  # fmt: skip


def cpu_seconds() -> float:
    """This process's user + system CPU time, from /proc/self/stat."""
    fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def percentile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 2)


# --- the simulator's process --------------------------------------------------------------


def simulator_process(conn: Connection, args: argparse.Namespace, records_dir: str) -> None:
    asyncio.run(_simulate(conn, args, Path(records_dir)))


async def _simulate(conn: Connection, args: argparse.Namespace, records_dir: Path) -> None:
    settings = bench_settings(args, records_dir)
    simulator = PbxSimulator(simulator_config(settings, options(args), records_dir))
    hangups: dict[str, float] = {}  # Uniqueid -> when its Hangup was written
    call_ends: dict[str, float] = {}  # Linkedid -> when its last Hangup was written

    def note(event: dict[str, Any]) -> None:
        if event.get("Event") == "Hangup":
            hangups[event["Uniqueid"]] = call_ends[event["Linkedid"]] = time.monotonic()

    simulator.add_listener(note)
    await simulator.start()
    conn.send(("ready", simulator.ami_port))
    assert await asyncio.to_thread(conn.recv) == "go"
    cpu0, wall0 = cpu_seconds(), time.monotonic()
    lines: list[int] = []
    steady: list[int] = []  # while calls keep arriving, after the first tenth of them

    async def sample_lines() -> None:
        while True:
            lines.append(simulator.pbx.lines_in_use)
            if args.calls // 10 <= simulator.generated < args.calls:
                steady.append(lines[-1])
            await asyncio.sleep(0.1)

    sampler = asyncio.get_running_loop().create_task(sample_lines())
    deadline = time.monotonic() + args.timeout
    simulator.start_traffic(args.calls)
    await cut_link_during_traffic(simulator, args.calls, args.ami_cuts, deadline)
    await asyncio.wait_for(simulator.wait_finished(), max(1.0, deadline - time.monotonic()))
    sampler.cancel()
    conn.send((
        "done",
        {
            "generated": simulator.generated,
            "truth": list(simulator.finished),
            "hangups": hangups,
            "call_ends": call_ends,
            "lines_peak": max(lines, default=0),
            "lines_median": int(statistics.median(steady)) if steady else 0,
            "cpu_pct": round(100 * (cpu_seconds() - cpu0) / (time.monotonic() - wall0), 1),
        },
    ))  # fmt: skip
    assert await asyncio.to_thread(conn.recv) == "stop"
    await simulator.stop()


# --- the baseline's process: a bare AMI reader ----------------------------------------------


def reader_process(conn: Connection, port: int) -> None:
    asyncio.run(_read(conn, port))


async def _read(conn: Connection, port: int) -> None:
    arrived: dict[str, float] = {}
    stop = asyncio.Event()

    async def session() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(f"Action: Login\r\nUsername: callcenter\r\nSecret: {SECRET}\r\n\r\n".encode())
        buffer = b""
        while chunk := await reader.read(65536):
            now = time.monotonic()
            buffer += chunk
            *messages, buffer = buffer.split(b"\r\n\r\n")
            for message in messages:
                if message.startswith(b"Event: Hangup\r\n"):
                    start = message.index(b"\r\nUniqueid: ") + 12
                    end = message.find(b"\r\n", start)
                    arrived[message[start : end if end > 0 else None].decode()] = now
        writer.close()

    async def keep_reading() -> None:
        while not stop.is_set():
            with contextlib.suppress(OSError):
                await session()
            await asyncio.sleep(0.05)  # the cut refuses logins for a while: try again

    task = asyncio.get_running_loop().create_task(keep_reading())
    assert await asyncio.to_thread(conn.recv) == "stop"
    stop.set()
    task.cancel()
    conn.send(arrived)


# --- this process: the service --------------------------------------------------------------


async def soak(args: argparse.Namespace, records_dir: Path) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    sim_conn, sim_child = ctx.Pipe()
    simulator = ctx.Process(target=simulator_process, args=(sim_child, args, str(records_dir)))
    simulator.start()
    kind, port = await asyncio.to_thread(sim_conn.recv)
    assert kind == "ready"
    read_conn, read_child = ctx.Pipe()
    reader = ctx.Process(target=reader_process, args=(read_child, port))
    reader.start()

    settings = linked_settings(bench_settings(args, records_dir), port, records_dir)
    service = Service(settings, managed_queues=set(), web_enabled=False, call_lines=io.StringIO())
    applied: dict[str, float] = {}  # Uniqueid -> its live Hangup has passed every listener

    def note(event: Event) -> None:
        if isinstance(event, ChannelHungUp) and event.source == "ami":
            applied[event.channel_id] = time.monotonic()

    service.event_listeners.append(note)  # the last listener: after all the others
    committed: dict[str, float] = {}  # call id -> its finished record is in the database
    upsert = service.store.upsert_calls

    def timed_upsert(records: Sequence[CallRecord]) -> int:
        written = upsert(records)
        now = time.monotonic()
        for record in records:
            committed.setdefault(record.call_id, now)
        return written

    service.store.upsert_calls = timed_upsert  # type: ignore[method-assign]
    await service.start()
    try:
        await asyncio.sleep(0.5)  # the reader logs in too
        cpu0, wall0 = cpu_seconds(), time.monotonic()
        sim_conn.send("go")
        kind, run = await asyncio.to_thread(sim_conn.recv)
        assert kind == "done"
        summary = await summarise_run(
            service, settings, truth=run["truth"], generated=run["generated"],
            records_dir=records_dir, deadline=time.monotonic() + args.timeout,
        )  # fmt: skip
        summary["ami_cuts"] = args.ami_cuts
        cpu_pct = 100 * (cpu_seconds() - cpu0) / (time.monotonic() - wall0)
        wall_s = time.monotonic() - wall0
    finally:
        await service.stop()
        sim_conn.send("stop")
        read_conn.send("stop")
    baseline: dict[str, float] = await asyncio.to_thread(read_conn.recv)
    simulator.join(30)
    reader.join(30)

    emitted: dict[str, float] = run["hangups"]
    ours = [applied[u] - t for u, t in emitted.items() if u in applied]
    bare = [baseline[u] - t for u, t in emitted.items() if u in baseline]
    # Calls whose caller's Hangup arrived live (the others are stored after a resync).
    to_record = [
        committed[call] - ended
        for call, ended in run["call_ends"].items()
        if call in applied and call in committed
    ]
    p99, base_p99 = percentile(ours, 0.99), percentile(bare, 0.99)
    return {
        "generated": summary["generated"],
        "recorded": summary["recorded"],
        "lost": summary["lost"],
        "duplicated": summary["duplicated"],
        "p99_ms": ms(p99),
        "p50_ms": ms(percentile(ours, 0.5)),
        "p90_ms": ms(percentile(ours, 0.9)),
        "max_ms": ms(max(ours, default=None)),
        "baseline_p99_ms": ms(base_p99),
        "baseline_p50_ms": ms(percentile(bare, 0.5)),
        "ratio": round(p99 / base_p99, 2) if p99 is not None and base_p99 else None,
        "record_p99_ms": ms(percentile(to_record, 0.99)),
        "cpu_pct": round(cpu_pct, 1),
        "rss_mb": round(peak_rss_mb(), 1),
        "sim_cpu_pct": run["cpu_pct"],
        "lines": args.lines,
        "lines_peak": run["lines_peak"],
        "lines_median": run["lines_median"],
        "ami_cuts": args.ami_cuts,
        "hangups": len(emitted),
        "hangups_timed": len(ours),
        "baseline_hangups_timed": len(bare),
        "recovered": summary["recovered"],
        "answered": summary["answered"],
        "abandoned": summary["abandoned"],
        "blocked": summary["blocked"],
        "mismatches": summary["mismatches"],
        "missing": summary["missing"],
        "unexpected": summary["unexpected"],
        "truth_mismatches": summary["truth_mismatches"],
        "wall_s": round(wall_s, 1),
        "speed": args.speed,
        "loadavg": Path("/proc/loadavg").read_text().split()[:3],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--lines", type=int, default=900, help="the simulated PBX's lines")
    parser.add_argument("--ami-cuts", type=int, default=20)
    parser.add_argument("--agents", type=int, default=700, help="static queue members")
    parser.add_argument(
        "--calls-per-hour", type=float, default=21_000.0,
        help="peak arrival rate (simulated hours): enough to keep about --lines lines busy",
    )  # fmt: skip
    parser.add_argument("--speed", type=float, default=40.0, help="simulated s per real s")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", default="", help="default: SQLite in a temp dir")
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--log-level", default="warning", help="info shows each resync")
    args = parser.parse_args()
    configure_logging(LoggingSettings(level=args.log_level))
    with tempfile.TemporaryDirectory(prefix="soak-") as folder:
        result = asyncio.run(soak(args, Path(folder)))
    print(json.dumps(result))
    if result["lost"] or result["duplicated"]:
        raise SystemExit("floors missed: lost and duplicated must be 0")


if __name__ == "__main__":
    main()
