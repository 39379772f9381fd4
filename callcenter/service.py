"""The composition root: builds every part from the settings, starts and stops them in order."""

from __future__ import annotations

import asyncio
import contextlib
import resource
import socket
import sys
import time
import zoneinfo
from collections.abc import Callable, Collection, Coroutine, Iterable
from datetime import datetime
from typing import Any, TextIO

import structlog
from aiohttp import web
from sqlalchemy import Engine

from callcenter import accept_errors
from callcenter.calls.store import CallStore
from callcenter.calls.tracker import CallTracker
from callcenter.calls.writer import CallWriter
from callcenter.config import Settings
from callcenter.core.call_record import CallRecord
from callcenter.core.events import Event, ResyncCompleted
from callcenter.core.feature import Feature
from callcenter.core.listen import listening
from callcenter.cti.feature import CtiFeature
from callcenter.db import create_engine_for, upgrade
from callcenter.ivr.feature import IvrFeature
from callcenter.log import mask_number
from callcenter.metrics.feature import MetricsFeature
from callcenter.metrics.report_store import CallStoreWithRollups
from callcenter.recordings.feature import RecordingsFeature
from callcenter.routing.feature import RoutingFeature
from callcenter.routing.sync import Clock, SystemClock
from callcenter.streams.dedupe import SeenWindow
from callcenter.streams.envelope import Envelope
from callcenter.streams.redis_bus import StreamBus
from callcenter.telephony.actions import ActionRouter
from callcenter.telephony.link import Offsets, PbxLink
from callcenter.telephony.settings import PbxSettings
from callcenter.web.app import build_app
from callcenter.web.connection_gate import ConnectionGate, connection_budget
from callcenter.web.gated_site import GatedTCPSite
from callcenter.web.openapi_schema import ApiPart

log = structlog.get_logger(__name__)


