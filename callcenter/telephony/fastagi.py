"""Our FastAGI server: runs IVR flows (``callcenter.ivr.engine``) over AGI sessions.

Robust where panoramisk's server is not:

- the ``agi_*`` headers are read with a deadline, line length and count limits; a peer
  that closes early, stays silent or sends garbage costs one short-lived task, nothing else;
- each session runs in its own task, and whatever goes wrong in it ends only that session;
- ``HANGUP`` lines are noted apart from replies (so replies never shift by one), and
  ``200 result=-1`` / 511 end the walk cleanly with the path recorded;
- 511 and multi-line 520 replies are parsed; a disconnect mid-command ends the session.

Every session that ends on purpose says how in ``HOTLINE_ROUTE`` (``callcenter.ivr.routes``,
docs/decisions/0019-explicit-ivr-end.md): a queue, ``hangup``, ``voicemail``, ``done`` or
``fallback``; the dialplan sends an empty route (the service died mid-session) and an
unreachable service to the hotline's fallback queue.

Queues are handed to the dialplan by default (``queue_mode="dialplan"``): the server sets
``HOTLINE_ROUTE`` / ``QUEUE_PRIO`` and ends the AGI, and the dialplan runs
``Queue(${HOTLINE_ROUTE},...)`` as in the captured hotline. With ``queue_mode="exec"`` it
runs ``EXEC Queue`` inside the AGI and continues after the agent hangs up (the survey).
Voicemail is always the dialplan's (``HOTLINE_ROUTE=voicemail``, ``HOTLINE_MAILBOX``).
The script ``hotline/survey`` starts flow ``hotline`` at node ``survey``.

Stopping (``close``): no new session is accepted (Asterisk then sets AGISTATUS=FAILURE and
the dialplan queues the caller in the fallback queue), and every caller inside a session is
handed to the dialplan at once: the prompt is cut by the next command, as res_agi.c does
for a command arriving during STREAM FILE or GET DATA, ``HOTLINE_ROUTE`` becomes
``fallback`` (``done`` once a queue or dial served the caller), and the session closes once
Asterisk confirms it. A caller inside an application (Dial, Queue) is left to it: nothing
reaches the dialplan before the application returns, and then the dialplan decides from
DIALSTATUS / QUEUESTATUS.

``route_housekeeper(owner, now)``, when given, is asked at a ``dial: housekeeper`` node
where the owner's call goes (routing's decision: the housekeeper if on duty and free, else
the zone's queue, else the general queue); ``now`` is the PBX clock. Without it the
housekeeper's seat is dialled as the lookup found it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Literal
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

import structlog

from callcenter.core.contracts import OwnerInfo, RouteStep
from callcenter.core.events import Event, IvrLeft
from callcenter.ivr import engine as e
from callcenter.ivr import routes
from callcenter.ivr.prompts import sound_name
from callcenter.ivr.registry import FlowRegistry
from callcenter.ivr.schema import Flow
from callcenter.log import mask_number
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

Lookup = Callable[[str], Awaitable[OwnerInfo | None]]
RouteHousekeeper = Callable[[OwnerInfo, float], Sequence[RouteStep]]
DIGITS = "0123456789*#"
# QUEUESTATUS values for a caller the queue did not connect (app_queue.c). With the ``c``
# option an answered caller comes back with CONTINUE once the agent hangs up.
QUEUE_FAILURES = {"TIMEOUT", "FULL", "JOINEMPTY", "LEAVEEMPTY", "JOINUNAVAIL", "LEAVEUNAVAIL",
                  "WITHDRAW"}  # fmt: skip
HAND_OVER_S = 2.0  # how long a stopping server waits for Asterisk to confirm a hand-over


class _Gone(Exception):
    """The channel hung up or the socket closed: stop sending commands."""


class _Handed(Exception):
    """The session ended on purpose and the dialplan goes on (``HOTLINE_ROUTE`` is set)."""


class FastAgiServer:
    def __init__(
        self,
        host: str,
        port: int,
        *,
        flows: FlowRegistry,
        lookup: Lookup | None,
        on_event: Callable[[Event], None],
        clock: Callable[[], float] = time.time,
        zone: str = "Asia/Shanghai",
        pbx: str = "main",
        sound_prefix: str = "callcenter",
        header_timeout_s: float = 5.0,
        lookup_timeout_s: float = 1.0,
        queue_mode: Literal["dialplan", "exec"] = "dialplan",
        route_housekeeper: RouteHousekeeper | None = None,
        pbx_hosts: Mapping[str, str] | None = None,
        pbx_names: Sequence[str] = (),
    ) -> None:
        self.host = host
        self._port = port
        self.flows = flows
        self.lookup = lookup
        self.on_event = on_event
        self.clock = clock
        self.zone = ZoneInfo(zone)
        self.pbx = pbx  # the PBX a request comes from when nothing else says
        self.pbx_hosts = dict(pbx_hosts or {})  # peer address -> PBX name
        self.pbx_names = {pbx, *pbx_names, *self.pbx_hosts.values()}
        self.sound_prefix = sound_prefix
        self.header_timeout_s = header_timeout_s
        self.lookup_timeout_s = lookup_timeout_s
        self.queue_mode = queue_mode
        self.route_housekeeper = route_housekeeper
        self.server: asyncio.Server | None = None
        self.sessions: set[asyncio.Task[None]] = set()
        self.live: set[AgiSession] = set()  # sessions past their headers
        self.stats = {"sessions": 0, "completed": 0, "refused": 0, "failed": 0, "cancelled": 0,
                      "handed_over": 0}  # fmt: skip

    @property
    def port(self) -> int:
        if self.server is not None and self.server.sockets:
            return int(self.server.sockets[0].getsockname()[1])
        return self._port

    async def start(self) -> None:
        # China's holiday tables load lazily (about 0.7 s of imports): not on a caller's turn
        this_year = datetime.fromtimestamp(self.clock(), self.zone).year
        for year in (this_year, this_year + 1):
            e.china_holidays(year)
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
        sees AGISTATUS=SUCCESS with no route, and the dialplan queues the caller)."""
        if self.server is not None:
            self.server.close()
        for task in list(self.sessions):
            task.cancel()
        if self.sessions:
            await asyncio.gather(*self.sessions, return_exceptions=True)
        self.server = None

    async def close(self) -> None:
        """Stop: refuse new sessions, hand every caller in a session to the dialplan."""
        if self.server is not None:
            self.server.close()  # Asterisk's next connect fails: AGISTATUS=FAILURE
        for session in list(self.live):
            session.stop()
        handing = [s.task for s in self.live if s.task is not None]
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
        session = AgiSession(self, env, reader, writer)
        self.live.add(session)
        try:
            await session.run()
            self.stats["completed"] += 1
        except asyncio.CancelledError:
            # The server is closing. asyncio's stream callback would log a cancelled
            # connection task as an error, so the session ends here instead.
            self.stats["cancelled"] += 1
        except Exception:
            self.stats["failed"] += 1
            log.exception("fastagi session failed", channel=env.get("agi_channel", ""))
        finally:
            self.live.discard(session)
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


