"""One PBX: its AMI link, the translation of what it says, and resync after a reconnect.

Everything leaves here as domain events, in order, through ``sink``. After each login the
link rebuilds the picture from Asterisk instead of guessing:
1. ``CoreShowChannels`` -> ChannelSnapshot per live channel,
2. ``QueueStatus`` -> QueueEntrySnapshot / QueueMemberChanged(snapshot),
3. queue_log and CDR lines written since the saved cursor -> the same events Asterisk
   would have sent for calls that began and ended while nobody listened,
4. ResyncCompleted with the live channel ids, so the tracker can close what ended.
Live events that arrive meanwhile are held by the AMI client and delivered afterwards.

Between logins the durable records are read on every few seconds (``durable_interval_s``):
lines the live events told already only move the cursor, which stands just before the first
line of a call still open (``durable_ledger``), so a restart re-reads little and loses
nothing; a line the live stream missed is applied.
"""

from __future__ import annotations

import asyncio
import os
import time
import zoneinfo
from collections import Counter
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping
from typing import Protocol

import structlog

from callcenter.core.events import Event, LinkDown, LinkUp, ResyncCompleted
from callcenter.core.tasks import cancel_and_wait
from callcenter.log import error_reason
from callcenter.telephony.ami import AmiClient, AmiError
from callcenter.telephony.ami_events import translate, translate_snapshot
from callcenter.telephony.ami_tls import client_tls_context, describe_tls, tls_server_name
from callcenter.telephony.cdr_table import CdrTable, EngineFactory
from callcenter.telephony.durable_ledger import DurableLedger
from callcenter.telephony.durable_tail import DurableTail, inspect_cdr_file
from callcenter.telephony.settings import PbxSettings

log = structlog.get_logger(__name__)

Offsets = dict[str, tuple[int, str]]
EventSink = Callable[[Event], None]


def describe_durable_records(settings: PbxSettings, engine_for: EngineFactory | None) -> list[str]:
    """What the service will read of a PBX's own records, and what that means;
    ``engine_for(url)``: an engine for the CDR database."""
    lines = []
    if settings.queue_log:
        there = "present" if os.path.exists(settings.queue_log) else "not there yet"
        lines.append(f"queue_log {settings.queue_log}: {there}")
    else:
        lines.append("queue_log: not configured: calls that begin and end while the service "
                     "is down or cut off cannot be recovered")  # fmt: skip
    if settings.cdr_db_url:
        table = CdrTable(
            settings.cdr_db_url,
            settings.cdr_db_table,
            zone=zoneinfo.ZoneInfo("UTC"),
            engine_for=engine_for,
        )
        try:
            lines.append(table.describe())
        finally:
            table.close()
        if settings.cdr_csv:
            lines.append(f"CDR file {settings.cdr_csv}: not read (the CDR table is)")
    elif settings.cdr_csv:
        lines.append(inspect_cdr_file(settings.cdr_csv).describe())
    else:
        lines.append("CDR: not configured: calls recovered from queue_log alone lack their "
                     "end, hotline and IVR-only calls")  # fmt: skip
    return lines


class CallDirectory(Protocol):
    """What the service knows of calls, for placing and settling durable lines."""

    def placed(self, ids: Iterable[str]) -> dict[str, str]:
        """Uniqueids (or call ids) -> their call, for calls open or ended in memory."""

    def follows(self, call_id: str) -> str:
        """ "live" (open, or ended as live events or the store had it), "rebuilt" (closed
        from durable records: their later lines may correct it) or "unknown"."""

    def is_open(self, call_id: str) -> bool: ...

    async def stored(self, ids: Collection[str]) -> dict[str, str]:
        """Ids of calls stored as ended -> their call; the calls are then followed."""


