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
import re
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import structlog

from callcenter.config import Settings
from callcenter.core.listen import listening
from callcenter.cti.demo import DEMO_OWNERS_FILE, demo_owner_numbers, load_demo_owners
from callcenter.demo_check import rounded, summarise_run
from callcenter.demo_plan import PEAK_FACTOR, DayPlan, minimums, plan_day, write_plan
from callcenter.metrics.idle_wait import max_wait_while_idle
from callcenter.recordings.maintenance import recordings_root
from callcenter.routing.directory import load_directory
from callcenter.routing.duty import on_duty
from callcenter.routing.queuerules import queuerules_text
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
from callcenter.sim.penalty_rules import parse_queuerules
from callcenter.telephony.settings import PbxSettings

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
    restarts: int = 0  # stops of the service during the run: graceful, then as if killed...
    # What the simulated Asterisk looks like: callers on a trunk channel or through Local
    # channel pairs (then queue members are Local channels too, as FreePBX-style installs
    # have them); Master.csv's layout; or CDRs in a database table at this URL.
    topology: str = "trunk"
    cdr_layout: str = "linkedid"
    cdr_db_url: str = ""
    scenario: str = "normal"  # the day planned (demo_plan.SCENARIOS): normal, understaffed, peak
    day: date | None = None  # the simulated day (default today): weekdays and holidays differ


DEMO_QUEUES = ("support", "repair", "complaint", "zone-east", "zone-west")
DEMO_PASSWORD = "demo1234"


def day_noon(day: date, zone: str) -> float:
    """Noon of ``day`` in ``zone``: a moment that names the day whatever the hour chosen."""
    return datetime(day.year, day.month, day.day, 12, tzinfo=ZoneInfo(zone)).timestamp()


def simulator_config(settings: Settings, options: DemoOptions, records_dir: Path) -> SimConfig:
    sim = settings.simulator
    pbx = settings.pbxes[0]
    zone = pbx.timezone or settings.timezone
    numbers = list(settings.hotlines) or list(DEFAULT_HOTLINES)
    local = options.topology == "local"
    noon = None if options.day is None else day_noon(options.day, zone)
    if options.plain:
        # static members, the simulator's own menu
        queues = default_queues(sim.agents, MEMBER_CONTEXT if local else "")
        start = daytime_start(zone, now=noon)
    else:
        # Empty queues: the roster fills them over AMI. Start just before the 08:00 shift
        # edge, so membership visibly changes within the first minute.
        queues = shipped_queues(settings)
        start = daytime_start(zone, hour=7, now=noon) + (
            55 * 60 if not options.headless else 3600 * 2
        )
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
        # queuerules.conf as `callcenter roster queuerules` writes it for these settings
        queue_rules=parse_queuerules(
            queuerules_text(settings.routing.preference_rule, settings.routing.preference_window_s)
        ),
        traffic=demo_traffic(settings, options),
        records_dir=str(records_dir),
        timezone=zone,
        short_abandon_s=settings.targets.short_abandon_s,
        start_epoch=start,
        # MixMonitor's files land where the service indexes recordings.
        recordings_dir=str(recordings_root(settings)),
        # Most callers are owners of the demo estate, so screen-pops show their records.
        caller_numbers=() if options.plain else demo_owner_numbers(DEMO_OWNERS_FILE),
        topology=options.topology,
        cdr_layout=options.cdr_layout,
        cdr_db_url=options.cdr_db_url,
        tls_cert_file=sim.tls_cert_file,
        tls_key_file=sim.tls_key_file,
    )


def demo_traffic(settings: Settings, options: DemoOptions) -> TrafficParams:
    """The simulator's traffic: the settings' peak, half as much again on a ``peak`` day."""
    peak = settings.simulator.peak_calls_per_hour
    return TrafficParams(
        peak_calls_per_hour=peak * (PEAK_FACTOR if options.scenario == "peak" else 1)
    )