class Service:
    """The running service: PBX links -> trackers -> store, features and web.

    ``pbx_clock`` is the PBX's notion of now (shift edges, business hours); it is the wall
    clock except against the simulator, which runs faster. ``managed_queues`` limits the
    queues whose membership follows the roster (default: every queue in the directory).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Callable[[], float] = time.time,
        pbx_clock: Clock | None = None,
        managed_queues: set[str] | None = None,
        call_lines: TextIO | None = None,
        web_enabled: bool = True,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.pbx_clock: Clock = pbx_clock or SystemClock()
        self._call_lines = call_lines if call_lines is not None else sys.stdout
        self._web_enabled = web_enabled
        self.finished_inbound = 0  # finished inbound calls handed to the writer
        self.engine = create_engine_for(settings.database.url)
        # Report rollups are refreshed with every write, so reports stay exact and fast.
        self.store = CallStoreWithRollups(self.engine)
        self.writer = CallWriter(
            self.store,
            max_batch=settings.database.max_batch,
            flush_interval=settings.database.flush_interval_s,
            buffer_limit=settings.database.buffer_limit,
        )
        self.trackers: dict[str, CallTracker] = {}
        self.links: dict[str, PbxLink] = {}
        # Features that follow the live picture (screen-pops, live counters) subscribe
        # here; each is called in event order, and a failure is logged and never reaches
        # the link or the other listeners. They see every PBX's events, whichever instance
        # speaks for it. ``pbx_event_listeners`` and ``pbx_record_listeners`` act on what
        # happened (recording index rows, agent-state changes) and run only on the instance
        # that speaks for the PBX, so several instances do not do it twice.
        self.event_listeners: list[Callable[[Event], None]] = []
        self.record_listeners: list[Callable[[CallRecord], None]] = []
        self.pbx_event_listeners: list[Callable[[Event], None]] = []
        self.pbx_record_listeners: list[Callable[[CallRecord], None]] = []
        self.streams = self._build_streams(settings)
        self._seen = SeenWindow()
        self._pending: set[asyncio.Task[None]] = set()
        self._pending_takeovers: set[asyncio.Task[None]] = set()
        self._stopped = False
        self._runner: web.AppRunner | None = None
        self.web_port: int | None = None
        self.web_gate = _web_gate(settings)
        self._restore_exception_handler: Callable[[], None] | None = None
        for pbx in settings.pbxes:
            self.trackers[pbx.name] = CallTracker(
                short_abandon_s=settings.targets.short_abandon_s,
                inbound_contexts=frozenset(pbx.inbound_contexts),
            )
            self.links[pbx.name] = self._build_link(pbx)
        self._tasks: list[asyncio.Task[None]] = []
        self.features = self._build_features(managed_queues)

    def _build_features(self, managed_queues: set[str] | None) -> list[Feature[ApiPart]]:
        settings = self.settings
        first = settings.pbxes[0].name
        # Routing: who is on duty, queue membership at shift edges, staffing minimums.
        self.routing = RoutingFeature(
            settings.routing,
            self.engine,
            timezone=settings.timezone,
            clients={name: link.client for name, link in self.links.items()},
            clock=self.pbx_clock,
            publish=self.publish,
            holds=self.holds,
            first_pbx=first,
            managed_queues=managed_queues,
        )
        for name, link in self.links.items():
            link.after_resync.append(self.routing.sync_of(name).poke)
        # A seat's actions go to the PBX that serves its phone (agent states know it).
        self.actions = ActionRouter(
            {name: link.client for name, link in self.links.items()},
            self.routing.pbx_of_phone,
            default=first,
        )
        # CTI: sign-in, owners, screen-pops, work orders.
        self.cti = CtiFeature(
            self.engine, settings.cti, zone=settings.zone, ami=self.actions, clock=self.clock,
            open_call=self._open_call, dialling=settings.dialling,
            # supervisors see owner-read alerts on the wallboard
            alert=lambda notice: self.metrics.wallboard.notice(notice),
            trusted_proxies=settings.web.trusted_proxies, holds=self.holds,
            pbx_of_seat=lambda seat: self.routing.pbx_of_phone(seat) or first,
            seat_facts=self.routing,  # seat labels, zone names, the agent's state time
            pbx_now=self.pbx_clock.now,  # the agent's day is the PBX's
        )  # fmt: skip
        # Live counters, the wallboard, /metrics and reports.
        self.metrics = MetricsFeature(
            settings.metrics,
            settings.targets,
            self.engine,
            timezone=settings.timezone,
            pbxes=[pbx.name for pbx in settings.pbxes],
            inbound_contexts=frozenset(c for pbx in settings.pbxes for c in pbx.inbound_contexts),
            clock=self.pbx_clock.now,
            ami=self.actions,
            audit=self.cti.records.audit,
            # monitoring rings only a seat the directory knows, as it is now
            seats=self.routing.seats,
            names=self.routing.agent_names,  # the wallboard names agents as the directory does
            queue_names=self.routing.queue_names,  # and queues (repair -> 报修)
        )
        # Recordings: MixMonitor files linked to their calls as the calls end.
        self.recordings = RecordingsFeature(
            settings, self.engine, queue_names=self.routing.queue_names
        )
        # IVR over FastAGI, looking callers up in the owner directory; before ringing an
        # owner's housekeeper it asks routing (on duty and free, else the zone's queue,
        # else the general queue).
        self.ivr = IvrFeature(
            settings,
            fastagi=settings.fastagi,
            timezone=settings.timezone,
            pbxes=[pbx.name for pbx in settings.pbxes],
            lookup=self.cti.lookup,
            route_housekeeper=self.routing.housekeeper,
            publish=self.publish,
            clock=self.pbx_clock.now,
            pbx_hosts=_pbx_addresses(settings),
        )
        self.fastagi = self.ivr.fastagi  # an adapter like the links: started and closed with them
        # In this order their listeners see each event and their routes are added.
        features: list[Feature[ApiPart]] = [
            self.metrics, self.recordings, self.cti, self.ivr, self.routing,
        ]  # fmt: skip
        for feature in features:
            listeners = feature.listeners
            self.event_listeners.extend(listeners.events)
            self.record_listeners.extend(listeners.records)
            self.pbx_event_listeners.extend(listeners.pbx_events)
            self.pbx_record_listeners.extend(listeners.pbx_records)
        return features

    def _build_link(self, pbx: PbxSettings) -> PbxLink:
        zone = self.settings.zone
        if pbx.timezone:
            zone = zoneinfo.ZoneInfo(pbx.timezone)

        async def load_offsets() -> Offsets:
            return await asyncio.to_thread(self.store.get_offsets, pbx.name)

        async def save_offsets(offsets: Offsets) -> None:
            if not self.holds(pbx.name):
                return  # the durable records' cursor belongs to the instance holding the PBX
            # Records of the calls the cursor moves past must be stored before it moves.
            await self.settle()
            await asyncio.to_thread(self.store.save_offsets, pbx.name, offsets)

        tracker = self.trackers[pbx.name]
        return PbxLink(
            pbx,
            zone=zone,
            sink=lambda event: self._from_pbx(tracker, event),
            load_offsets=load_offsets,
            save_offsets=save_offsets,
            calls=StoredCalls(tracker, self.store, pbx.name),
            holds=lambda: self.holds(pbx.name),
            clock=self.clock,
            engine_for=cdr_engine,
        )

    # --- event flow -------------------------------------------------------------------------

    def publish(self, event: Event) -> None:
        """An event a feature produced (IVR choices, routing decisions, agent states): it
        takes the same path as the PBX's own, so trackers and listeners see it in order.
        Produced here for a PBX another instance speaks for, it reaches that instance's
        tracker over the stream."""
        tracker = self.trackers.get(event.pbx) or next(iter(self.trackers.values()))
        if self.holds(event.pbx) or event.pbx not in self.trackers:
            self._on_event(tracker, event)
        else:
            self._view(event)
            self._share(event.pbx, event)

    def _open_call(self, pbx: str, call_id: str) -> CallRecord | None:
        tracker = self.trackers.get(pbx)
        return tracker.open_call(call_id) if tracker is not None else None

    def holds(self, pbx: str) -> bool:
        """Whether this instance speaks for ``pbx`` (always, without Redis)."""
        return self.streams is None or self.streams.holds(pbx)

    def reload(self) -> None:
        """SIGHUP: re-read the IVR flows; a broken set is refused, the last good one stays."""
        self.ivr.reload()

    def _from_pbx(self, tracker: CallTracker, event: Event) -> None:
        """An event from a PBX link: tracked here only where this instance holds the PBX;
        the holder shares it with the others."""
        if self.holds(event.pbx):
            self._on_event(tracker, event)
        elif event.source == "resync" or isinstance(event, ResyncCompleted):
            # What Asterisk lists right now (this instance's own login): its views start
            # from the calls and members already up, not only from what comes next.
            self._view(event)

    def _on_event(self, tracker: CallTracker, event: Event, *, share: bool = True) -> None:
        for record in tracker.apply(event):
            self._on_finished(record)
        _notify(self.pbx_event_listeners, event)
        self._view(event)
        if share:
            self._share(event.pbx, event)

    def _view(self, event: Event) -> None:
        _notify(self.event_listeners, event)

    def _on_finished(self, record: CallRecord) -> None:
        if record.kind == "inbound":
            self.finished_inbound += 1
        task = asyncio.get_running_loop().create_task(self.writer.submit(record))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        _notify(self.pbx_record_listeners, record)
        _notify(self.record_listeners, record)
        self._share(record.pbx, record)
        if self.settings.logging.call_lines and record.kind == "inbound":
            self._call_lines.write(format_call_line(record, self.settings.zone) + "\n")
            self._call_lines.flush()

    # --- several instances ------------------------------------------------------------------

    def _build_streams(self, settings: Settings) -> StreamBus | None:
        redis = settings.redis
        if not redis.url:
            return None
        return StreamBus(
            redis.url,
            instance=redis.instance or socket.gethostname(),
            pbxes=[pbx.name for pbx in settings.pbxes],
            on_envelope=self._on_envelope,
            on_lease=self._on_lease,
            prefix=redis.prefix,
            maxlen=redis.stream_maxlen,
            lease_s=redis.lease_s,
            outbox_limit=redis.outbox_limit,
        )

    def _share(self, pbx: str, item: Event | CallRecord) -> None:
        if self.streams is not None:
            self.streams.publish(pbx, item)

    def _on_envelope(self, envelope: Envelope) -> None:
        """What another instance shared. Events for a PBX held here (IVR choices made on
        another instance) go to its tracker; everything else only updates the views."""
        if not self._seen.first_time(envelope.id):
            return
        item = envelope.item
        if isinstance(item, CallRecord):
            if not self.holds(envelope.pbx):
                _notify(self.record_listeners, item)
            return
        tracker = self.trackers.get(envelope.pbx)
        if tracker is not None and self.holds(envelope.pbx):
            self._on_event(tracker, item, share=False)
        else:
            self._view(item)

    def _on_lease(self, pbx: str, held: bool) -> None:
        if held:
            # Take over where the last holder stopped: its cursor into the durable
            # records, then the open calls from Asterisk.
            task = asyncio.get_running_loop().create_task(self.links[pbx].take_over())
            self._pending_takeovers.add(task)
            task.add_done_callback(self._pending_takeovers.discard)

    async def _while_holding(self, pbx: str, run: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run a PBX's duties (membership sync, staffing checks) only while holding it."""
        while True:
            while not self.holds(pbx):
                await asyncio.sleep(1.0)
            task = asyncio.get_running_loop().create_task(run())
            try:
                while self.holds(pbx) and not task.done():
                    await asyncio.sleep(1.0)
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if task.done() and not task.cancelled():
                if task.exception() is None:
                    return
                log.error("pbx duty failed, restarting", pbx=pbx, error=str(task.exception()))
                await asyncio.sleep(1.0)

    async def _seed_live(self) -> None:
        """Today's finished calls so far, so a restarted or added instance shows the
        same answer rates as the others."""
        now = self.pbx_clock.now()
        local = datetime.fromtimestamp(now, self.settings.zone)
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
        records = await asyncio.to_thread(
            self.store.list_calls, since=midnight, until=None, limit=1_000_000,
            newest_first=False,
        )  # fmt: skip
        for record in records:
            if record.ended:
                self.metrics.live.call_finished(record)

    # --- lifecycle --------------------------------------------------------------------------

    def build_web_app(self) -> web.Application:
        """Every page and API route, each behind sign-in with the roles it admits."""
        app = build_app(
            self, [feature.api_doc() for feature in self.features], time_zone=self.settings.timezone
        )
        for feature in self.features:
            feature.routes(app)
        return app

    async def start(self) -> None:
        # A flood of connections makes asyncio report every failed accept: one line a while.
        self._restore_exception_handler = accept_errors.install(asyncio.get_running_loop())
        await asyncio.to_thread(upgrade, self.settings.database.url)
        self.writer.start()
        for feature in self.features:
            await feature.start()
        fastagi = self.settings.fastagi
        await listening("fastagi.port", fastagi.host, fastagi.port, self.fastagi.start())
        if self._web_enabled:
            app = self.build_web_app()
            # aiohttp's own idle limit is an hour: an idle connection holds a descriptor.
            self._runner = web.AppRunner(
                app, access_log=None, keepalive_timeout=self.settings.web.idle_timeout_s
            )
            await self._runner.setup()
            site = GatedTCPSite(
                self._runner, self.settings.web.host, self.settings.web.port, self.web_gate
            )
            await listening("web.port", self.settings.web.host, self.settings.web.port,
                            site.start())  # fmt: skip
            self.web_port = site.port
            log.info("web listening", url=f"http://{self.settings.web.host}:{self.web_port}",
                     connection_budget=self.web_gate.budget)  # fmt: skip
        await self._seed_live()
        if self.streams is not None:
            await self.streams.start()
        for link in self.links.values():
            await link.start()
        loop = asyncio.get_running_loop()
        for feature in self.features:
            for duty in feature.duties():
                run = duty.run() if duty.pbx is None else self._while_holding(duty.pbx, duty.run)
                self._tasks.append(loop.create_task(run, name=duty.name))

    async def stop(self) -> None:
        if self._stopped:  # a second stop (signal and shutdown both) does nothing
            return
        self._stopped = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.fastagi.close()
        for link in self.links.values():
            await link.close()
        for takeover in list(self._pending_takeovers):
            takeover.cancel()
        for feature in reversed(self.features):
            await feature.stop()
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
        await self.writer.close(timeout=10.0)
        if not self.writer.pending:
            await self._save_final_offsets()
        await self._close_the_rest()

    async def _save_final_offsets(self) -> None:
        """A graceful stop: the cursor moves past the calls just stored, so the next start
        re-reads only the lines of the calls still open."""
        for name, link in self.links.items():
            offsets = link.settled_offsets()
            if offsets and self.holds(name):
                try:
                    await asyncio.to_thread(self.store.save_offsets, name, offsets)
                except Exception as exc:  # the next start reads a little more, nothing lost
                    log.warning("durable cursor not saved at stop", pbx=name, error=str(exc))

    async def _close_the_rest(self) -> None:
        if self.streams is not None:
            await self.streams.close()
        if self._runner is not None:
            await self._runner.cleanup()
        if self._restore_exception_handler is not None:
            self._restore_exception_handler()
        self.engine.dispose()

    async def abort(self) -> None:
        """Stop as a killed process would: connections dropped without a goodbye, nothing
        flushed, no cursor saved. The demo's ``--restarts`` and the tests use it to restart
        the service with its memory gone, in one process."""
        if self._stopped:
            return
        self._stopped = True
        for task in [*self._tasks, *self._pending, *self._pending_takeovers]:
            task.cancel()
        for link in self.links.values():  # no event comes in after this
            await link.close(logoff=False)
        await self.fastagi.abort()
        await self.writer.abort()
        await asyncio.gather(*self._tasks, *self._pending, return_exceptions=True)
        for feature in reversed(self.features):
            await feature.stop()
        await self._close_the_rest()

    async def settle(self) -> None:
        """Wait until every finished record handed to the writer is stored."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)
        await self.writer.flush()

    def ready(self) -> dict[str, bool]:
        parts = {f"pbx:{name}": link.connected for name, link in self.links.items()}
        parts["database"] = self.writer.available
        if self.streams is not None:
            parts["redis"] = self.streams.available
        return parts


class StoredCalls:
    """A PBX's calls as its durable records need them: in the tracker's memory, else in
    the store (found by any of their legs), which the tracker then remembers as ended: their
    durable lines read again after a restart change nothing (decision 0011)."""

    def __init__(self, tracker: CallTracker, store: CallStore, pbx: str) -> None:
        self._tracker = tracker
        self._store = store
        self._pbx = pbx

    def placed(self, ids: Iterable[str]) -> dict[str, str]:
        return self._tracker.placed(ids)

    def follows(self, call_id: str) -> str:
        return self._tracker.follows(call_id)

    def is_open(self, call_id: str) -> bool:
        return self._tracker.is_open(call_id)

    async def stored(self, ids: Collection[str]) -> dict[str, str]:
        found = await asyncio.to_thread(self._store.ended_calls_by_id, self._pbx, ids)
        by_call: dict[str, list[str]] = {}
        for key, call_id in found.items():
            by_call.setdefault(call_id, []).append(key)
        for call_id, keys in by_call.items():
            self._tracker.remember_ended(call_id, keys)
        return found


def _web_gate(settings: Settings) -> ConnectionGate:
    """The web server's limits: its connections are counted against the descriptor limit
    less a reserve, so a flood of web clients never takes the descriptors FastAGI needs to
    answer a caller."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    web_settings = settings.web
    return ConnectionGate(
        max_per_address=web_settings.max_connections_per_address,
        budget=connection_budget(
            -1 if soft == resource.RLIM_INFINITY else soft, web_settings.descriptor_reserve
        ),
        header_timeout_s=web_settings.header_timeout_s,
        body_timeout_s=web_settings.body_timeout_s,
    )


