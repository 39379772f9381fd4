"""The metrics feature assembled: live counters, the wallboard, /metrics, reports and
scheduled report files."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from aiohttp import web
from sqlalchemy import Engine

from callcenter.core.contracts import QueueNames
from callcenter.core.feature import Duty, Listeners
from callcenter.metrics import api_doc
from callcenter.metrics.agent_store import AgentFiguresStore
from callcenter.metrics.http import setup as setup_reports
from callcenter.metrics.kpis import Thresholds
from callcenter.metrics.live import LiveCounters
from callcenter.metrics.prometheus import metrics_registry
from callcenter.metrics.report_scheduler import ReportScheduler
from callcenter.metrics.report_store import ReportStore
from callcenter.metrics.settings import MetricsSettings, Targets
from callcenter.metrics.wallboard import AmiActions, Audit, Seats, WallboardHub
from callcenter.metrics.wallboard import setup as setup_wallboard
from callcenter.web.openapi_schema import ApiPart


class MetricsFeature:
    """``ami``: where a supervisor's monitoring call goes; ``audit``: the audit trail a
    monitoring call is written to; ``seats()``: the seats a supervisor may be rung on;
    ``names()``: the agent at each seat (interface -> name) for the wallboard;
    ``queue_names(lang)``: how the pages call each queue (repair -> 报修)."""

    def __init__(
        self,
        settings: MetricsSettings,
        targets: Targets,
        engine: Engine,
        *,
        timezone: str,
        pbxes: Sequence[str],
        inbound_contexts: frozenset[str],
        clock: Callable[[], float],
        ami: AmiActions,
        audit: Audit,
        seats: Seats,
        names: Callable[[], Mapping[str, str]] = dict,
        queue_names: QueueNames = lambda _lang: {},
    ) -> None:
        self.timezone = timezone
        self.clock = clock
        self.plan_file = settings.plan_file
        self._engine = engine
        self._ami = ami
        self._audit = audit
        self._seats = seats
        self._queue_names = queue_names
        self.thresholds = Thresholds.from_targets(
            targets, wrapup_s=settings.wrapup_s, high_lines_fraction=settings.high_lines_fraction
        )
        self.live = LiveCounters(
            thresholds=self.thresholds, zone=timezone, inbound_contexts=inbound_contexts
        )
        # This instance's Prometheus registry, served at /metrics: process and Python
        # metrics and the live KPIs, read at scrape time. Other parts register theirs here.
        self.registry = metrics_registry(self.live, pbxes=pbxes, clock=clock)
        self.wallboard = WallboardHub(self.live, clock=clock, names=names, queue_names=queue_names)
        # daily / weekly report files to a folder or a webhook (off unless configured)
        self.scheduled_reports = ReportScheduler(
            settings.scheduled_reports,
            reports=ReportStore(engine),
            agents=AgentFiguresStore(engine),
            thresholds=self.thresholds,
            zone=timezone,
            interval_min=settings.interval_min,
            clock=clock,
        )

    @property
    def listeners(self) -> Listeners:
        return Listeners(
            events=[self.live.apply, self.wallboard.on_event],
            records=[self.live.call_finished],
        )

    def routes(self, app: web.Application) -> None:
        setup_wallboard(app, self.wallboard, ami=self._ami, audit=self._audit, seats=self._seats)
        setup_reports(
            app,
            ReportStore(self._engine),
            self.live,
            self.thresholds,
            registry=self.registry,
            zone=self.timezone,
            clock=self.clock,
            plan_file=self.plan_file,
            queue_names=self._queue_names,
        )

    def api_doc(self) -> ApiPart:
        return api_doc.PART

    async def start(self) -> None:
        self.scheduled_reports.start()

    def duties(self) -> Sequence[Duty]:
        return ()

    async def stop(self) -> None:
        await self.scheduled_reports.stop()