def planned_settings(
    settings: Settings, options: DemoOptions, records_dir: Path
) -> tuple[Settings, DayPlan | None]:
    """The settings the demo's day runs on: its roster, agents and staffing minimums from
    the staffing plan of the simulated day (``demo_plan.plan_day``), and the plan file the
    reports page shows the predicted answer rate from. ``--plain`` keeps static members."""
    if options.plain:
        return settings, None
    config = simulator_config(settings, options, records_dir)
    assert config.start_epoch is not None
    day = datetime.fromtimestamp(config.start_epoch, ZoneInfo(settings.timezone)).date()
    normal = TrafficParams(peak_calls_per_hour=settings.simulator.peak_calls_per_hour)
    plan, files = plan_day(settings, normal, day, records_dir, options.scenario)
    plan_file = records_dir / "staffing_plan.json"
    write_plan(plan, plan_file)
    routing = dataclasses.replace(
        settings.routing,
        roster_file=str(files.roster_file),
        agents_file=str(files.agents_file),
        minimums=minimums(plan),
    )
    metrics = dataclasses.replace(settings.metrics, plan_file=str(plan_file))
    return dataclasses.replace(settings, routing=routing, metrics=metrics), plan


def shipped_queues(settings: Settings) -> list[QueueConfig]:
    """The demo's queues as docker/asterisk/queues.conf has them: ``retry = 1``, and the
    zones' queues (the agents file's) following the preference rule."""
    agents_file = Path(settings.routing.agents_file)
    directory = load_directory(agents_file) if agents_file.exists() else None
    zones = {z.queue for z in directory.zones.values()} if directory is not None else set()
    rule = settings.routing.preference_rule
    return [
        QueueConfig(name, retry=1.0, defaultrule=rule if name in zones else "")
        for name in DEMO_QUEUES
    ]


def linked_settings(
    settings: Settings, ami_port: int, records_dir: Path, cdr_db_url: str = ""
) -> Settings:
    """The service's settings pointed at a simulator: its AMI port, queue_log and CDR
    (Master.csv, or the table at ``cdr_db_url``)."""
    pbx = settings.pbxes[0]
    linked = dataclasses.replace(
        pbx,
        ami=dataclasses.replace(pbx.ami, host="127.0.0.1", port=ami_port),
        queue_log=str(records_dir / "queue_log"),
        cdr_csv=str(records_dir / "Master.csv"),
        cdr_db_url=cdr_db_url,
    )
    pbxes: list[PbxSettings] = [linked]
    return dataclasses.replace(settings, pbxes=pbxes)


MEMBER_CONTEXT = "agents"


def with_local_seats(settings: Settings, records_dir: Path) -> Settings:
    """The roster's seats reached through Local channels (``PJSIP/1001`` becomes
    ``Local/1001@agents``, whose ``;2`` half rings the phone), as FreePBX-style queues add
    their members: a copy of the agents file in ``records_dir``."""
    source = Path(settings.routing.agents_file)
    if not source.exists():
        return settings
    text = re.sub(r"\bPJSIP/(\d+)\b", rf"Local/\1@{MEMBER_CONTEXT}", source.read_text("utf-8"))
    copy = records_dir / "agents.local.yaml"
    copy.write_text(text, encoding="utf-8")
    return dataclasses.replace(
        settings, routing=dataclasses.replace(settings.routing, agents_file=str(copy))
    )


