"""A small scripted AMI server over real TCP, for the AMI client's tests.

It speaks like Asterisk where the tests need it (banner, Login, Ping, Logoff, ActionID echo)
and can misbehave on command: refuse logins, drop every connection, go silent (accept and
read but never answer), and write its output split at arbitrary byte boundaries.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping

from callcenter.telephony.ami_codec import AmiParser, encode_action

BANNER = "Asterisk Call Manager/11.0.0"

Action = dict[str, str]
Handler = Callable[["AmiConnection", Action], Awaitable[None]]


def message(**fields: str) -> dict[str, str]:
    return dict(fields)


def reply_to(action: Mapping[str, str], response: str = "Success", **fields: str) -> dict[str, str]:
    """A reply as Asterisk builds it: Response, then the ActionID echo, then the rest."""
    out = {"Response": response}
    if "ActionID" in action:
        out["ActionID"] = action["ActionID"]
    out.update(fields)
    return out


class AmiConnection:
    """The server side of one client connection."""

    def __init__(
        self, server: AmiServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.server = server
        self.reader = reader
        self.writer = writer
        self.logged_in = False

    async def send(self, *messages: Mapping[str, str]) -> None:
        await self.send_raw(b"".join(encode_action(m) for m in messages))

    async def send_raw(self, data: bytes) -> None:
        size = self.server.chunk_size
        if not size:
            self.writer.write(data)
            await self.writer.drain()
            return
        for start in range(0, len(data), size):
            self.writer.write(data[start : start + size])
            await self.writer.drain()
            await asyncio.sleep(0)  # let the client read this piece on its own

    def drop(self) -> None:
        self.writer.transport.abort()

    async def serve(self) -> None:
        parser = AmiParser()
        self.writer.write(f"{self.server.banner}\r\n".encode())
        while True:
            data = await self.reader.read(65536)
            if not data:
                return
            for action in parser.feed(data):
                self.server.received.append(action)
                self.server.counts[action.get("Action", "").lower()] += 1
                if self.server.silent:
                    continue
                await self._dispatch(action)

    async def _dispatch(self, action: Action) -> None:
        name = action.get("Action", "").lower()
        handler = self.server.handlers.get(name)
        if handler is not None:
            await handler(self, action)
        elif name == "login":
            await self._login(action)
        elif not self.logged_in:
            await self.send(reply_to(action, "Error", Message="Permission denied"))
        elif name == "ping":
            await self.send(reply_to(action, Ping="Pong", Timestamp="1795731524.000000"))
        elif name == "logoff":
            await self.send(reply_to(action, "Goodbye", Message="Thanks for all the fish."))
            self.writer.close()
        else:
            await self.send(
                reply_to(action, "Error", Message=f"Invalid/unknown command: {action['Action']}")
            )

    async def _login(self, action: Action) -> None:
        server = self.server
        ok = action.get("Username") == server.username and action.get("Secret") == server.secret
        if ok:
            self.logged_in = True
            await self.send(reply_to(action, Message="Authentication accepted"))
            server.logins += 1
            server.logged_in.set()
            return
        server.login_failures += 1
        await self.send(reply_to(action, "Error", Message="Authentication failed"))
        self.writer.close()  # as Asterisk does after a failed login


class AmiServer:
    """Listens on 127.0.0.1 with an ephemeral port. Use as ``async with AmiServer() as s``."""

    def __init__(
        self,
        *,
        username: str = "callcenter",
        secret: str = "s3cr3t-pass",
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.tls = tls  # every connection TLS, as Asterisk's tlsbindaddr port
        self.username = username
        self.secret = secret
        self.banner = BANNER
        self.handlers: dict[str, Handler] = {}
        self.silent = False
        self.chunk_size = 0
        self.received: list[Action] = []
        self.counts: Counter[str] = Counter()
        self.connections_accepted = 0
        self.logins = 0
        self.login_failures = 0
        self.logged_in = asyncio.Event()
        self.clients: list[AmiConnection] = []
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    async def __aenter__(self) -> AmiServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def on(self, action: str, handler: Handler) -> None:
        """Answer ``action`` (case-insensitive) with ``handler`` instead of the default."""
        self.handlers[action.lower()] = handler

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._accept, "127.0.0.1", self.port, ssl=self.tls
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop_listening(self) -> None:
        """Refuse new connections (the port stays known so a restart can reuse it)."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def stop(self) -> None:
        await self.stop_listening()
        self.drop_all()
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def drop_all(self) -> None:
        for client in self.clients:
            client.drop()
        self.clients.clear()

    @property
    def live_clients(self) -> list[AmiConnection]:
        return [c for c in self.clients if c.logged_in and not c.writer.is_closing()]

    async def broadcast(self, *messages: Mapping[str, str]) -> None:
        for client in self.live_clients:
            await client.send(*messages)

    async def broadcast_raw(self, data: bytes) -> None:
        for client in self.live_clients:
            await client.send_raw(data)

    async def wait_for_logins(self, count: int, timeout: float = 60.0) -> None:
        async with asyncio.timeout(timeout):
            while self.logins < count:
                self.logged_in.clear()
                await self.logged_in.wait()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections_accepted += 1
        connection = AmiConnection(self, reader, writer)
        self.clients.append(connection)
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await connection.serve()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()
