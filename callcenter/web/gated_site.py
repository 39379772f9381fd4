"""The web server's listening site, with every connection passed through a ``ConnectionGate``.

aiohttp has no header-read timeout and no per-address limit, so each accepted connection
gets a thin protocol in front of aiohttp's own ``RequestHandler``: it asks the gate whether
to keep the connection, tells it every chunk of bytes and the close, and otherwise hands
everything to the handler unchanged. A sweep closes the connections the gate finds late.
The decisions are all in ``connection_gate.py``.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable, Hashable

import structlog
from aiohttp import web

from callcenter.core.tasks import cancel_and_wait
from callcenter.web.connection_gate import ConnectionGate

log = structlog.get_logger(__name__)

# How often late connections are looked for, as a share of the shorter timeout: a header
# block is closed at most a fifth of its timeout after its deadline.
SWEEPS_PER_TIMEOUT = 5
# A burst of connections waits in the kernel's accept queue instead of having its SYNs
# dropped (a dropped SYN costs a client, the health check too, a second or more); asyncio
# also accepts up to this many per loop pass. Linux caps it at net.core.somaxconn.
LISTEN_BACKLOG = 1024
# What the gate closed is logged at most this often, as counts: an attack is one line a
# while, not one per connection.
REPORT_INTERVAL_S = 10.0


class GatedProtocol(asyncio.Protocol):
    """One connection: admitted or closed at once, then aiohttp's handler behind it."""

    def __init__(
        self,
        gate: ConnectionGate,
        make_handler: Callable[[], asyncio.Protocol],
        clock: Callable[[], float],
        live: dict[Hashable, asyncio.Transport],
    ) -> None:
        self._gate = gate
        self._make_handler = make_handler
        self._clock = clock
        self._live = live
        self._inner: asyncio.Protocol | None = None
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        peer = transport.get_extra_info("peername")
        address = str(peer[0]) if isinstance(peer, tuple) and peer else ""
        refusal = self._gate.admit(self, address, self._clock())
        if refusal is not None:
            # abort, not close: the descriptor is freed now, whatever the peer does.
            transport.abort()
            return
        self._transport = transport
        self._live[self] = transport
        self._inner = self._make_handler()
        self._inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self._inner is None:
            return
        if not self._gate.received(self, data, self._clock()):
            self._abort()
            return
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received() if self._inner is not None else None

    def connection_lost(self, exc: Exception | None) -> None:
        self._gate.closed(self)
        self._live.pop(self, None)
        if self._inner is not None:
            self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        if self._inner is not None:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        if self._inner is not None:
            self._inner.resume_writing()

    def _abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()


class GatedTCPSite(web.BaseSite):
    """``web.TCPSite`` with a ``ConnectionGate`` in front of every connection."""

    def __init__(
        self,
        runner: web.BaseRunner,
        host: str,
        port: int,
        gate: ConnectionGate,
        *,
        ssl_context: ssl.SSLContext | None = None,
        backlog: int = LISTEN_BACKLOG,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(runner, ssl_context=ssl_context, backlog=backlog)
        self._host = host
        self._port = port
        self.gate = gate
        self._clock = clock
        self._live: dict[Hashable, asyncio.Transport] = {}
        self._sweeper: asyncio.Task[None] | None = None
        self._reported = gate.tally()
        self._next_report = clock() + REPORT_INTERVAL_S

    @property
    def name(self) -> str:
        scheme = "https" if self._ssl_context is not None else "http"
        return f"{scheme}://{self._host}:{self.port}"

    @property
    def port(self) -> int:
        if self._server is not None:
            sockets = getattr(self._server, "sockets", None) or []
            if sockets:
                return int(sockets[0].getsockname()[1])
        return self._port

    async def start(self) -> None:
        await super().start()
        handler_factory = self._runner.server
        assert handler_factory is not None
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: GatedProtocol(self.gate, handler_factory, self._clock, self._live),
            self._host,
            self._port,
            backlog=self._backlog,
            ssl=self._ssl_context,
            # A TLS handshake comes before the first header byte: it gets the same time.
            ssl_handshake_timeout=self.gate.header_timeout_s if self._ssl_context else None,
        )
        self._sweeper = loop.create_task(self._sweep(), name="web-connection-sweep")

    async def stop(self) -> None:
        await cancel_and_wait(self._sweeper)
        self._sweeper = None
        await super().stop()

    async def _sweep(self) -> None:
        shortest = min(self.gate.header_timeout_s, self.gate.body_timeout_s)
        interval = min(1.0, max(0.02, shortest / SWEEPS_PER_TIMEOUT))
        while True:
            await asyncio.sleep(interval)
            try:
                now = self._clock()
                self._close_late(now)
                if now >= self._next_report:
                    self._report(now)
            except Exception:  # the sweep must outlive any one bad pass
                log.exception("web connection sweep failed")

    def _close_late(self, now: float) -> None:
        for key, transport in self._live.items():
            if not transport.is_reading():
                self.gate.server_paused(key, now)
        late = self.gate.overdue(now)
        for key in late:
            overdue = self._live.pop(key, None)
            if overdue is not None:
                overdue.abort()

    def _report(self, now: float) -> None:
        self._next_report = now + REPORT_INTERVAL_S
        tally = self.gate.tally()
        closed = {reason: tally[reason] - self._reported[reason] for reason in tally}
        self._reported = tally
        if any(closed.values()):
            log.warning("web connections closed by the gate", **closed,
                        open=self.gate.open_count, interval_s=REPORT_INTERVAL_S)  # fmt: skip
