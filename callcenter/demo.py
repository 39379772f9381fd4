"""The demo: the service together with the built-in PBX simulator over real TCP.

Interactive (``make demo``): the simulator places calls forever, the service prints a line
per finished call and serves ``http://127.0.0.1:8080/api/calls``.

Headless (``callcenter demo --headless --calls N``): runs until N calls have ended, then
prints one JSON object as its last line, comparing the service's records with the
simulator's own queue_log and CDR.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import signal
import sys
import time
import zoneinfo
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import Engine, func, select

from callcenter.calls.reconcile import compare_with_durable, same_outcome
from callcenter.calls.records import CallRecord
from callcenter.config import PbxSettings, Settings
from callcenter.cti.demo import DEMO_OWNERS_FILE, demo_owner_numbers, load_demo_owners
from callcenter.recordings.maintenance import recordings_root
from callcenter.routing.duty import on_duty
from callcenter.routing.sync import ScaledClock
from callcenter.service import Service
from callcenter.sim import (
    AgiTarget,
    PbxSimulator,
    QueueConfig,
    SimConfig,
    TrafficParams,
    daytime_start,
    default_queues,
)
from callcenter.sim.config import DEFAULT_HOTLINES
from callcenter.sim.pbx import CallOutcome
from callcenter.store.calls import CallStore
from callcenter.store.models import calls_table

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class DemoOptions:
    headless: bool = False
    calls: int | None = None
    seed: int | None = None
    speed: float | None = None
    timeout_s: float = 600.0
    cuts: int = 0
    plain: bool = False  # static members and the simulator's own menu: deterministic
    lines: int | None = None  # the simulated PBX's concurrent lines (default: settings)


DEMO_QUEUES = ("support", "repair", "complaint", "zone-east", "zone-west")
DEMO_PASSWORD = "demo1234"


def simulator_config(settings: Settings, options: DemoOptions, records_dir: Path) -> SimConfig:
    sim = settings.simulator
    pbx = settings.pbxes[0]
    zone = pbx.timezone or settings.timezone
    numbers = list(settings.hotlines) or list(DEFAULT_HOTLINES)
    if options.plain:
        queues = default_queues(sim.agents)  # static members, the simulator's own menu
        start = daytime_start(zone)
    else:
        # Empty queues: the roster fills them over AMI. Start just before the 08:00 shift
        # edge, so membership visibly changes within the first minute.
        queues = [QueueConfig(name) for name in DEMO_QUEUES]
        start = daytime_start(zone, hour=7) + (55 * 60 if not options.headless else 3600 * 2)
    return SimConfig(
        host="127.0.0.1",
        ami_port=pbx.ami.port if not options.headless else 0,
        username=pbx.ami.username,
        secret=pbx.ami.secret,
        pbx_name=pbx.name,
        seed=options.seed if options.seed is not None else sim.seed,
        speed=options.speed if options.speed is not None else sim.speed,
        lines=options.lines if options.lines is not None else sim.lines,
        queues=queues,
        hotlines={n: DEFAULT_HOTLINES.get(n, "support") for n in numbers},
        traffic=TrafficParams(peak_calls_per_hour=sim.peak_calls_per_hour),
        records_dir=str(records_dir),
        timezone=zone,
        short_abandon_s=settings.targets.short_abandon_s,
        start_epoch=start,
        # MixMonitor's files land where the service indexes recordings.
        recordings_dir=str(recordings_root(settings)),
        # Most callers are owners of the demo estate, so screen-pops show their records.
        caller_numbers=() if options.plain else demo_owner_numbers(DEMO_OWNERS_FILE),
    )


def linked_settings(settings: Settings, ami_port: int, records_dir: Path) -> Settings:
    """The service's settings pointed at a simulator: its AMI port, queue_log and CDR."""
    pbx = settings.pbxes[0]
    linked = dataclasses.replace(
        pbx,
        ami=dataclasses.replace(pbx.ami, host="127.0.0.1", port=ami_port),
        queue_log=str(records_dir / "queue_log"),
        cdr_csv=str(records_dir / "Master.csv"),
    )
    pbxes: list[PbxSettings] = [linked]
    return dataclasses.replace(settings, pbxes=pbxes)


async def _start_pair(
    settings: Settings, options: DemoOptions, records_dir: Path, *, web_enabled: bool
) -> tuple[PbxSimulator, Service]:
    """The simulator, then the service connected to it; in the full demo the simulator's
    callers go through the service's FastAGI IVR and the roster drives queue membership."""
    simulator = PbxSimulator(simulator_config(settings, options, records_dir))
    await simulator.start()
    service_settings = linked_settings(settings, simulator.ami_port, records_dir)
    speed = simulator.config.speed
    service = Service(
        service_settings,
        pbx_clock=None if options.plain else ScaledClock(lambda: simulator.now, speed),
        managed_queues=set() if options.plain else set(DEMO_QUEUES),
        web_enabled=web_enabled,
    )
    try:
        await service.start()
    except BaseException:
        await simulator.stop()
        raise
    if not options.plain:
        await load_demo_owners(service.cti, DEMO_OWNERS_FILE)
        simulator.set_agi_target(AgiTarget("127.0.0.1", service.fastagi.port))
    return simulator, service


