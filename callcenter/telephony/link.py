"""One PBX: its AMI link, the translation of what it says, and resync after a reconnect.

Everything leaves here as domain events, in order, through ``sink``. After each login the
link rebuilds the picture from Asterisk instead of guessing:
1. ``CoreShowChannels`` -> ChannelSnapshot per live channel,
2. ``QueueStatus`` -> QueueEntrySnapshot / QueueMemberChanged(snapshot),
3. queue_log and CDR lines written since the last read -> the same events Asterisk
   would have sent for calls that began and ended while nobody listened,
4. ResyncCompleted with the live channel ids, so the tracker can close what ended.
Live events that arrive meanwhile are held by the AMI client and delivered afterwards.
"""

from __future__ import annotations

import asyncio
import time
import zoneinfo
from collections.abc import Awaitable, Callable, Mapping

import structlog

from callcenter.config import PbxSettings
from callcenter.events import Event, LinkDown, LinkUp, ResyncCompleted
from callcenter.telephony.ami import AmiClient, AmiError
from callcenter.telephony.ami_events import translate, translate_snapshot
from callcenter.telephony.durable import DurableTail, durable_events

log = structlog.get_logger(__name__)

Offsets = dict[str, tuple[int, str]]
EventSink = Callable[[Event], None]


class PbxLink:
    def __init__(
        self,
        settings: PbxSettings,
        *,
        zone: zoneinfo.ZoneInfo,
        sink: EventSink,
        load_offsets: Callable[[], Awaitable[Offsets]] | None = None,
        save_offsets: Callable[[Offsets], Awaitable[None]] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.name = settings.name
        self._sink = sink
        self._zone = zone
        self._clock = clock
        self._load_offsets = load_offsets
        self._save_offsets = save_offsets
        self._tail = (
            DurableTail(settings.queue_log or None, settings.cdr_csv or None, zone=zone)
            if settings.queue_log or settings.cdr_csv
            else None
        )
        ami = settings.ami
        self.client = AmiClient(
            ami.host,
            ami.port,
            ami.username,
            ami.secret,
            on_event=self._on_message,
            on_link_up=self._on_link_up,
            on_link_down=self._on_link_down,
            action_timeout=ami.action_timeout_s,
            ping_interval=ami.ping_interval_s,
            ping_timeout=ami.ping_timeout_s,
            backoff_initial=ami.backoff_initial_s,
            backoff_max=ami.backoff_max_s,
        )
        self.resyncs = 0
        self._retry: asyncio.Task[None] | None = None
        # Called after each completed resync (e.g. to re-check queue membership).
        self.after_resync: list[Callable[[], None]] = []

    async def start(self) -> None:
        if self._tail is not None and self._load_offsets is not None:
            saved = await self._load_offsets()
            if saved:
                self._tail.restore(saved)
            else:
                # First start: history before now is not ours to count twice.
                self._tail.skip_to_end()
        await self.client.start()

    async def take_over(self) -> None:
        """This instance now speaks for the PBX (another one stopped): read the durable
        records on from where the last holder's cursor stands, then rebuild the open calls.
        While the link is down its next login does the same."""
        if self._tail is not None and self._load_offsets is not None:
            saved = await self._load_offsets()
            if saved:
                self._tail.restore(saved)
        if self.client.connected:
            try:
                await self.resync()
            except AmiError as exc:
                log.warning("resync failed, retrying", pbx=self.name, error=str(exc))
                self._retry = asyncio.get_running_loop().create_task(self._retry_resync())

    async def close(self) -> None:
        if self._retry is not None:
            self._retry.cancel()
        await self.client.close()

    @property
    def connected(self) -> bool:
        return self.client.connected

    # --- callbacks from the AMI client ------------------------------------------------------

    def _on_message(self, message: Mapping[str, str]) -> None:
        event = translate(message, self.name, tz=self._zone)
        if event is not None:
            self._sink(event)

    def _on_link_down(self, reason: str) -> None:
        log.warning("ami link lost", pbx=self.name, reason=reason)
        self._sink(LinkDown(pbx=self.name, call_id="", at=self._clock(), reason=reason))

    async def _on_link_up(self, reconnect: bool) -> None:
        log.info("ami link up", pbx=self.name, reconnect=reconnect)
        self._sink(LinkUp(pbx=self.name, call_id="", at=self._clock(), reconnect=reconnect))
        try:
            await self.resync()
        except AmiError as exc:
            # Nothing was marked read: retry while live events keep flowing.
            log.warning("resync failed, retrying", pbx=self.name, error=str(exc))
            self._retry = asyncio.get_running_loop().create_task(self._retry_resync())

    async def _retry_resync(self, attempts: int = 5, delay_s: float = 1.0) -> None:
        for _ in range(attempts):
            await asyncio.sleep(delay_s)
            if not self.client.connected:
                return  # the next login resyncs anyway
            try:
                await self.resync()
                return
            except AmiError as exc:
                log.warning("resync failed, retrying", pbx=self.name, error=str(exc))

    async def resync(self) -> None:
        started = await self._pbx_time()
        live_ids: list[str] = []
        channels = await self.client.send_list_action({"Action": "CoreShowChannels"})
        for message in channels:
            event = translate_snapshot(message, self.name, started)
            if event is not None:
                live_ids.append(event.channel_id)
                self._sink(event)
        queues = await self.client.send_list_action({"Action": "QueueStatus"})
        for message in queues:
            event = translate_snapshot(message, self.name, started)
            if event is not None:
                self._sink(event)
        if self._tail is not None:
            entries, rows, offsets = self._tail.read_new()
            for event in durable_events(entries, rows, self.name):
                self._sink(event)
            if self._save_offsets is not None:
                await self._save_offsets(offsets)
            self._tail.commit(offsets)
        self._sink(
            ResyncCompleted(pbx=self.name, call_id="", at=started, live_channel_ids=tuple(live_ids))
        )
        self.resyncs += 1
        log.info("resync done", pbx=self.name, channels=len(live_ids))
        for callback in self.after_resync:
            callback()

    async def _pbx_time(self) -> float:
        """Asterisk's own clock (Ping's Timestamp), so snapshot ages line up with events."""
        reply = await self.client.send_action({"Action": "Ping"})
        try:
            return float(reply.get("Timestamp", ""))
        except ValueError:
            return self._clock()
