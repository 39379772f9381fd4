"""The screen-pop shell: events -> ``Popper`` -> the ringing seat's websocket(s).

``ScreenPop.on_event`` is synchronous and cheap (a Service event listener): the pop frame
(caller, owners from the in-memory index, IVR keys, wait) is queued to the seat's sockets
at once; the slower part (open work orders, last five calls: database reads) follows as a
``details`` frame. ``SeatHub`` remembers each seat's current pops, so a browser that
connects or reconnects while the phone rings still gets the card.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from aiohttp import web

from callcenter.cti.popper import Popper, PopUpdate
from callcenter.events import Event

log = structlog.get_logger(__name__)

Details = Callable[[PopUpdate], Awaitable[dict[str, Any]]]
SOCKET_BACKLOG = 256


class _Socket:
    """One browser connection with its own ordered outbox."""

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self.outbox: asyncio.Queue[str | None] = asyncio.Queue(SOCKET_BACKLOG)

    def push(self, text: str) -> None:
        try:
            self.outbox.put_nowait(text)
        except asyncio.QueueFull:  # a stuck browser: drop it rather than grow without bound
            log.warning("seat socket too slow, closing it")
            asyncio.get_running_loop().create_task(self.ws.close())

    async def pump(self) -> None:
        while (text := await self.outbox.get()) is not None:
            try:
                await self.ws.send_str(text)
            except (ConnectionError, RuntimeError):
                return


class SeatHub:
    """Interface -> connected sockets, and interface -> the pops on screen right now."""

    def __init__(self) -> None:
        self._sockets: dict[str, set[_Socket]] = {}
        self._current: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}

    def connected(self, interface: str) -> int:
        return len(self._sockets.get(interface, ()))

    def current(self, interface: str) -> list[dict[str, Any]]:
        return list(self._current.get(interface, {}).values())

    def publish(self, update: PopUpdate) -> None:
        pops = self._current.setdefault(update.interface, {})
        key = (update.pbx, update.call_id)
        frame = update.frame()
        if update.state in ("ringing", "answered"):
            previous = pops.get(key)
            if previous is not None and "details" in previous:
                frame["details"] = previous["details"]
            pops[key] = frame
        else:
            pops.pop(key, None)
            if not pops:
                self._current.pop(update.interface, None)
        self._send(update.interface, frame)

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

    async def serve(self, interface: str, ws: web.WebSocketResponse) -> None:
        """Run one connected socket until it closes: current pops first, then live ones."""
        socket = _Socket(ws)
        for frame in self.current(interface):
            socket.push(json.dumps(frame, ensure_ascii=False, default=str))
        self._sockets.setdefault(interface, set()).add(socket)
        pump = asyncio.get_running_loop().create_task(socket.pump())
        try:
            async for _message in ws:  # the page sends nothing we need; pings are automatic
                pass
        finally:
            sockets = self._sockets.get(interface)
            if sockets is not None:
                sockets.discard(socket)
                if not sockets:
                    del self._sockets[interface]
            if socket.outbox.full():
                pump.cancel()
            else:
                socket.outbox.put_nowait(None)
            await asyncio.gather(pump, return_exceptions=True)


class ScreenPop:
    def __init__(self, popper: Popper, hub: SeatHub, details: Details | None = None) -> None:
        self.popper = popper
        self.hub = hub
        self._details = details
        self._tasks: set[asyncio.Task[None]] = set()

    def on_event(self, event: Event) -> None:
        for update in self.popper.apply(event):
            self.hub.publish(update)
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