class DemoService:
    """The service half of the demo, next to the simulator. It can be restarted: a new
    Service on the same settings and database, its memory gone, as after a real restart."""

    def __init__(
        self, settings: Settings, simulator: PbxSimulator, options: DemoOptions, *,
        web_enabled: bool,
    ) -> None:  # fmt: skip
        records_dir = Path(simulator.config.records_dir)
        if options.topology == "local" and not options.plain:
            settings = with_local_seats(settings, records_dir)
        self.settings = linked_settings(
            settings, simulator.ami_port, records_dir, options.cdr_db_url
        )
        self.simulator = simulator
        self.options = options
        self.web_enabled = web_enabled
        self.stops = {"graceful": 0, "killed": 0}
        self._current: Service | None = None

    @property
    def current(self) -> Service:
        assert self._current is not None, "the demo service is not running"
        return self._current

    async def start(self) -> Service:
        simulator, plain = self.simulator, self.options.plain
        speed = simulator.config.speed
        service = Service(
            self.settings,
            pbx_clock=None if plain else ScaledClock(lambda: simulator.now, speed),
            managed_queues=set() if plain else set(DEMO_QUEUES),
            web_enabled=self.web_enabled,
        )
        await service.start()
        first = self._current is None
        self._current = service
        if not plain:
            if first:
                await load_demo_owners(service.cti, DEMO_OWNERS_FILE)
            simulator.set_agi_target(AgiTarget("127.0.0.1", service.fastagi.port))
        return service

    async def stop(self, *, kill: bool = False) -> None:
        """Stop the running service: gracefully, or as a killed process (nothing flushed)."""
        service, self._current = self._current, None
        if service is None:
            return
        if kill:
            await service.abort()
            self.stops["killed"] += 1
        else:
            await service.stop()
            self.stops["graceful"] += 1


async def _start_pair(
    settings: Settings, options: DemoOptions, records_dir: Path, *, web_enabled: bool
) -> tuple[PbxSimulator, DemoService]:
    """The simulator, then the service connected to it; in the full demo the simulator's
    callers go through the service's FastAGI IVR and the roster drives queue membership."""
    config = simulator_config(settings, options, records_dir)
    simulator = PbxSimulator(config)
    # the simulator answers AMI where the service's first PBX is configured
    await listening("pbxes[0].ami.port", config.host, config.ami_port, simulator.start())
    runner = DemoService(settings, simulator, options, web_enabled=web_enabled)
    try:
        await runner.start()
    except BaseException:
        await simulator.stop()
        raise
    return simulator, runner


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
    isolated, plan = planned_settings(isolated, options, records_dir)
    simulator, runner = await _start_pair(isolated, options, records_dir, web_enabled=False)
    try:
        if not options.plain:  # housekeepers are found by their users' seats, as in `make demo`
            await _seed_users(runner.current)
        summary = await _headless(simulator, runner, options, records_dir)
        if plan is not None and simulator.finished:  # the plan's forecast of the hours run
            starts = [t.started_at for t in simulator.finished]
            summary["predicted_answer_rate"] = rounded(plan.prediction(min(starts), max(starts)))
        return summary
    finally:
        await runner.stop()
        await simulator.stop()


async def _interactive_demo(settings: Settings, options: DemoOptions) -> int:
    records_dir = Path(settings.simulator.records_dir)
    records_dir.mkdir(parents=True, exist_ok=True)
    settings, _plan = planned_settings(settings, options, records_dir)
    simulator, runner = await _start_pair(settings, options, records_dir, web_enabled=True)
    try:
        users = await _seed_users(runner.current)
        return await _interactive(simulator, options, settings, users)
    finally:
        await runner.stop()
        await simulator.stop()


async def _seed_users(service: Service) -> list[str]:
    """Demo sign-ins: every rostered agent (login = agent id) plus supervisor and admin."""
    accounts = service.cti.accounts
    known = {u.login for u in await asyncio.to_thread(accounts.list_users)}
    directory = service.routing.data.directory
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
    working = [d.agent for d in on_duty(service.routing.data.roster, soon) if d.team == "hotline"]
    return working + [login for login, *_ in wanted if login not in working]


