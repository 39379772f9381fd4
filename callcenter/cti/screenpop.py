"""The screen-pop shell: events -> ``Popper`` -> the ringing seat's websocket(s).

``ScreenPop.on_event`` is synchronous and cheap (a Service event listener): the pop frame
(caller, owners from the in-memory index, IVR keys, wait) is queued to the seat's sockets
at once; the slower part (open work orders, last five calls: database reads) follows as a
``details`` frame. ``SeatHub`` remembers each seat's current pops, so a browser that
connects or reconnects while the phone rings still gets the card (and the cards of calls
it answered and has not closed yet: the wrap-up survives a reload — only calls answered
while a page of that seat was open, so an agent signing in is not handed wrap-ups for
calls the seat took before they came), and every pop is noted
in ``SeatHub.recent`` (which calls popped on which seat: what an agent may write on). A
browser that stops reading is dropped once ``SOCKET_BACKLOG`` frames wait for it
(``callcenter/web/outbox.py``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from aiohttp import web

from callcenter.core.events import Event
from callcenter.cti.popper import Popper, PopUpdate
from callcenter.cti.seat_calls import SeatCallLog
from callcenter.web.outbox import SocketOutbox

log = structlog.get_logger(__name__)

Details = Callable[[PopUpdate], Awaitable[dict[str, Any]]]
SOCKET_BACKLOG = 256
KEPT_ENDED = 20  # answered calls a seat keeps on screen after the hangup, until closed


class SeatHub:
    """Interface -> connected sockets, interface -> the pops on screen right now, and the
    calls that popped on each seat lately (``recent``)."""

    def __init__(self, *, send_timeout_s: float = 10.0) -> None:
        self.send_timeout_s = send_timeout_s  # a frame unsent this long drops the socket
        self.recent = SeatCallLog()
        self._sockets: dict[str, set[SocketOutbox]] = {}
        self._current: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}
        # interface -> the calls a page of the seat has shown (the only ended cards kept)
        self._watched: dict[str, set[tuple[str, str]]] = {}

    def connected(self, interface: str) -> int:
        return len(self._sockets.get(interface, ()))

    def current(self, interface: str) -> list[dict[str, Any]]:
        return list(self._current.get(interface, {}).values())

    def publish(self, update: PopUpdate) -> None:
        self.recent.note(update)
        pops = self._current.setdefault(update.interface, {})
        key = (update.pbx, update.call_id)
        frame = update.frame()
        seen = self.recent.at_seat(update.interface, update.pbx, update.call_id)
        answered_here = seen is not None and seen.answered
        watched = self._watched.setdefault(update.interface, set())
        if self._sockets.get(update.interface):
            watched.add(key)
        wrap_up = update.state == "ended" and answered_here and key in watched
        if update.state in ("ringing", "answered") or wrap_up:
            previous = pops.get(key)
            if previous is not None and "details" in previous:
                frame["details"] = previous["details"]
            if answered_here:
                frame["answered_here"] = True
            pops.pop(key, None)  # the newest change last: the oldest ended call goes first
            pops[key] = frame
            ended = [k for k, f in pops.items() if f["state"] == "ended"]
            for old in ended[: max(0, len(ended) - KEPT_ENDED)]:
                del pops[old]
                watched.discard(old)
        else:
            self._drop(update.interface, key)
        self._send(update.interface, frame)

    def _drop(self, interface: str, key: tuple[str, str]) -> None:
        """The call leaves the seat's screens."""
        pops = self._current.get(interface, {})
        pops.pop(key, None)
        self._watched.get(interface, set()).discard(key)
        if not pops:
            self._current.pop(interface, None)
            self._watched.pop(interface, None)

    def close(self, interface: str, pbx: str, call_id: str) -> bool:
        """The agent closed an ended call's card: it leaves the seat's screens (every tab)."""
        pops = self._current.get(interface, {})
        frame = pops.get((pbx, call_id))
        if frame is None or frame["state"] != "ended":
            return False
        self._drop(interface, (pbx, call_id))
        self._send(interface, {"type": "closed", "pbx": pbx, "call_id": call_id})
        return True

    def add_details(self, interface: str, pbx: str, call_id: str, details: dict[str, Any]) -> None:
        frame = self._current.get(interface, {}).get((pbx, call_id))
        if frame is not None:
            frame["details"] = details
        self._send(interface, {"type": "details", "pbx": pbx, "call_id": call_id, **details})

    def _send(self, interface: str, frame: dict[str, Any]) -> None:
        sockets = self._sockets.get(interface)
        if sockets:
            text = json.dumps(frame, ensure_ascii=False, default=str)
            for socket in sockets:
                socket.push(text)

    async def serve(
        self,
        interface: str,
        ws: web.WebSocketResponse,
        transport: asyncio.Transport | None = None,
    ) -> None:
        """Run one connected socket until it closes: current pops first, then live ones.
        ``transport`` (the request's) is cut off when a dropped browser reads nothing."""
        socket = SocketOutbox(
            ws, name=f"seat {interface}", limit=SOCKET_BACKLOG, transport=transport,
            send_timeout_s=self.send_timeout_s,
        )  # fmt: skip
        watched = self._watched.setdefault(interface, set())
        for frame in self.current(interface):
            watched.add((frame["pbx"], frame["call_id"]))  # shown now: its wrap-up is kept
            socket.push(json.dumps(frame, ensure_ascii=False, default=str))
        self._sockets.setdefault(interface, set()).add(socket)
        pump = asyncio.get_running_loop().create_task(socket.run())
        try:
            async for _message in ws:  # the page sends nothing we need; pings are automatic
                pass
        finally:
            sockets = self._sockets.get(interface)
            if sockets is not None:
                sockets.discard(socket)
                if not sockets:
                    del self._sockets[interface]
            pump.cancel()  # the socket is closed: nothing more can be sent
            await asyncio.gather(pump, return_exceptions=True)
            await socket.closed()


class ScreenPop:
    def __init__(
        self,
        popper: Popper,
        hub: SeatHub,
        details: Details | None = None,
        *,
        on_pop: Callable[[PopUpdate], None] | None = None,  # e.g. other systems' webhook
    ) -> None:
        self.popper = popper
        self.hub = hub
        self._details = details
        self._on_pop = on_pop
        self._tasks: set[asyncio.Task[None]] = set()

    def on_event(self, event: Event) -> None:
        for update in self.popper.apply(event):
            self.hub.publish(update)
            if self._on_pop is not None:
                self._on_pop(update)
            if update.first and self._details is not None:
                task = asyncio.get_running_loop().create_task(self._enrich(update))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _enrich(self, update: PopUpdate) -> None:
        assert self._details is not None
        try:
            details = await self._details(update)
        except Exception:
            log.exception("screen-pop details failed", call_id=update.call_id)
            return
        self.hub.add_details(update.interface, update.pbx, update.call_id, details)

    async def settle(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