async def run_demo(settings: Settings, options: DemoOptions) -> int:
    if options.headless:
        summary = await headless(settings, options)
        print(json.dumps(summary), flush=True)
        return 0
    return await _interactive_demo(settings, options)


async def headless(settings: Settings, options: DemoOptions) -> dict[str, Any]:
    """Run N calls through the simulator and the service; summarise and reconcile."""
    records_dir = Path(settings.simulator.records_dir) / f"run-{int(time.time() * 1000)}"
    records_dir.mkdir(parents=True, exist_ok=True)
    # An isolated run: its own SQLite file next to the simulator's records, ephemeral ports.
    isolated = dataclasses.replace(
        settings,
        logging=dataclasses.replace(settings.logging, call_lines=False),
        database=dataclasses.replace(
            settings.database, url=f"sqlite:///{records_dir / 'callcenter.db'}"
        ),
        fastagi=dataclasses.replace(settings.fastagi, port=0),
        recordings=dataclasses.replace(settings.recordings, root=str(records_dir / "recordings")),
    )
    simulator, service = await _start_pair(isolated, options, records_dir, web_enabled=False)
    try:
        return await _headless(simulator, service, service.settings, options, records_dir)
    finally:
        await service.stop()
        await simulator.stop()


async def _interactive_demo(settings: Settings, options: DemoOptions) -> int:
    records_dir = Path(settings.simulator.records_dir)
    records_dir.mkdir(parents=True, exist_ok=True)
    simulator, service = await _start_pair(settings, options, records_dir, web_enabled=True)
    try:
        users = await _seed_users(service)
        return await _interactive(simulator, options, settings, users)
    finally:
        await service.stop()
        await simulator.stop()


async def _seed_users(service: Service) -> list[str]:
    """Demo sign-ins: every rostered agent (login = agent id) plus supervisor and admin."""
    accounts = service.cti.accounts
    known = {u.login for u in await asyncio.to_thread(accounts.list_users)}
    directory = service.routing.directory
    wanted = [
        (agent.id, "agent", agent.name, directory.interface_of(agent.id))
        for agent in directory.agents.values()
    ] + [("supervisor", "supervisor", "值班主管", ""), ("admin", "admin", "管理员", "")]
    for login, role, name, interface in wanted:
        if login not in known:
            await asyncio.to_thread(
                accounts.add_user, login, role, DEMO_PASSWORD,
                display_name=name, agent=login if role == "agent" else "", interface=interface,
            )  # fmt: skip
    await service.cti.refresh_housekeepers()
    # Agents working after the first shift edge get the calls: list them first.
    soon = service.pbx_clock.now() + 600
    working = [d.agent for d in on_duty(service.routing.roster, soon) if d.team == "hotline"]
    return working + [login for login, *_ in wanted if login not in working]