async def _interactive(
    simulator: PbxSimulator, options: DemoOptions, settings: Settings, users: list[str]
) -> int:
    calls = options.calls if options.calls is not None else settings.simulator.calls
    base = f"http://{settings.web.host}:{settings.web.port}"
    ami = "AMI over TLS" if simulator.config.tls_cert_file else "AMI"
    print(
        f"callcenter demo: simulated PBX ({ami}) on 127.0.0.1:{simulator.ami_port}, "
        f"web on {base}\n"
        f"  sign in at {base}/login as supervisor, admin or an agent on duty "
        f"({', '.join(users[:4])}...), password {DEMO_PASSWORD}\n"
        f"  each lands on their home: agents {base}/seat, supervisors {base}/wallboard "
        f"(TV: {base}/wallboard?tv=1), admins {base}/admin   (Ctrl-C stops)",
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
    simulator: PbxSimulator, runner: DemoService, options: DemoOptions, records_dir: Path
) -> dict[str, Any]:
    settings = runner.settings
    calls = options.calls or settings.simulator.calls or 100
    deadline = time.monotonic() + options.timeout_s
    faults = []
    if options.restarts:  # it places the calls itself, a slice before each restart
        faults.append(restart_during_traffic(runner, calls, options.restarts, deadline))
    else:
        simulator.start_traffic(calls)
    if options.cuts:
        faults.append(cut_link_during_traffic(simulator, calls, options.cuts, deadline))
    await asyncio.gather(*faults)
    await asyncio.wait_for(simulator.wait_finished(), timeout=max(1.0, deadline - time.monotonic()))
    summary = await summarise_run(
        runner.current,
        settings,
        truth=simulator.finished,
        generated=simulator.generated,
        records_dir=records_dir,
        deadline=deadline,
    )
    summary["ami_cuts"] = options.cuts
    summary["restarts"] = dict(runner.stops)
    idle = simulator.pbx.idle  # the simulator's truth: who waited while someone sat free
    window = settings.routing.preference_window_s
    summary["max_wait_while_idle_s"] = round(max_wait_while_idle(idle.stays, idle.idle, window), 1)
    return summary


async def restart_during_traffic(
    runner: DemoService, calls: int, restarts: int, deadline: float
) -> None:
    """Place the calls in ``restarts + 1`` slices and stop the service between them,
    alternately gracefully and as if killed. Each stop comes once its slice's calls are all
    placed, whatever the machine's speed; the next slice arrives while the service is down,
    and it stays down until one of those calls has begun and ended unseen."""
    simulator = runner.simulator
    bounds = [calls * (index + 1) // (restarts + 1) for index in range(restarts + 1)]
    simulator.start_traffic(bounds[0])
    for index in range(restarts):
        if not await _until(partial(_placed, simulator, bounds[index]), deadline):
            return
        await runner.stop(kill=index % 2 == 1)
        down_at = simulator.now
        unseen = bounds[index + 1] - bounds[index]
        simulator.start_traffic(unseen)
        if unseen:  # a call began and ended while nobody listened
            await _until(partial(_ended_unseen, simulator, down_at), deadline)
        await runner.start()


def _placed(simulator: PbxSimulator, calls: int) -> bool:
    return simulator.generated >= calls


def _ended_unseen(simulator: PbxSimulator, down_at: float) -> bool:
    return any(t.started_at > down_at for t in simulator.finished)


async def _until(condition: Callable[[], bool], deadline: float) -> bool:
    """Wait until ``condition`` holds (True) or the run's deadline passes (False)."""
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


async def cut_link_during_traffic(
    simulator: PbxSimulator, calls: int, cuts: int, deadline: float
) -> None:
    """Spread the cuts over the run; every other cut lasts long enough to miss whole calls."""
    for index in range(cuts):
        # Cut when the next slice of calls has been placed, so cuts land mid-traffic.
        target = calls * (index + 1) // (cuts + 1)
        if not await _until(partial(_placed, simulator, target), deadline):
            break
        if len(simulator.finished) >= calls:
            break
        simulator.drop_ami_connections(down_for=1.5 if index % 2 == 0 else 0.0)