class AgiSession:
    """One call's walk through a flow: engine commands in, AGI commands out."""

    def __init__(self, server: FastAgiServer, env: dict[str, str],
                 reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:  # fmt: skip
        self.server = server
        self.env = env
        self.reader = reader
        self.writer = writer
        self.replies = ReplyReader()
        self.hung_up = False  # a HANGUP line arrived
        self.turns: list[float] = []  # seconds per command round trip (for the benchmark)
        self.task = asyncio.current_task()
        self.stopping = False  # the server is closing: hand the caller to the dialplan
        self.in_application = False  # an EXEC'd Dial / Queue has the caller
        self.state = e.begin("")  # the engine's state of this call (set in run)
        self.announced = False  # the IvrLeft of this call was handed to on_event
        self.reached = 0  # depth of the last command started: where the caller is in the flow

    def stop(self) -> None:
        """Hand the caller to the dialplan now (the server is closing)."""
        if not self.stopping and self.task is not None:
            self.stopping = True
            self.task.cancel()

    async def command(self, *words: str, args: tuple[str, ...] = ()) -> Reply:
        self.writer.write(command(*words, args=args))
        await self.writer.drain()
        started = time.perf_counter()
        while True:
            line = await self.reader.readline()
            if not line.endswith(b"\n"):
                raise _Gone("socket closed mid-command")
            got = self.replies.feed(line)
            if isinstance(got, HangupNotice):
                self.hung_up = True
                continue
            if got is not None:
                self.turns.append(time.perf_counter() - started)
                if got.hung_up:
                    raise _Gone("channel hung up")
                return got

    async def run(self) -> None:
        srv, env = self.server, self.env
        script, pbx = srv.locate(env.get("agi_network_script", ""), self.writer)
        flow_name, _, node = script.partition("/")
        dialled = env.get("agi_arg_1") or env.get("agi_extension", "")
        caller = env.get("agi_callerid", "")
        flow = srv.flows.flow_for(dialled, flow_name)
        if flow is None:
            # a number without a flow is a configuration mistake: the caller still reaches
            # the dialplan's fallback queue
            log.warning("no ivr flow for this call", dialled=dialled, script=script)
            with contextlib.suppress(_Gone, ConnectionError, OSError, asyncio.CancelledError):
                await self.command("SET", "VARIABLE",
                                   args=(routes.ROUTE_VARIABLE, routes.FALLBACK))  # fmt: skip
            return
        flows = srv.flows.flows  # one consistent version for the whole call
        now = srv.clock()
        state = e.begin(flow.name)
        start = e.Start(
            caller=caller, dialled=dialled, when=datetime.fromtimestamp(now, srv.zone), at=now,
            call_id=env.get("agi_uniqueid", ""), channel_id=env.get("agi_uniqueid", ""),
            channel=env.get("agi_channel", ""), pbx=pbx, node=node,
            channel_language=env.get("agi_language", ""),
            route_housekeeper=srv.route_housekeeper is not None,
        )  # fmt: skip
        # ids known before Start, so that a hangup during the first commands is still recorded
        state = replace(state, pbx=pbx, call_id=start.call_id, channel_id=start.channel_id,
                        channel=start.channel, caller=caller, dialled=dialled, now=now)  # fmt: skip
        self.state = state
        try:
            linkedid = await self.command("GET", "VARIABLE", args=("CHANNEL(linkedid)",))
            if linkedid.result == "1" and linkedid.data:
                start = replace(start, call_id=linkedid.data)
                self.state = replace(self.state, call_id=linkedid.data)
            await self.command("ANSWER")
            await self.walk(flows, start)
        except (_Gone, _Handed, ConnectionError, OSError):
            pass
        except asyncio.CancelledError:
            if not self.stopping:
                raise
            if self.task is not None:
                self.task.uncancel()
            await self.hand_over(flows)
        finally:  # also when the server closes mid-call: the exit and path are recorded
            state = self.state
            if state.outcome and not self.announced:
                # the caller hung up before the exit the engine had decided was reached
                state = replace(state, outcome="", target="", waiting="digits")
            if not state.ended:
                # the path ends where the caller was, not at nodes the engine ran ahead to
                state, cmds = e.step(flows, state, e.Hangup(at=srv.clock(), reached=self.reached))
                for cmd in cmds:
                    if isinstance(cmd, e.Emit):
                        self.emit(cmd.event)
            self.state = state
        log.info("ivr session ended", caller=mask_number(caller), flow=flow.name,
                 outcome=state.outcome, path=">".join(state.path))  # fmt: skip

    async def walk(self, flows: Mapping[str, Flow], first: e.Input) -> None:
        """Feed the engine until the session ends; raises _Handed / _Gone at its end."""
        inp: e.Input | None = first
        while inp is not None:
            self.state, cmds = e.step(flows, self.state, inp)
            inp = None
            for cmd in cmds:
                self.note(cmd)
                got = await self.execute(cmd)
                inp = got if got is not None else inp
            if self.state.ended:
                return

    def note(self, cmd: e.Command) -> None:
        if isinstance(cmd, e.Emit) and isinstance(cmd.event, IvrLeft):
            self.announced = True
        if isinstance(cmd, e.Play | e.SayValue | e.ReadDigits | e.LookupOwner | e.QueueCall
                      | e.DialTarget | e.RouteHousekeeper | e.RecordVoicemail) and cmd.depth:  # fmt: skip
            self.reached = cmd.depth

    async def hand_over(self, flows: Mapping[str, Flow]) -> None:
        """The server is stopping: tell the dialplan how to go on, without waiting for the
        command in progress. A new line cuts STREAM FILE, GET DATA, SAY and WAIT FOR DIGIT
        (res_agi.c hands them the control socket), which then reply nothing (WAIT FOR DIGIT:
        ``result=1``); a GET VARIABLE after the route marks where Asterisk has read up to."""
        if self.in_application or self.state.ended:
            return  # the application keeps the caller; the dialplan decides after it
        at = self.server.clock()
        self.state, cmds = e.step(flows, self.state, e.Stop(at=at, reached=self.reached))
        route = ""
        for cmd in cmds:
            if isinstance(cmd, e.Emit):
                self.note(cmd)
                self.emit(cmd.event)
            elif isinstance(cmd, e.SetVariable) and cmd.name == routes.ROUTE_VARIABLE:
                route = cmd.value
        if not route:
            return
        self.server.stats["handed_over"] += 1
        try:
            self.writer.write(command("SET", "VARIABLE", args=(routes.ROUTE_VARIABLE, route)))
            self.writer.write(command("GET", "VARIABLE", args=(routes.ROUTE_VARIABLE,)))
            await asyncio.wait_for(self._confirmed(route), HAND_OVER_S)
        except (TimeoutError, _Gone, ConnectionError, OSError, AgiProtocolError):
            log.warning("ivr hand-over not confirmed", channel=self.state.channel, route=route)

    async def _confirmed(self, route: str) -> None:
        await self.writer.drain()
        while True:
            line = await self.reader.readline()
            if not line.endswith(b"\n"):
                raise _Gone("socket closed during the hand-over")
            got = self.replies.feed(line)
            if isinstance(got, Reply) and (
                got.hung_up or (got.result == "1" and got.data == route)
            ):
                return

    def emit(self, event: Event) -> None:
        try:
            self.server.on_event(event)
        except Exception:
            log.exception("ivr event handler failed", kind=event.kind)

    def sound(self, language: str, prompt: str) -> str:
        return sound_name(self.server.sound_prefix, language, prompt)

    async def execute(self, cmd: e.Command) -> e.Input | None:
        """Carry out one engine command; returns the input it produced, if any."""
        at = self.server.clock()
        if isinstance(cmd, e.Emit):
            self.emit(cmd.event)
        elif isinstance(cmd, e.Play):
            for prompt in cmd.prompts:
                await self.command("STREAM", "FILE", args=(self.sound(cmd.language, prompt), ""))
        elif isinstance(cmd, e.SayValue):
            value = "".join(ch for ch in cmd.value if ch.isdigit())
            if value:
                word = "NUMBER" if cmd.say_as == "number" else "DIGITS"
                await self.command("SAY", word, args=(value, ""))
        elif isinstance(cmd, e.ReadDigits):
            return await self.read_digits(cmd, at)
        elif isinstance(cmd, e.LookupOwner):
            return e.LookupDone(owner=await self.lookup(cmd.number), at=self.server.clock())
        elif isinstance(cmd, e.RouteHousekeeper):
            return self.route(cmd.owner)
        elif isinstance(cmd, e.QueueCall):
            return await self.queue(cmd)
        elif isinstance(cmd, e.DialTarget):
            # g: when the callee hangs up the caller comes back here, for the survey
            dial = f"{cmd.interface},{int(cmd.ring_timeout_s)},g"
            await self.application("Dial", dial)
            status = await self.command("GET", "VARIABLE", args=("DIALSTATUS",))
            return e.Done(status=status.data or "NOANSWER", at=self.server.clock())
        elif isinstance(cmd, e.SetVariable):
            await self.command("SET", "VARIABLE", args=(cmd.name, cmd.value))
        elif isinstance(cmd, e.HangupCall):
            await self.command("HANGUP")
        elif isinstance(cmd, e.RecordVoicemail | e.ReturnToDialplan):
            # HOTLINE_ROUTE (and HOTLINE_MAILBOX) are set: the dialplan goes on
            raise _Handed("handed to the dialplan")
        return None

    async def application(self, app: str, data: str) -> Reply:
        """``EXEC app data``: while it runs the caller is the application's, not ours."""
        self.in_application = True  # still so when a stop cancels this wait
        reply = await self.command("EXEC", app, args=(data,))
        self.in_application = False
        return reply

    async def read_digits(self, cmd: e.ReadDigits, at: float) -> e.Input:
        typed = ""
        for prompt in cmd.prompts[:-1]:  # earlier prompts can be interrupted by a key
            reply = await self.command(
                "STREAM", "FILE", args=(self.sound(cmd.language, prompt), DIGITS)
            )
            if reply.result not in ("", "0"):
                typed = _key(reply.result)
                break
        if not typed:
            last = self.sound(cmd.language, cmd.prompts[-1])
            reply = await self.command("GET", "DATA", args=(last, str(int(cmd.timeout_s * 1000)),
                                                            str(cmd.max_digits)))  # fmt: skip
            typed = reply.result
        else:
            while len(typed) < cmd.max_digits and not typed.endswith(cmd.terminator or "\0"):
                reply = await self.command("WAIT", "FOR", "DIGIT",
                                           args=(str(int(cmd.timeout_s * 1000)),))  # fmt: skip
                if reply.result in ("", "0"):
                    break
                typed += _key(reply.result)
        now = self.server.clock()
        return e.Digits(text=typed, at=now) if typed else e.Timeout(at=now)

    async def queue(self, cmd: e.QueueCall) -> e.Input | None:
        dialplan = self.server.queue_mode == "dialplan"
        if dialplan:
            route = cmd.queue
            if routes.reserved(route):  # a zone queue from routing's files: not validated here
                log.error("queue name taken for an ivr end: the fallback queue", queue=route)
                route = routes.FALLBACK
            await self.command("SET", "VARIABLE", args=(routes.ROUTE_VARIABLE, route))
        if cmd.priority:
            await self.command("SET", "VARIABLE", args=("QUEUE_PRIO", str(cmd.priority)))
        if dialplan:
            raise _Handed("handed to the dialplan")  # the dialplan queues after the AGI ends
        # No route for an EXEC'd queue: should the session end inside it, the dialplan
        # sees QUEUESTATUS (CONTINUE: served; else the fallback queue), not a stale name.
        await self.application("Queue", f"{cmd.queue},c,,,{int(cmd.max_wait_s)}")
        status = await self.command("GET", "VARIABLE", args=("QUEUESTATUS",))
        value = status.data.upper()
        return e.Done(
            status=value if value in QUEUE_FAILURES else "ANSWERED", at=self.server.clock()
        )

    def route(self, owner: OwnerInfo) -> e.Routed:
        """Routing's steps for the owner's call; none (the flow's fallback) if it fails."""
        hook, now = self.server.route_housekeeper, self.server.clock()
        if hook is None:
            return e.Routed(steps=(), at=now)
        try:
            return e.Routed(steps=tuple(hook(owner, now)), at=now)
        except Exception:
            log.exception("housekeeper routing failed", owner=owner.owner_id)
            return e.Routed(steps=(), at=now)

    async def lookup(self, number: str) -> OwnerInfo | None:
        if self.server.lookup is None or not number:
            return None
        try:
            return await asyncio.wait_for(self.server.lookup(number), self.server.lookup_timeout_s)
        except Exception as exc:  # a slow or failing lookup must not hold the caller
            log.warning(
                "caller lookup failed", caller=mask_number(number), error=type(exc).__name__
            )
            return None


def _key(result: str) -> str:
    """``result=49`` of STREAM FILE / WAIT FOR DIGIT is the key's ASCII code."""
    try:
        return chr(int(result))
    except (ValueError, OverflowError):
        return ""
