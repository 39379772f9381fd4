"""``PbxSimulator``: the simulator's one public object (AMI server + engine + records)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from pathlib import Path

from callcenter.sim.agi_client import AgiSession
from callcenter.sim.ami_server import AmiServer, server_tls_context
from callcenter.sim.cdr_db import CdrTableWriter
from callcenter.sim.channels import Event
from callcenter.sim.clock import Scheduler
from callcenter.sim.config import AgiTarget, SimConfig
from callcenter.sim.pbx import Call, CallOutcome, Pbx
from callcenter.sim.records import Records

log = logging.getLogger(__name__)

Listener = Callable[[Event], None]


class PbxSimulator:
    """A simulated Asterisk: ``await start()``, drive traffic, read ``finished``, ``stop()``."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self._listeners: list[Listener] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._target = 0
        self._done = asyncio.Event()
        self._scheduler: Scheduler | None = None
        self._pbx: Pbx | None = None
        self._server: AmiServer | None = None
        self._records: Records | None = None

    # -- lifecycle ----------------------------------------------------------------
    async def start(self) -> None:
        cfg = self.config
        cfg.check()
        scheduler = Scheduler(cfg.start_epoch, cfg.speed)
        scheduler.on_error = lambda exc: log.error("simulator step failed", exc_info=exc)
        table = None
        if cfg.cdr_db_url:
            table = CdrTableWriter(
                cfg.cdr_db_url, cfg.cdr_db_table, cfg.cdr_db_timezone or cfg.timezone
            )
        records = Records(
            cfg.records_dir, cfg.timezone, cfg.cdr_layout, table, usegmtime=cfg.cdr_usegmtime
        )
        pbx = Pbx(cfg, scheduler, records, self._emit)
        pbx.on_finished = self._on_finished
        server = AmiServer(pbx)
        tls = (
            server_tls_context(cfg.tls_cert_file, cfg.tls_key_file, cfg.tls_client_ca_file)
            if cfg.tls_cert_file
            else None
        )
        await server.start(cfg.host, cfg.ami_port, tls)
        self._scheduler, self._pbx, self._server, self._records = scheduler, pbx, server, records
        if cfg.agi_target is not None:
            self.set_agi_target(cfg.agi_target)
        scheduler.start()

    def set_agi_target(self, target: AgiTarget) -> None:
        """Send the calls that start from now on through the FastAGI server at ``target``
        (the dialplan's ``AGI(agi://host:port/script)``)."""
        pbx, _ = self._require()
        self.config.agi_target = target

        def launch(call: Call) -> None:
            AgiSession(pbx, call, target, self._tasks).launch()

        pbx.agi_launcher = launch

    async def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.stop()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._server is not None:
            await self._server.stop()
        if self._records is not None:
            # the CDR table's writer finishes its queue: wait without blocking the loop
            await asyncio.to_thread(self._records.close)

    async def __aenter__(self) -> PbxSimulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- traffic --------------------------------------------------------------------
    def start_traffic(self, calls: int | None = None) -> None:
        """Generate ``calls`` more calls from the traffic model (None: until stopped)."""
        pbx, scheduler = self._require()
        if pbx.generated == 0 and scheduler.pending() == 0:
            scheduler.rebase()  # the first traffic starts at start_epoch exactly
        else:
            scheduler.advance_to_wall()
        if calls is not None:
            self._target += calls
            self._done.clear()
        pbx.schedule_arrivals(calls)

    async def wait_finished(self, timeout: float | None = None) -> None:
        """Wait until every call asked for so far has ended."""
        if len(self.finished) >= self._target:
            return
        await asyncio.wait_for(self._done.wait(), timeout)

    async def run(self, calls: int, timeout: float | None = None) -> list[CallOutcome]:
        """Generate exactly ``calls`` calls and wait until all of them have ended."""
        self.start_traffic(calls)
        await self.wait_finished(timeout)
        return self.finished

    def drop_ami_connections(self, down_for: float = 0.0) -> None:
        """Cut every AMI client; refuse new connections for ``down_for`` real seconds."""
        if self._server is not None:
            self._server.drop(down_for)

    # -- observation ----------------------------------------------------------------
    @property
    def ami_port(self) -> int:
        return self._server.port if self._server is not None else 0

    @property
    def generated(self) -> int:
        return self._pbx.generated if self._pbx is not None else 0

    @property
    def finished(self) -> list[CallOutcome]:
        return self._pbx.finished if self._pbx is not None else []

    @property
    def pbx(self) -> Pbx:
        return self._require()[0]

    @property
    def now(self) -> float:
        """Current virtual time (epoch seconds)."""
        return self._require()[1].wall_now()

    @property
    def queue_log_path(self) -> Path:
        return Path(self.config.records_dir) / "queue_log"

    @property
    def cdr_path(self) -> Path:
        return Path(self.config.records_dir) / "Master.csv"

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Receive every AMI event dict as emitted (in-process; for tests and the demo)."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    # -- internals ------------------------------------------------------------------
    def _require(self) -> tuple[Pbx, Scheduler]:
        if self._pbx is None or self._scheduler is None:
            raise RuntimeError("PbxSimulator.start() has not been awaited")
        return self._pbx, self._scheduler

    def _emit(self, ev: Event) -> None:
        if self._server is not None:
            self._server.broadcast(ev)
        for listener in self._listeners:
            listener(ev)

    def _on_finished(self, outcome: CallOutcome) -> None:
        if self._target and len(self.finished) >= self._target:
            self._done.set()


async def run_simulator(config: SimConfig, calls: int | None = None) -> list[CallOutcome]:
    """Run a simulator until ``calls`` calls have ended (None: until cancelled)."""
    sim = PbxSimulator(config)
    await sim.start()
    try:
        sim.start_traffic(calls)
        if calls is None:
            await asyncio.Event().wait()
        await sim.wait_finished()
        return list(sim.finished)
    finally:
        await sim.stop()
