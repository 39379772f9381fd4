"""The sending side of a server-push websocket (seat screen-pops, the wallboard).

A browser that stops reading (a frozen tab, a laptop lid closed on a half-dead network)
must cost a bounded amount of memory and then be let go, without the event path ever
waiting for it:

- ``push`` never waits. Past ``limit`` unsent messages the socket is dropped; with
  ``coalesce`` the queue keeps only the newest message instead (snapshots, each of which
  replaces the one before).
- A message the peer has not taken within ``send_timeout_s`` (its TCP window stays shut)
  drops the socket as well.
- Dropping closes with 1013 (try again later) and a reason, which the pages answer by
  reconnecting and getting the current state. A peer that does not read the close frame
  either is cut off (the transport aborted) after ``close_timeout_s``.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import Callable

import structlog
from aiohttp import WSCloseCode, web

log = structlog.get_logger(__name__)

SLOW_CLIENT_CODE = WSCloseCode.TRY_AGAIN_LATER  # 1013
_RESET = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() sends RST, drops unsent data


class SocketOutbox:
    """One websocket's queue of outgoing text messages and the loop (``run``) sending them."""

    def __init__(
        self,
        ws: web.WebSocketResponse,
        *,
        name: str,
        limit: int,
        transport: asyncio.Transport | None = None,
        coalesce: bool = False,
        send_timeout_s: float = 10.0,
        close_timeout_s: float = 5.0,
    ) -> None:
        if limit < 1 or send_timeout_s <= 0 or close_timeout_s <= 0:
            raise ValueError("need limit >= 1 and positive timeouts")
        self.ws = ws
        self.name = name  # what the log line calls this socket (a seat, "wallboard")
        self.limit = limit
        self.coalesce = coalesce
        self.send_timeout_s = send_timeout_s
        self.close_timeout_s = close_timeout_s
        self._transport = transport
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._closer: asyncio.Task[None] | None = None
        self.dropped = ""  # why the socket was dropped; empty while it is not

    @property
    def unsent(self) -> int:
        return self._queue.qsize()

    def push(self, text: str) -> None:
        """Queue a message; never waits."""
        if self.dropped:
            return
        if self._queue.qsize() >= self.limit:
            if not self.coalesce:
                self.drop(f"too slow: {self.limit} messages unsent")
                return
            with contextlib.suppress(asyncio.QueueEmpty):
                self._queue.get_nowait()  # the newest snapshot replaces the oldest
        self._queue.put_nowait(text)

    async def run(
        self, *, idle_s: float | None = None, on_idle: Callable[[], str] | None = None
    ) -> None:
        """Send queued messages in order until the socket closes or is dropped.
        With ``on_idle``, a queue empty for ``idle_s`` seconds sends ``on_idle()``."""
        while not self.dropped:
            try:
                if on_idle is not None and idle_s is not None:
                    text = await asyncio.wait_for(self._queue.get(), idle_s)
                else:
                    text = await self._queue.get()
            except TimeoutError:
                text = on_idle() if on_idle is not None else None
            if text is None or self.dropped:
                return
            try:
                await asyncio.wait_for(self.ws.send_str(text), self.send_timeout_s)
            except TimeoutError:
                self.drop(f"not reading: a message unsent after {self.send_timeout_s:g} s")
                return
            except (ConnectionError, RuntimeError):
                return

    def drop(self, reason: str) -> None:
        """Close the socket as too slow (once); its queued messages are discarded."""
        if self.dropped:
            return
        self.dropped = reason
        log.warning("websocket client too slow: dropped", socket=self.name, reason=reason,
                    unsent=self._queue.qsize())  # fmt: skip
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(None)  # a waiting run() returns
        self._closer = asyncio.get_running_loop().create_task(self._close(reason))

    async def _close(self, reason: str) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.close_timeout_s
        with contextlib.suppress(TimeoutError, ConnectionError, RuntimeError):
            await asyncio.wait_for(
                self.ws.close(code=SLOW_CLIENT_CODE, message=reason.encode()[:120]),
                self.close_timeout_s,
            )
        transport = self._transport
        if transport is None:
            return
        # The close frame sits behind everything the peer has not read yet.
        while transport.get_write_buffer_size() > 0 and loop.time() < deadline:
            await asyncio.sleep(0.05)
        if transport.get_write_buffer_size() > 0 or not transport.is_closing():
            # Still not read: reset the connection, so that neither we nor the kernel
            # keep its unsent bytes.
            sock = transport.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET)
            transport.abort()

    async def closed(self) -> None:
        """Wait for a drop's close to end (for shutdown and tests)."""
        if self._closer is not None:
            await asyncio.gather(self._closer, return_exceptions=True)
