"""Our FastAGI server: the AGI protocol and its sockets, for any session handler.

Robust where panoramisk's server is not:

- the ``agi_*`` headers are read with a deadline, line length and count limits; a peer
  that closes early, stays silent or sends garbage costs one short-lived task, nothing else;
- each session runs in its own task, and whatever goes wrong in it ends only that session;
- ``HANGUP`` lines are noted apart from replies (so replies never shift by one), and
  ``200 result=-1`` / 511 end the session (``ChannelGone``);
- 511 and multi-line 520 replies are parsed; a disconnect mid-command ends the session.

What a session does is its handler's (``AgiSessionHandler``; the IVR's is
``callcenter.ivr.agi_session``): it is given the call's ``agi_*`` variables and an
``AgiChannel`` to send commands on.

Stopping (``close``): no new session is accepted (Asterisk then sets AGISTATUS=FAILURE and
the dialplan goes on without us), and every session past its headers is cancelled with
``AgiChannel.stopping`` set, so that its handler can hand the caller to the dialplan
(``AgiChannel.hand_over``): the command in progress is cut by the next command, as res_agi.c
does for a command arriving during STREAM FILE or GET DATA, and the session closes once
Asterisk confirms it. A caller inside an application (Dial, Queue) is left to it: nothing
reaches the dialplan before the application returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping, Sequence
from typing import Protocol
from urllib.parse import parse_qsl

import structlog

from callcenter.telephony.agi_codec import (
    MAX_LINE,
    AgiProtocolError,
    EnvironmentReader,
    HangupNotice,
    Reply,
    ReplyReader,
    command,
)

log = structlog.get_logger(__name__)

HAND_OVER_S = 2.0  # how long a stopping server waits for Asterisk to confirm a hand-over


class ChannelGone(Exception):
    """The channel hung up or the socket closed: stop sending commands."""


class AgiChannel:
    """One AGI session's command line to Asterisk: commands out, ``200 result=`` replies in.

    ``script`` is the AGI script path without its query, ``pbx`` the PBX the request comes
    from (``FastAgiServer.locate``)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *,
                 script: str, pbx: str, stats: dict[str, int]) -> None:  # fmt: skip
        self.reader = reader
        self.writer = writer
        self.script = script
        self.pbx = pbx
        self.stats = stats
        self.replies = ReplyReader()
        self.hung_up = False  # a HANGUP line arrived
        self.turns: list[float] = []  # seconds per command round trip (for the benchmark)
        self.task = asyncio.current_task()
        self.stopping = False  # the server is closing: hand the caller to the dialplan
        self.in_application = False  # an EXEC'd Dial / Queue has the caller

    def stop(self) -> None:
        """The server is closing: cancel the session so that it hands the caller over."""
        if not self.stopping and self.task is not None:
            self.stopping = True
            self.task.cancel()

    def resume_after_stop(self) -> bool:
        """Called on ``CancelledError``: True (and the cancellation withdrawn, so the handler
        may still send its hand-over) when it came from a stopping server."""
        if not self.stopping:
            return False
        if self.task is not None:
            self.task.uncancel()
        return True

    async def command(self, *words: str, args: tuple[str, ...] = ()) -> Reply:
        self.writer.write(command(*words, args=args))
        await self.writer.drain()
        started = time.perf_counter()
        while True:
            line = await self.reader.readline()
            if not line.endswith(b"\n"):
                raise ChannelGone("socket closed mid-command")
            got = self.replies.feed(line)
            if isinstance(got, HangupNotice):
                self.hung_up = True
                continue
            if got is not None:
                self.turns.append(time.perf_counter() - started)
                if got.hung_up:
                    raise ChannelGone("channel hung up")
                return got

    async def application(self, app: str, data: str) -> Reply:
        """``EXEC app data``: while it runs the caller is the application's, not ours."""
        self.in_application = True  # still so when a stop cancels this wait
        reply = await self.command("EXEC", app, args=(data,))
        self.in_application = False
        return reply

    async def hand_over(self, variable: str, value: str) -> bool:
        """The server is stopping: set ``variable`` for the dialplan without waiting for the
        command in progress. A new line cuts STREAM FILE, GET DATA, SAY and WAIT FOR DIGIT
        (res_agi.c hands them the control socket), which then reply nothing (WAIT FOR DIGIT:
        ``result=1``); a GET VARIABLE after it marks where Asterisk has read up to. False
        when Asterisk did not confirm within ``HAND_OVER_S``."""
        self.stats["handed_over"] += 1
        try:
            self.writer.write(command("SET", "VARIABLE", args=(variable, value)))
            self.writer.write(command("GET", "VARIABLE", args=(variable,)))
            await asyncio.wait_for(self._confirmed(value), HAND_OVER_S)
        except (TimeoutError, ChannelGone, ConnectionError, OSError, AgiProtocolError):
            return False
        return True

    async def _confirmed(self, value: str) -> None:
        await self.writer.drain()
        while True:
            line = await self.reader.readline()
            if not line.endswith(b"\n"):
                raise ChannelGone("socket closed during the hand-over")
            got = self.replies.feed(line)
            if isinstance(got, Reply) and (
                got.hung_up or (got.result == "1" and got.data == value)
            ):
                return


