"""The composition root: builds every part from the settings, starts and stops them in order."""

from __future__ import annotations

import asyncio
import sys
import time
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TextIO

import structlog
from aiohttp import web

from callcenter.calls.records import CallRecord
from callcenter.calls.tracker import CallTracker
from callcenter.config import PbxSettings, Settings
from callcenter.events import Event
from callcenter.log import mask_number
from callcenter.store.calls import CallStore
from callcenter.store.db import create_engine_for, upgrade
from callcenter.store.writer import CallWriter
from callcenter.telephony.link import Offsets, PbxLink
from callcenter.web.app import build_app

log = structlog.get_logger(__name__)


@dataclass
class Counters:
    events: int = 0
    finished: int = 0
    finished_inbound: int = 0
    by_outcome: dict[str, int] = field(default_factory=dict)


class Service:
    """The running service: PBX links -> trackers -> store and web."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Callable[[], float] = time.time,
        call_lines: TextIO | None = None,
        web_enabled: bool = True,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self._call_lines = call_lines if call_lines is not None else sys.stdout
        self._web_enabled = web_enabled
        self.counters = Counters()
        self.engine = create_engine_for(settings.database.url)
        self.store = CallStore(self.engine)
        self.writer = CallWriter(
            self.store,
            max_batch=settings.database.max_batch,
            flush_interval=settings.database.flush_interval_s,
            buffer_limit=settings.database.buffer_limit,
        )
        self.trackers: dict[str, CallTracker] = {}
        self.links: dict[str, PbxLink] = {}
        # Features that follow the live picture (screen-pops, live counters, recordings)
        # subscribe here; each is called in event order, and a failure is logged and
        # never reaches the link or the other listeners.
        self.event_listeners: list[Callable[[Event], None]] = []
        self.record_listeners: list[Callable[[CallRecord], None]] = []
        self._pending: set[asyncio.Task[None]] = set()
        self._runner: web.AppRunner | None = None
        self.web_port: int | None = None
        for pbx in settings.pbxes:
            self.trackers[pbx.name] = CallTracker(
                short_abandon_s=settings.targets.short_abandon_s,
                inbound_contexts=frozenset(pbx.inbound_contexts),
            )
            self.links[pbx.name] = self._build_link(pbx)

    def _build_link(self, pbx: PbxSettings) -> PbxLink:
        zone = self.settings.zone
        if pbx.timezone:
            zone = zoneinfo.ZoneInfo(pbx.timezone)

        async def load_offsets() -> Offsets:
            return await asyncio.to_thread(self.store.get_offsets, pbx.name)

        async def save_offsets(offsets: Offsets) -> None:
            # Records derived from what was read must be on disk before the cursor moves.
            await self.writer.flush()
            await asyncio.to_thread(self.store.save_offsets, pbx.name, offsets)

        tracker = self.trackers[pbx.name]
        return PbxLink(
            pbx,
            zone=zone,
            sink=lambda event: self._on_event(tracker, event),
            load_offsets=load_offsets,
            save_offsets=save_offsets,
            clock=self.clock,
        )

    # --- event flow -------------------------------------------------------------------------

    def _on_event(self, tracker: CallTracker, event: Event) -> None:
        self.counters.events += 1
        for record in tracker.apply(event):
            self._on_finished(record)
        for listener in self.event_listeners:
            try:
                listener(event)
            except Exception:
                log.exception("event listener failed", listener=repr(listener), kind=event.kind)

    def _on_finished(self, record: CallRecord) -> None:
        self.counters.finished += 1
        if record.kind == "inbound":
            self.counters.finished_inbound += 1
        self.counters.by_outcome[record.outcome] = (
            self.counters.by_outcome.get(record.outcome, 0) + 1
        )
        task = asyncio.get_running_loop().create_task(self.writer.submit(record))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        for listener in self.record_listeners:
            try:
                listener(record)
            except Exception:
                log.exception("record listener failed", listener=repr(listener))
        if self.settings.logging.call_lines and record.kind == "inbound":
            self._call_lines.write(format_call_line(record, self.settings.zone) + "\n")
            self._call_lines.flush()

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        await asyncio.to_thread(upgrade, self.settings.database.url)
        self.writer.start()
        if self._web_enabled:
            app = build_app(self)
            self._runner = web.AppRunner(app, access_log=None)
            await self._runner.setup()
            site = web.TCPSite(self._runner, self.settings.web.host, self.settings.web.port)
            await site.start()
            server = site._server
            sockets = getattr(server, "sockets", None) or []
            self.web_port = sockets[0].getsockname()[1] if sockets else self.settings.web.port
            log.info("web listening", url=f"http://{self.settings.web.host}:{self.web_port}")
        for link in self.links.values():
            await link.start()

    async def stop(self) -> None:
        for link in self.links.values():
            await link.close()
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
        await self.writer.close(timeout=10.0)
        if self._runner is not None:
            await self._runner.cleanup()
        self.engine.dispose()

    async def settle(self) -> None:
        """Wait until every finished record handed to the writer is stored."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)
        await self.writer.flush()

    def ready(self) -> dict[str, bool]:
        parts = {f"pbx:{name}": link.connected for name, link in self.links.items()}
        parts["database"] = self.writer.available
        return parts


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