class PbxLink:
    def __init__(
        self,
        settings: PbxSettings,
        *,
        zone: zoneinfo.ZoneInfo,
        sink: EventSink,
        load_offsets: Callable[[], Awaitable[Offsets]] | None = None,
        save_offsets: Callable[[Offsets], Awaitable[None]] | None = None,
        calls: CallDirectory | None = None,
        holds: Callable[[], bool] = lambda: True,
        clock: Callable[[], float] = time.time,
        engine_for: EngineFactory | None = None,
    ) -> None:
        """``engine_for(url)``: an engine for the CDR database (``cdr_db_url``)."""
        self.settings = settings
        self._engine_for = engine_for
        self.name = settings.name
        self._sink = sink
        self._zone = zone
        self._clock = clock
        self._load_offsets = load_offsets
        self._save_offsets = save_offsets
        self._calls = calls
        self._holds = holds  # this instance speaks for the PBX (always, without Redis)
        table = (
            CdrTable(settings.cdr_db_url, settings.cdr_db_table, zone=zone, engine_for=engine_for)
            if settings.cdr_db_url
            else None
        )
        csv_path = settings.cdr_csv if table is None else ""
        self._tail = (
            DurableTail(settings.queue_log or None, csv_path or None, zone=zone, cdr_table=table)
            if settings.queue_log or csv_path or table is not None
            else None
        )
        # Lines taken as told live may not have been, if the link was dying: a link is
        # found dead within a ping interval and timeout; the passes of that long are kept.
        window_s = settings.ami.ping_interval_s + settings.ami.ping_timeout_s
        interval = settings.durable_interval_s or 2.0
        self._ledger = DurableLedger(self.name, recent=int(window_s / interval) + 2)
        self._saved: Offsets = {}
        self._durable_lock = asyncio.Lock()  # one pass over the durable records at a time
        self._resynced = False  # live since a completed resync: the periodic pass may run
        self._poller: asyncio.Task[None] | None = None
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
            tls=client_tls_context(ami),  # a TLS file that cannot be loaded stops the start here
            server_hostname=tls_server_name(ami),
        )
        self.resyncs = 0
        # AMI messages of a mapped kind that could not be translated, by event name.
        self.malformed: Counter[str] = Counter()
        self._retry: asyncio.Task[None] | None = None
        # Called after each completed resync (e.g. to re-check queue membership).
        self.after_resync: list[Callable[[], None]] = []

    async def start(self) -> None:
        ami = self.settings.ami
        (log.warning if ami.tls and not ami.tls_verify else log.info)(
            "ami link starting", pbx=self.name, tls=ami.tls, meaning=describe_tls(ami)
        )
        if self.settings.cdr_db_url:
            described = await asyncio.to_thread(
                describe_durable_records, self.settings, self._engine_for
            )
            meaning = " / ".join(described[1:])
            unreadable = "cannot be read" in meaning  # missing, or lacks a needed column
            (log.warning if unreadable else log.info)("cdr table", pbx=self.name, meaning=meaning)
        elif self.settings.cdr_csv:
            report = await asyncio.to_thread(inspect_cdr_file, self.settings.cdr_csv)
            layout = report.layout
            grouped = layout is not None and (layout.linkedid is None or not layout.usable)
            (log.warning if grouped else log.info)(
                "cdr layout", pbx=self.name, layout=layout.name if layout else "",
                meaning=report.describe(),
            )  # fmt: skip
        if self._tail is not None and self._load_offsets is not None:
            saved = await self._load_offsets()
            if saved:
                self._restore(saved)
            else:
                # First start: history before now is not ours to count twice. Saved at
                # once, so that after a crash what came meanwhile is read, not skipped.
                self._tail.skip_to_end()
                self._saved = dict(self._tail.position)
                if self._save_offsets is not None and self._saved:
                    await self._save_offsets(self._saved)
        await self.client.start()
        if self._tail is not None and self.settings.durable_interval_s > 0:
            self._poller = asyncio.get_running_loop().create_task(
                self._poll_durable(), name=f"durable-records:{self.name}"
            )

    def _restore(self, saved: Offsets) -> None:
        assert self._tail is not None
        self._tail.restore(saved)
        self._ledger.reset()
        self._saved = dict(saved)

    async def take_over(self) -> None:
        """This instance now speaks for the PBX (another one stopped): read the durable
        records on from where the last holder's cursor stands, then rebuild the open calls.
        While the link is down its next login does the same."""
        if self._tail is not None and self._load_offsets is not None:
            saved = await self._load_offsets()
            if saved:
                async with self._durable_lock:
                    self._restore(saved)
        if self.client.connected:
            try:
                await self.resync()
            except AmiError as exc:
                log.warning("resync failed, retrying", pbx=self.name, error=str(exc))
                self._retry = asyncio.get_running_loop().create_task(self._retry_resync())

    async def close(self, *, logoff: bool = True) -> None:
        if self._retry is not None:
            self._retry.cancel()
        await cancel_and_wait(self._poller)
        await self.client.close(logoff=logoff)

    @property
    def durable_waiting(self) -> int:
        """Durable lines read and still waiting to be applied (a second read, the grace)."""
        return self._ledger.waiting

    @property
    def connected(self) -> bool:
        return self.client.connected

    # --- callbacks from the AMI client ------------------------------------------------------

    def _on_message(self, message: Mapping[str, str]) -> None:
        event = translate(message, self.name, tz=self._zone, malformed=self.malformed)
        if event is not None:
            self._sink(event)

    def _on_link_down(self, reason: str) -> None:
        self._resynced = False
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
            event = translate_snapshot(message, self.name, started, malformed=self.malformed)
            if event is not None:
                live_ids.append(event.channel_id)
                self._sink(event)
        queues = await self.client.send_list_action({"Action": "QueueStatus"})
        for message in queues:
            event = translate_snapshot(message, self.name, started, malformed=self.malformed)
            if event is not None:
                self._sink(event)
        async with self._durable_lock:
            try:
                await self._read_durable(catch_up=True)
            except Exception as exc:  # a CDR database away, say: live tracking goes on
                log.warning("durable records not read", pbx=self.name, error=error_reason(exc))
            self._sink(
                ResyncCompleted(
                    pbx=self.name, call_id="", at=started, live_channel_ids=tuple(live_ids)
                )
            )
            await self._settle_durable()
        self._resynced = True
        self.resyncs += 1
        log.info("resync done", pbx=self.name, channels=len(live_ids))
        for callback in self.after_resync:
            callback()

    # --- the durable records ----------------------------------------------------------------

    async def _read_durable(self, *, catch_up: bool) -> None:
        """Read what was appended; apply what the service must learn from it."""
        if self._tail is None:
            return
        ledger = self._ledger
        unreadable = self._tail.table_error
        ledger.add(await asyncio.to_thread(self._tail.read_lines))
        if self._tail.table_error != unreadable:
            if self._tail.table_error:
                log.warning("cdr table not read", pbx=self.name, error=self._tail.table_error)
            else:
                log.info("cdr table read again", pbx=self.name)
        ids = ledger.unplaced_ids()
        calls = self._calls
        known = calls.placed(ids) if calls is not None else {}
        missing = ids - known.keys()
        if missing and calls is not None:
            known.update(await calls.stored(missing))
        follows = calls.follows if calls is not None else _unknown
        for event in ledger.take(known, follows, catch_up=catch_up):
            self._sink(event)

    def settled_offsets(self) -> Offsets | None:
        """Where the cursor may stand now (past the lines of the calls that are over), or
        None when it has not moved. The records of those calls must be stored before it is
        saved."""
        if self._tail is None:
            return None
        calls = self._calls
        offsets = self._ledger.settle(
            (lambda call_id: not calls.is_open(call_id)) if calls is not None else _always,
            self._tail.position,
        )
        merged = {**self._saved, **offsets}
        return None if merged == self._saved else merged

    async def _settle_durable(self) -> None:
        """Move the saved cursor past the lines whose calls are over and stored."""
        merged = self.settled_offsets()
        if merged is None:
            return
        if self._save_offsets is not None:
            await self._save_offsets(merged)
        self._saved = merged

    async def _poll_durable(self) -> None:
        interval = self.settings.durable_interval_s
        while True:
            await asyncio.sleep(interval)
            if not (self._resynced and self.client.connected and self._holds()):
                continue  # the next login's (or takeover's) resync reads them
            try:
                async with self._durable_lock:
                    await self._read_durable(catch_up=False)
                    await self._settle_durable()
            except Exception as exc:
                log.warning("durable records not read", pbx=self.name, error=error_reason(exc))

    async def _pbx_time(self) -> float:
        """Asterisk's own clock (Ping's Timestamp), so snapshot ages line up with events."""
        reply = await self.client.send_action({"Action": "Ping"})
        try:
            return float(reply.get("Timestamp", ""))
        except ValueError:
            return self._clock()


def _unknown(_call_id: str) -> str:
    return "unknown"


def _always(_call_id: str) -> bool:
    return True