async def _interactive(
    simulator: PbxSimulator, options: DemoOptions, settings: Settings, users: list[str]
) -> int:
    calls = options.calls if options.calls is not None else settings.simulator.calls
    base = f"http://{settings.web.host}:{settings.web.port}"
    print(
        f"callcenter demo: simulated PBX on 127.0.0.1:{simulator.ami_port}, web on {base}\n"
        f"  sign in at {base}/login as supervisor, admin or an agent on duty "
        f"({', '.join(users[:4])}...), password {DEMO_PASSWORD}\n"
        f"  seat page {base}/seat   calls {base}/api/calls   (Ctrl-C stops)",
        flush=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    simulator.start_traffic(calls or None)
    await stop.wait()
    return 0


async def _headless(
    simulator: PbxSimulator,
    service: Service,
    settings: Settings,
    options: DemoOptions,
    records_dir: Path,
) -> dict[str, Any]:
    calls = options.calls or settings.simulator.calls or 100
    deadline = time.monotonic() + options.timeout_s
    simulator.start_traffic(calls)
    if options.cuts:
        await cut_link_during_traffic(simulator, calls, options.cuts, deadline)
    await asyncio.wait_for(simulator.wait_finished(), timeout=max(1.0, deadline - time.monotonic()))
    return await summarise_run(
        service,
        settings,
        truth=simulator.finished,
        generated=simulator.generated,
        records_dir=records_dir,
        cuts=options.cuts,
        deadline=deadline,
    )


async def summarise_run(
    service: Service,
    settings: Settings,
    *,
    truth: list[CallOutcome],
    generated: int,
    records_dir: Path,
    cuts: int,
    deadline: float,
) -> dict[str, Any]:
    """Once the PBX has ended every call: wait for the service to have stored them, then
    check the stored records against the PBX's queue_log and CDR and its own account."""
    # Wait for the service to have finished every call the simulator ended.
    while time.monotonic() < deadline:
        inbound = _inbound_finished(service)
        if inbound >= generated and not any(t.open_calls() for t in service.trackers.values()):
            break
        await asyncio.sleep(0.05)
    await service.settle()
    pbx = settings.pbxes[0]
    summary = await reconcile_store(
        service.store,
        pbx=pbx.name,
        zone=settings.zone,
        short_abandon_s=settings.targets.short_abandon_s,
        truth=truth,
        generated=generated,
        records_dir=records_dir,
    )
    summary["ami_cuts"] = cuts
    return summary


async def reconcile_store(
    store: CallStore,
    *,
    pbx: str,
    zone: zoneinfo.ZoneInfo,
    short_abandon_s: float,
    truth: list[CallOutcome],
    generated: int,
    records_dir: Path,
) -> dict[str, Any]:
    """The stored calls of one PBX against its queue_log and CDR (in ``records_dir``) and
    the simulator's own account of each call; mismatches are printed to stderr."""
    stored = await asyncio.to_thread(
        store.list_calls,
        since=None,
        until=None,
        outcome=None,
        queue=None,
        pbx=pbx,
        limit=10 * generated + 100,
    )
    inbound_records = [r for r in stored if r.kind == "inbound"]
    report = compare_with_durable(
        inbound_records,
        queue_log=records_dir / "queue_log",
        cdr_csv=records_dir / "Master.csv",
        pbx=pbx,
        zone=zone,
        short_abandon_s=short_abandon_s,
    )
    truth_problems = compare_with_truth(inbound_records, truth, short_abandon_s)
    lost, duplicated = await asyncio.to_thread(
        count_lost_and_duplicated, store.engine, pbx, [t.call_id for t in truth]
    )
    outcomes = {o: sum(1 for r in inbound_records if r.outcome == o) for o in _OUTCOMES}
    summary: dict[str, Any] = {
        "generated": generated,
        "recorded": len(inbound_records),
        "lost": lost,
        "duplicated": duplicated,
        "answered": outcomes["answered"],
        "abandoned": outcomes["abandoned"] + outcomes["short_abandon"],
        "short_abandons": outcomes["short_abandon"],
        "ivr_only": outcomes["ivr_only"],
        "blocked": outcomes["blocked"],
        "voicemail": outcomes["voicemail"],
        "recovered": sum(1 for r in inbound_records if r.origin == "recovered"),
        "mismatches": report.mismatched_calls,
        "missing": len(report.missing),
        "unexpected": len(report.unexpected),
        "truth_mismatches": len(truth_problems),
    }
    for line in (report.describe() + truth_problems)[:20]:
        print(line, file=sys.stderr)
    return summary


def count_lost_and_duplicated(engine: Engine, pbx: str, call_ids: list[str]) -> tuple[int, int]:
    """Counted in the database itself: calls the PBX made that have no row (lost), and
    rows beyond one per call the PBX made (a second row for a call, or an inbound row for
    a call that never was: both would be counted twice in every report)."""
    c = calls_table.c
    query = select(c.call_id, c.kind, func.count()).where(c.pbx == pbx).group_by(c.call_id, c.kind)
    with engine.connect() as connection:
        rows = [(str(r[0]), str(r[1]), int(r[2])) for r in connection.execute(query)]
    made = set(call_ids)
    per_call: dict[str, int] = {}
    for call_id, kind, count in rows:
        if call_id in made or kind == "inbound":
            per_call[call_id] = per_call.get(call_id, 0) + count
    lost = sum(1 for call_id in made if call_id not in per_call)
    duplicated = sum(n - 1 if call_id in made else n for call_id, n in per_call.items())
    return lost, duplicated


def compare_with_truth(
    records: list[CallRecord], truth: list[CallOutcome], short_abandon_s: float
) -> list[str]:
    """The simulator's own account of each call: outcome exact, waits within a second."""
    by_id = {r.call_id: r for r in records}
    problems = []
    for want in truth:
        got = by_id.get(want.call_id)
        if got is None:
            problems.append(f"call {want.call_id}: no record")
        elif not same_outcome(got, want.outcome, short_abandon_s, tolerance_s=1.0):
            problems.append(
                f"call {want.call_id}: outcome {got.outcome}, simulator says {want.outcome}"
            )
        elif (got.wait_s is None) != (want.wait is None) or (
            got.wait_s is not None and want.wait is not None and abs(got.wait_s - want.wait) > 1.0
        ):
            problems.append(f"call {want.call_id}: wait {got.wait_s}, simulator says {want.wait}")
        elif want.outcome == "answered" and got.agent != want.agent:
            problems.append(f"call {want.call_id}: agent {got.agent}, simulator says {want.agent}")
    return problems


_OUTCOMES = ("answered", "abandoned", "short_abandon", "ivr_only", "blocked", "voicemail")


def _inbound_finished(service: Service) -> int:
    return service.finished_inbound


async def cut_link_during_traffic(
    simulator: PbxSimulator, calls: int, cuts: int, deadline: float
) -> None:
    """Spread the cuts over the run; every other cut lasts long enough to miss whole calls."""
    for index in range(cuts):
        # Cut when the next slice of calls has been placed, so cuts land mid-traffic.
        target = calls * (index + 1) // (cuts + 1)
        while simulator.generated < target and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        if len(simulator.finished) >= calls or time.monotonic() > deadline:
            break
        simulator.drop_ami_connections(down_for=1.5 if index % 2 == 0 else 0.0)