def cdr_engine(url: str) -> Engine:
    """An engine for a PBX's CDR database: one connection is enough."""
    return create_engine_for(url, pool_size=1, max_overflow=0)


def _pbx_addresses(settings: Settings) -> dict[str, str]:
    """Each PBX's address, so a FastAGI request is told apart by where it comes from
    (a request's ``?pbx=name`` says it outright). Names that do not resolve are skipped."""
    addresses: dict[str, str] = {}
    for pbx in settings.pbxes:
        with contextlib.suppress(OSError, UnicodeError):
            for info in socket.getaddrinfo(pbx.ami.host, None, proto=socket.IPPROTO_TCP):
                addresses.setdefault(str(info[4][0]), pbx.name)
    return addresses


def _notify(listeners: list[Callable[[Any], None]], item: Event | CallRecord) -> None:
    for listener in listeners:
        try:
            listener(item)
        except Exception:
            log.exception("listener failed", listener=repr(listener), item=type(item).__name__)


def format_call_line(record: CallRecord, zone: zoneinfo.ZoneInfo) -> str:
    """One readable line per finished call (the caller's number masked)."""
    started = datetime.fromtimestamp(record.started_at, zone).strftime("%H:%M:%S")
    parts = [
        started,
        f"call {record.call_id}",
        f"line {record.hotline or '-'}",
        f"from {mask_number(record.caller_number) if record.caller_number else 'unknown'}",
        f"{record.outcome}",
    ]
    if record.queue:
        parts.append(f"queue {record.queue}")
    if record.wait_s is not None:
        parts.append(f"wait {record.wait_s:.0f}s")
    if record.agent:
        parts.append(f"agent {record.agent}")
    if record.talk_s is not None:
        parts.append(f"talk {record.talk_s:.0f}s")
    if record.origin == "recovered":
        parts.append("(recovered)")
    return "  ".join(parts)
