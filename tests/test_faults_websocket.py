"""A browser that stops reading its websocket (a frozen tab): the service goes on, the other
seats and wallboards get their frames on time, and the stalled socket is dropped with
close code 1013 and a reason once its backlog passes the limit, instead of holding memory
or a task forever.

The stalled client is a raw TCP socket with a small receive buffer that completes the
websocket handshake and then reads nothing, so the TCP window really shuts."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import socket
import struct
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
import structlog
from aiohttp import web
from cti_fixtures import add_users, client_for, serving
from fault_fixtures import until
from service_fixtures import service_settings
from yarl import URL

from callcenter.core.events import (
    AgentAnswered,
    AgentRinging,
    AgentRingNoAnswer,
    ChannelCreated,
    ChannelHungUp,
    Event,
    QueueJoined,
    QueueMemberChanged,
)
from callcenter.cti import screenpop
from callcenter.cti.screenpop import SOCKET_BACKLOG
from callcenter.service import Service
from callcenter.testing import running_simulator
from callcenter.web.outbox import SLOW_CLIENT_CODE, SocketOutbox

PBX = "main"
DROPPED = "websocket client too slow: dropped"


class StalledClient:
    """A websocket client that completes the handshake and then stops reading."""

    def __init__(self, base: str, path: str, cookie: str) -> None:
        self.base, self.path, self.cookie = base, path, cookie
        self.sock = socket.socket()
        # A small receive buffer: the window shuts after a few kilobytes.
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.setblocking(False)
        self._buffer = b""

    async def connect(self) -> None:
        loop = asyncio.get_running_loop()
        host = urlsplit(self.base)
        await loop.sock_connect(self.sock, (host.hostname, host.port))
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {self.path} HTTP/1.1\r\nHost: {host.netloc}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Origin: {self.base}\r\nCookie: {self.cookie}\r\n\r\n"
        )
        await loop.sock_sendall(self.sock, request.encode())
        while b"\r\n\r\n" not in self._buffer:
            chunk = await asyncio.wait_for(loop.sock_recv(self.sock, 4096), 60)
            assert chunk, "connection closed during the handshake"
            self._buffer += chunk
        head, _, self._buffer = self._buffer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head[:200]

    async def read_to_close(self, timeout: float = 60.0) -> tuple[int | None, str, int]:
        """Start reading again: (close code, reason, text frames before it); the code is
        None when the connection ended without a close frame."""
        loop = asyncio.get_running_loop()
        frames = 0
        deadline = time.monotonic() + timeout
        while True:
            frame = self._next_frame()
            if frame is not None:
                opcode, payload = frame
                if opcode == 0x8:
                    code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                    return code, payload[2:].decode("utf-8", "replace"), frames
                frames += opcode == 0x1
                continue
            try:
                chunk = await asyncio.wait_for(
                    loop.sock_recv(self.sock, 65536), max(0.01, deadline - time.monotonic())
                )
            except ConnectionResetError:
                return None, "reset", frames
            if not chunk:
                return None, "eof", frames
            self._buffer += chunk

    def _next_frame(self) -> tuple[int, bytes] | None:
        data = self._buffer
        if len(data) < 2:
            return None
        opcode, length, offset = data[0] & 0x0F, data[1] & 0x7F, 2
        if length == 126:
            if len(data) < 4:
                return None
            length, offset = struct.unpack("!H", data[2:4])[0], 4
        elif length == 127:
            if len(data) < 10:
                return None
            length, offset = struct.unpack("!Q", data[2:10])[0], 10
        if len(data) < offset + length:
            return None
        self._buffer = data[offset + length :]
        return opcode, data[offset : offset + length]

    def close(self) -> None:
        self.sock.close()


def cookie_header(http: aiohttp.ClientSession, base: str) -> str:
    cookies = http.cookie_jar.filter_cookies(URL(base))
    return "; ".join(f"{name}={morsel.value}" for name, morsel in cookies.items())


@dataclass
class Running:
    service: Service
    base: str

    def publish(self, *events: Event) -> None:
        for event in events:
            self.service.publish(event)


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[Running]:
    async with running_simulator(tmp_path / "pbx", seed=2, secret="s") as pbx:
        service = Service(
            service_settings(tmp_path, pbx), managed_queues=set(), call_lines=io.StringIO()
        )
        await service.start()
        try:
            add_users(service.cti.accounts)  # alice PJSIP/1001, bob PJSIP/1002, sue supervisor
            yield Running(service, f"http://127.0.0.1:{service.web_port}")
        finally:
            await service.stop()


NAME = "业主" * 200  # a long caller name: each pop frame is about 1.6 kB


def call_events(n: int, at: float) -> tuple[list[Event], list[Event]]:
    """One call that rings alice (who lets it ring out), then bob (who answers): the
    events up to bob's ringing, and the rest."""
    call = f"1700000000.{n}"
    trunk = f"PJSIP/trunk-{n:08x}"
    common = {"pbx": PBX, "call_id": call, "at": at}
    first: list[Event] = [
        ChannelCreated(**common, channel_id=call, channel=trunk, context="from-pstn",
                       exten="4008001000", caller_name=NAME),
        QueueJoined(**common, channel_id=call, channel=trunk, queue="support", position=1),
        AgentRinging(**common, channel_id=call, channel=trunk, queue="support",
                     interface="PJSIP/1001", dest_channel=f"PJSIP/1001-{n:08x}",
                     dest_channel_id=f"{call}1"),
        AgentRingNoAnswer(**common, channel_id=call, channel=trunk, queue="support",
                          interface="PJSIP/1001"),
        AgentRinging(**common, channel_id=call, channel=trunk, queue="support",
                     interface="PJSIP/1002", dest_channel=f"PJSIP/1002-{n:08x}",
                     dest_channel_id=f"{call}2"),
    ]  # fmt: skip
    rest: list[Event] = [
        AgentAnswered(**common, channel_id=call, channel=trunk, queue="support",
                      interface="PJSIP/1002", dest_channel_id=f"{call}2"),
        ChannelHungUp(**common, channel_id=call, channel=trunk, cause=16),
    ]  # fmt: skip
    return first, rest