class AgiSessionHandler(Protocol):
    """What a session does with a call once its ``agi_*`` variables are read."""

    def warm_up(self) -> None:
        """Slow preparation, done once before the server listens (not on a caller's turn)."""

    async def run(self, channel: AgiChannel, variables: Mapping[str, str]) -> None:
        """The whole session; ``CancelledError`` with ``channel.stopping`` set means the
        server is closing (``AgiChannel.resume_after_stop``, ``AgiChannel.hand_over``)."""


class FastAgiServer:
    def __init__(
        self,
        host: str,
        port: int,
        handler: AgiSessionHandler,
        *,
        pbx: str = "main",
        header_timeout_s: float = 5.0,
        pbx_hosts: Mapping[str, str] | None = None,
        pbx_names: Sequence[str] = (),
    ) -> None:
        self.host = host
        self._port = port
        self.handler = handler
        self.pbx = pbx  # the PBX a request comes from when nothing else says
        self.pbx_hosts = dict(pbx_hosts or {})  # peer address -> PBX name
        self.pbx_names = {pbx, *pbx_names, *self.pbx_hosts.values()}
        self.header_timeout_s = header_timeout_s
        self.server: asyncio.Server | None = None
        self.sessions: set[asyncio.Task[None]] = set()
        self.live: set[AgiChannel] = set()  # sessions past their headers
        self.stats = {"sessions": 0, "completed": 0, "refused": 0, "failed": 0, "cancelled": 0,
                      "handed_over": 0}  # fmt: skip

    @property
    def port(self) -> int:
        if self.server is not None and self.server.sockets:
            return int(self.server.sockets[0].getsockname()[1])
        return self._port

    async def start(self) -> None:
        self.handler.warm_up()
        self.server = await asyncio.start_server(self._accept, self.host, self._port,
                                                 limit=MAX_LINE * 2)  # fmt: skip
        log.info("fastagi listening", host=self.host, port=self.port)

    def locate(self, script: str, writer: asyncio.StreamWriter) -> tuple[str, str]:
        """The script path and the PBX a request comes from: ``?pbx=name`` on the AGI URL
        (``agi://host/hotline?pbx=east``), else the PBX at the peer's address, else the
        default one."""
        path, _, query = script.partition("?")
        named = dict(parse_qsl(query)).get("pbx", "")
        if named in self.pbx_names:
            return path, named
        if named:
            log.warning("fastagi request names an unknown pbx", pbx=named, script=path)
        peer = writer.get_extra_info("peername")
        host = peer[0] if isinstance(peer, tuple) and peer else ""
        return path, self.pbx_hosts.get(host, self.pbx)

    async def abort(self) -> None:
        """Stop as a killed process: every session's socket just closes (Asterisk then
        sees AGISTATUS=SUCCESS with no route, and the dialplan goes on without us)."""
        if self.server is not None:
            self.server.close()
        for task in list(self.sessions):
            task.cancel()
        if self.sessions:
            await asyncio.gather(*self.sessions, return_exceptions=True)
        self.server = None

    async def close(self) -> None:
        """Stop: refuse new sessions, let every session hand its caller to the dialplan."""
        if self.server is not None:
            self.server.close()  # Asterisk's next connect fails: AGISTATUS=FAILURE
        for channel in list(self.live):
            channel.stop()
        handing = [c.task for c in self.live if c.task is not None]
        if handing:
            await asyncio.wait(handing, timeout=HAND_OVER_S + 1.0)
        for task in list(self.sessions):
            task.cancel()
        if self.sessions:
            await asyncio.gather(*self.sessions, return_exceptions=True)
        if self.server is not None:
            with contextlib.suppress(Exception):
                await self.server.wait_closed()
            self.server = None

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self.sessions.add(task)
        try:
            env = await asyncio.wait_for(_read_env(reader), self.header_timeout_s)
        except asyncio.CancelledError:
            # The server stops before the call said who it is: its socket closes now (as a
            # dying process's would), so Asterisk goes on in the dialplan at once.
            writer.close()
            if task is not None:
                self.sessions.discard(task)
            return
        except (TimeoutError, AgiProtocolError, ConnectionError, ValueError,
                asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:  # fmt: skip
            self.stats["refused"] += 1
            log.debug("fastagi connection refused", reason=type(exc).__name__)
            await _close(writer)
            if task is not None:
                self.sessions.discard(task)
            return
        self.stats["sessions"] += 1
        script, pbx = self.locate(env.get("agi_network_script", ""), writer)
        channel = AgiChannel(reader, writer, script=script, pbx=pbx, stats=self.stats)
        self.live.add(channel)
        try:
            await self.handler.run(channel, env)
            self.stats["completed"] += 1
        except asyncio.CancelledError:
            # The server is closing. asyncio's stream callback would log a cancelled
            # connection task as an error, so the session ends here instead.
            self.stats["cancelled"] += 1
        except Exception:
            self.stats["failed"] += 1
            log.exception("fastagi session failed", channel=env.get("agi_channel", ""))
        finally:
            self.live.discard(channel)
            await _close(writer)
            if task is not None:
                self.sessions.discard(task)


async def _read_env(reader: asyncio.StreamReader) -> dict[str, str]:
    env = EnvironmentReader()
    while not env.done:
        line = await reader.readline()
        if not line.endswith(b"\n"):
            raise AgiProtocolError("connection closed before the end of the AGI environment")
        env.feed(line)
    return env.env


async def _close(writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(Exception):
        writer.close()
        await asyncio.wait_for(writer.wait_closed(), 1.0)
