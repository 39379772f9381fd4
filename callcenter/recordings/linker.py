"""Live linking: recordings follow the calls as the events arrive.

MixMonitorStart (``RecordingStarted``) says a channel is being recorded; Asterisk 22 sends
no stop when the call simply hangs up, so the call's end (the finished ``CallRecord``)
closes the recording. Then the file is looked for at once, and again by the watcher's
polling until it lands or ``late_grace_s`` passes (then ``orphans`` reports the call, with
a warning). Each pass also checks the recordings disk: a warning when it is almost full
(MixMonitor's next files would be lost), a line when it has room again.

``LinkerState`` decides (pure, clock passed in); ``RecordingLinker`` moves data.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, tzinfo
from pathlib import Path

import structlog

from callcenter.core.call_record import CallRecord
from callcenter.core.events import ChannelHungUp, Event, RecordingStarted
from callcenter.recordings.index import CallFacts, ids_to_calls
from callcenter.recordings.maintenance import recordings_root
from callcenter.recordings.scanner import RecordingWatcher, ScanReport
from callcenter.recordings.settings import RecordingsContext
from callcenter.recordings.store import RecordingStore

log = structlog.get_logger(__name__)

LOW_SPACE_BYTES = 1 << 30  # or 5 % of the disk, whichever is less: "almost full"


@dataclass(slots=True)
class LinkerState:
    late_grace_s: float = 600.0
    started: dict[tuple[str, str], set[str]] = field(default_factory=dict)  # call -> channel ids
    awaiting: dict[tuple[str, str], tuple[CallFacts, float]] = field(default_factory=dict)

    def on_event(self, event: Event) -> bool:
        """Remember recording channels; True when the event may have closed a recording."""
        if isinstance(event, RecordingStarted):
            key = (event.pbx, event.call_id)
            self.started.setdefault(key, set()).add(event.channel_id)
            return False
        return isinstance(event, ChannelHungUp) and (event.pbx, event.call_id) in self.started

    def on_record(self, record: CallRecord, now: float) -> CallFacts | None:
        """A call ended: if it recorded, expect its file; returns what to look for."""
        key = (record.pbx, record.call_id)
        channels = self.started.pop(key, set())
        if not record.recorded and not channels:
            return None
        facts = CallFacts.from_record(record)
        extra = tuple(sorted(channels - set(facts.channel_ids)))
        facts = replace(facts, recorded=True, channel_ids=facts.channel_ids + extra)
        self.awaiting[key] = (facts, now)
        return facts

    def known(self) -> Mapping[str, CallFacts]:
        return ids_to_calls(facts for facts, _ in self.awaiting.values())

    def found(self, keys: set[tuple[str, str]]) -> None:
        for key in keys:
            self.awaiting.pop(key, None)

    def expire(self, now: float) -> list[CallFacts]:
        """Calls whose file never came within the grace period (orphans from now on)."""
        gone = [k for k, (_, since) in self.awaiting.items() if now - since > self.late_grace_s]
        return [self.awaiting.pop(k)[0] for k in gone]


class RecordingLinker:
    """Feed it the service's events and finished records; it indexes files as calls end.

    Wiring: ``service.event_listeners.append(linker.on_event)``,
    ``service.record_listeners.append(linker.on_record)``, ``linker.start()`` inside the
    running loop, ``await linker.stop()`` on shutdown.
    """

    def __init__(
        self,
        root: Path,
        store: RecordingStore,
        *,
        clock: Callable[[], float],
        late_grace_s: float = 600.0,
        interval_s: float = 5.0,
        settle_s: float = 2.0,
        zone: tzinfo = UTC,
    ) -> None:
        self.state = LinkerState(late_grace_s=late_grace_s)
        self.clock = clock
        self.store = store
        # the latest calls whose file never came (the full list: ``recordings orphans``)
        self.orphans: deque[CallFacts] = deque(maxlen=10_000)
        self.root = root
        self.low_space = False
        self.watcher = RecordingWatcher(
            root,
            store,
            interval_s=interval_s,
            settle_s=settle_s,
            zone=zone,
            known=self.state.known,
            on_scan=self._scanned,
        )

    @classmethod
    def from_settings(
        cls,
        settings: RecordingsContext,
        store: RecordingStore,
        clock: Callable[[], float] = time.time,
    ) -> RecordingLinker:
        rs = settings.recordings
        return cls(
            recordings_root(settings),
            store,
            clock=clock,
            late_grace_s=rs.late_grace_s,
            interval_s=rs.watch_interval_s,
            settle_s=rs.settle_s,
            zone=settings.zone,
        )

    def on_event(self, event: Event) -> None:
        if self.state.on_event(event):
            self.watcher.poke()

    def on_record(self, record: CallRecord) -> None:
        if self.state.on_record(record, self.clock()) is not None:
            self.watcher.poke()

    async def _scanned(self, _report: ScanReport) -> None:
        if self.state.awaiting:
            keys = set(self.state.awaiting)
            self.state.found(await asyncio.to_thread(self.store.linked_calls, keys))
        expired = self.state.expire(self.clock())
        if expired:
            log.warning("recorded calls without their files", calls=len(expired),
                        grace_s=self.state.late_grace_s, root=str(self.root))  # fmt: skip
        self.orphans.extend(expired)
        self._check_space()

    def _check_space(self) -> None:
        try:
            usage = shutil.disk_usage(self.root)
        except OSError:
            return
        low = usage.free < min(LOW_SPACE_BYTES, usage.total // 20)
        if low and not self.low_space:
            log.warning("recordings disk almost full: new recordings may be lost",
                        root=str(self.root), free_bytes=usage.free)  # fmt: skip
        elif self.low_space and not low:
            log.info("recordings disk has room again", root=str(self.root), free_bytes=usage.free)
        self.low_space = low

    def start(self) -> None:
        self.watcher.start()

    async def stop(self) -> None:
        await self.watcher.stop()

    async def scan_now(self, *, settle_s: float | None = None) -> ScanReport:
        return await self.watcher.scan_once(settle_s=settle_s)