async def receive_pops(ws: aiohttp.ClientWebSocketResponse, arrived: set[str]) -> None:
    """bob's browser: note each call whose ringing pop has arrived."""
    async for message in ws:
        frame = json.loads(message.data)
        if frame.get("type") == "pop" and frame.get("state") == "ringing":
            arrived.add(frame["call_id"])


BOB_LAG = 20  # calls: how far bob's pops may trail the calls published


async def test_a_seat_that_stops_reading_is_dropped_and_the_others_keep_popping(
    running: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = running.service.cti.hub
    # Only the backlog drops alice here (the wallboard test covers the send timeout), and
    # her close frame waits for her however long this busy machine takes to read again.
    hub.send_timeout_s = 3600.0
    monkeypatch.setattr(screenpop, "SocketOutbox", partial(SocketOutbox, close_timeout_s=3600.0))
    calls = 1500  # alice's two frames a call: more than her buffers and backlog hold
    async with client_for(running.base, "alice") as alice, client_for(running.base, "bob") as bob:
        stalled = StalledClient(running.base, "/ws/seat", cookie_header(alice.http, alice.base))
        await stalled.connect()
        async with bob.http.ws_connect(f"{running.base}/ws/seat") as bob_ws:
            await until(lambda: hub.connected("PJSIP/1001") == 1 and hub.connected("PJSIP/1002"))
            arrived: set[str] = set()
            reader = asyncio.get_running_loop().create_task(receive_pops(bob_ws, arrived))
            published: list[str] = []
            with structlog.testing.capture_logs() as logs:
                for n in range(calls):
                    first, rest = call_events(n, time.time())
                    running.publish(*first, *rest)
                    published.append(first[0].call_id)
                    if n >= BOB_LAG:
                        # Calls arrive as fast as bob's browser shows them, never more
                        # than BOB_LAG ahead: alice's backlog only reaches its limit if
                        # bob's pops go on while her socket is stuck.
                        await until(lambda call=published[n - BOB_LAG]: call in arrived)
                await until(lambda: len(arrived) == calls)
                await until(lambda: any(e["event"] == DROPPED for e in logs))
            # alice's browser reads again (within the close timeout): the frames it had,
            # then the close frame with a clear reason.
            code, reason, frames = await stalled.read_to_close()
            stalled.close()
            await until(lambda: hub.connected("PJSIP/1001") == 0)
            reader.cancel()
    assert arrived == set(published)
    dropped = [e for e in logs if e["event"] == DROPPED]
    assert [e["socket"] for e in dropped] == ["seat PJSIP/1001"]
    assert dropped[0]["reason"] == f"too slow: {SOCKET_BACKLOG} messages unsent"
    assert code == SLOW_CLIENT_CODE == 1013
    assert reason == f"too slow: {SOCKET_BACKLOG} messages unsent"
    assert 0 < frames < 2 * calls
    # The event path never waited: every call also ended on screen.
    assert running.service.cti.popper.open_calls() == 0


async def test_a_wallboard_that_stops_reading_is_dropped_and_the_others_stay_current(
    running: Running,
) -> None:
    hub = running.service.metrics.wallboard
    hub.send_timeout_s = 1.0  # a snapshot unsent this long drops the socket
    # Many seats make every snapshot large (about 150 kB), so the buffers fill quickly.
    running.publish(*(
        QueueMemberChanged(pbx=PBX, call_id="", at=time.time(), change="status",
                           queue="support", interface=f"PJSIP/{20000 + n}", status=1)
        for n in range(4000)
    ))  # fmt: skip
    async with client_for(running.base, "sue") as sue, client_for(running.base, "ada") as ada:
        stalled = StalledClient(running.base, "/ws/wallboard", cookie_header(sue.http, sue.base))
        await stalled.connect()
        async with ada.http.ws_connect(f"{running.base}/ws/wallboard") as board:
            await until(lambda: hub.connected == 2)
            with structlog.testing.capture_logs() as logs:
                deadline = time.monotonic() + 60
                while not any(e["event"] == DROPPED for e in logs):
                    assert time.monotonic() < deadline, "the stalled wallboard was never dropped"
                    running.publish(_status("PJSIP/20000", 2))  # a change: a push follows
                    await asyncio.sleep(0.05)
                    while await _pending(board) is not None:
                        pass  # ada's board reads everything
                # ada's board still follows the changes.
                running.publish(_status("PJSIP/29999", 5))
                seen = await _until_seat(board, "PJSIP/29999", timeout=60)
                # The stalled browser reads again (within the close timeout).
                code, reason, _frames = await stalled.read_to_close()
                stalled.close()
                await until(lambda: hub.connected == 1)
    assert seen["state"] != "idle"
    dropped = [e for e in logs if e["event"] == DROPPED]
    assert [e["socket"] for e in dropped] == ["wallboard"]
    assert code == SLOW_CLIENT_CODE
    assert reason == "not reading: a message unsent after 1 s"


def _status(interface: str, status: int) -> QueueMemberChanged:
    return QueueMemberChanged(pbx=PBX, call_id="", at=time.time(), change="status",
                              queue="support", interface=interface, status=status)  # fmt: skip


async def _pending(ws: aiohttp.ClientWebSocketResponse) -> aiohttp.WSMessage | None:
    try:
        return await ws.receive(timeout=0.001)
    except TimeoutError:
        return None


async def _until_seat(
    ws: aiohttp.ClientWebSocketResponse, interface: str, timeout: float
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        message = await ws.receive(timeout=max(0.001, deadline - time.monotonic()))
        frame = json.loads(message.data)
        for seat in frame.get("seats", []):
            if seat["interface"] == interface:
                return dict(seat)


async def test_a_dropped_socket_that_never_reads_again_is_reset(tmp_path: Path) -> None:
    """Behind a backlog it never read, the close frame cannot arrive: after the close
    timeout the connection is reset, and the server keeps none of the unsent bytes."""
    served: dict[str, Any] = {}

    async def handler(request: web.Request) -> web.WebSocketResponse:
        # aiohttp's own close timeout set to an hour: only the outbox's can end this.
        ws = web.WebSocketResponse(timeout=3600)
        await ws.prepare(request)
        assert request.transport is not None
        outbox = SocketOutbox(ws, name="test", limit=64, transport=request.transport,
                              close_timeout_s=0.5)  # fmt: skip
        served.update(outbox=outbox, transport=request.transport,
                      sock=request.transport.get_extra_info("socket"))  # fmt: skip
        pump = asyncio.get_running_loop().create_task(outbox.run())
        while not outbox.dropped:  # as fast as it is taken, until the peer takes no more
            outbox.push("x" * 1000)
            await asyncio.sleep(0.01 if outbox.unsent > 32 else 0)
        async for _message in ws:
            pass
        await asyncio.gather(pump, return_exceptions=True)
        await outbox.closed()
        return ws

    app = web.Application()
    app.router.add_get("/ws", handler)
    async with serving(app) as base:
        stalled = StalledClient(base, "/ws", cookie="")
        await stalled.connect()
        await until(lambda: "outbox" in served and bool(served["outbox"].dropped))
        transport = served["transport"]
        await until(lambda: transport.is_closing() and not transport.get_write_buffer_size())
        await until(lambda: served["sock"].fileno() == -1)  # closed: the reset is sent
        code, reason, _frames = await stalled.read_to_close()
        stalled.close()
    assert served["outbox"].dropped == "too slow: 64 messages unsent"
    assert (code, reason) == (None, "reset")
