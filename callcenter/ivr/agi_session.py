"""IVR flows over FastAGI: each AGI session (``callcenter.telephony.fastagi``) walks a flow
of ``callcenter.ivr.engine``, engine commands in, AGI commands out.

Every session that ends on purpose says how in ``HOTLINE_ROUTE`` (``callcenter.ivr.routes``,
docs/decisions/0019-explicit-ivr-end.md): a queue, ``hangup``, ``voicemail``, ``done`` or
``fallback``; the dialplan sends an empty route (the service died mid-session) and an
unreachable service to the hotline's fallback queue.

Queues are handed to the dialplan by default (``queue_mode="dialplan"``): the session sets
``HOTLINE_ROUTE`` / ``QUEUE_PRIO`` (and ``QUEUE_MAX_PENALTY`` for routing's zone queue)
and ends the AGI, and the dialplan runs ``Queue(${HOTLINE_ROUTE},...)`` as in the
captured hotline. With ``queue_mode="exec"`` it
runs ``EXEC Queue`` inside the AGI and continues after the agent hangs up (the survey).
Voicemail is always the dialplan's (``HOTLINE_ROUTE=voicemail``, ``HOTLINE_MAILBOX``).
The script ``hotline/survey`` starts flow ``hotline`` at node ``survey``.

When the server stops, every caller inside a session is handed to the dialplan at once:
``HOTLINE_ROUTE`` becomes ``fallback`` (``done`` once a queue or dial served the caller). A
caller inside an application (Dial, Queue) is left to it, and then the dialplan decides from
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
from dataclasses import InitVar, dataclass, field, replace
from datetime import datetime
from typing import Literal
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
from callcenter.telephony.agi_codec import Reply
from callcenter.telephony.fastagi import AgiChannel, ChannelGone

log = structlog.get_logger(__name__)

Lookup = Callable[[str], Awaitable[OwnerInfo | None]]
RouteHousekeeper = Callable[[OwnerInfo, float], Sequence[RouteStep]]
PENALTY_VARIABLE = "QUEUE_MAX_PENALTY"
# QUEUESTATUS values for a caller the queue did not connect (app_queue.c). With the ``c``
# option an answered caller comes back with CONTINUE once the agent hangs up.
QUEUE_FAILURES = {"TIMEOUT", "FULL", "JOINEMPTY", "LEAVEEMPTY", "JOINUNAVAIL", "LEAVEUNAVAIL",
                  "WITHDRAW"}  # fmt: skip


class _Handed(Exception):
    """The session ended on purpose and the dialplan goes on (``HOTLINE_ROUTE`` is set)."""


@dataclass(kw_only=True, eq=False)
class IvrSessions:
    """The FastAGI session handler of the IVR: one ``IvrSession`` per call."""

    flows: FlowRegistry
    lookup: Lookup | None
    on_event: Callable[[Event], None]
    clock: Callable[[], float] = time.time
    zone: InitVar[str] = "Asia/Shanghai"  # the flows' local time (opening hours, holidays)
    sound_prefix: str = "callcenter"
    lookup_timeout_s: float = 1.0
    queue_mode: Literal["dialplan", "exec"] = "dialplan"
    route_housekeeper: RouteHousekeeper | None = None
    tz: ZoneInfo = field(init=False)

    def __post_init__(self, zone: str) -> None:
        self.tz = ZoneInfo(zone)

    def warm_up(self) -> None:
        # China's holiday tables load lazily (about 0.7 s of imports): not on a caller's turn
        this_year = datetime.fromtimestamp(self.clock(), self.tz).year
        for year in (this_year, this_year + 1):
            e.china_holidays(year)

    async def run(self, channel: AgiChannel, variables: Mapping[str, str]) -> None:
        await IvrSession(self, channel, variables).run()


class IvrSession:
    """One call's walk through a flow: engine commands in, AGI commands out."""

    def __init__(self, ivr: IvrSessions, channel: AgiChannel, env: Mapping[str, str]) -> None:
        self.ivr = ivr
        self.channel = channel
        self.env = env
        self.state = e.begin("")  # the engine's state of this call (set in run)
        self.announced = False  # the IvrLeft of this call was handed to on_event
        self.reached = 0  # depth of the last command started: where the caller is in the flow
        self.pressed = ""  # a key that stopped a prompt, for the menu it leads to
        self.penalty_limited = False  # QUEUE_MAX_PENALTY was set for an earlier queue

    async def command(self, *words: str, args: tuple[str, ...] = ()) -> Reply:
        return await self.channel.command(*words, args=args)

    async def run(self) -> None:
        ivr, env, channel = self.ivr, self.env, self.channel
        script, pbx = channel.script, channel.pbx
        flow_name, _, node = script.partition("/")
        dialled = env.get("agi_arg_1") or env.get("agi_extension", "")
        caller = env.get("agi_callerid", "")
        flow = ivr.flows.flow_for(dialled, flow_name)
        if flow is None:
            # a number without a flow is a configuration mistake: the caller still reaches
            # the dialplan's fallback queue
            log.warning("no ivr flow for this call", dialled=dialled, script=script)
            with contextlib.suppress(ChannelGone, ConnectionError, OSError,
                                     asyncio.CancelledError):  # fmt: skip
                await self.command("SET", "VARIABLE",
                                   args=(routes.ROUTE_VARIABLE, routes.FALLBACK))  # fmt: skip
            return
        flows = ivr.flows.flows  # one consistent version for the whole call
        now = ivr.clock()
        state = e.begin(flow.name)
        start = e.Start(
            caller=caller, dialled=dialled, when=datetime.fromtimestamp(now, ivr.tz), at=now,
            call_id=env.get("agi_uniqueid", ""), channel_id=env.get("agi_uniqueid", ""),
            channel=env.get("agi_channel", ""), pbx=pbx, node=node,
            channel_language=env.get("agi_language", ""),
            route_housekeeper=ivr.route_housekeeper is not None,
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
        except (ChannelGone, _Handed, ConnectionError, OSError):
            pass
        except asyncio.CancelledError:
            if not channel.resume_after_stop():
                raise
            await self.hand_over(flows)
        finally:  # also when the server closes mid-call: the exit and path are recorded
            state = self.state
            if state.outcome and not self.announced:
                # the caller hung up before the exit the engine had decided was reached
                state = replace(state, outcome="", target="", waiting="digits")
            if not state.ended:
                # the path ends where the caller was, not at nodes the engine ran ahead to
                state, cmds = e.step(flows, state, e.Hangup(at=ivr.clock(), reached=self.reached))
                for cmd in cmds:
                    if isinstance(cmd, e.Emit):
                        self.emit(cmd.event)
            self.state = state
        log.info("ivr session ended", caller=mask_number(caller), flow=flow.name,
                 outcome=state.outcome, path=">".join(state.path))  # fmt: skip

    async def walk(self, flows: Mapping[str, Flow], first: e.Input) -> None:
        """Feed the engine until the session ends; raises _Handed / ChannelGone at its end."""
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
        if isinstance(cmd, e.AtNode) and cmd.depth:
            self.reached = cmd.depth

    async def hand_over(self, flows: Mapping[str, Flow]) -> None:
        """The server is stopping: tell the dialplan how to go on, without waiting for the
        command in progress (``AgiChannel.hand_over``)."""
        if self.channel.in_application or self.state.ended:
            return  # the application keeps the caller; the dialplan decides after it
        at = self.ivr.clock()
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
        if not await self.channel.hand_over(routes.ROUTE_VARIABLE, route):
            log.warning("ivr hand-over not confirmed", channel=self.state.channel, route=route)

    def emit(self, event: Event) -> None:
        try:
            self.ivr.on_event(event)
        except Exception:
            log.exception("ivr event handler failed", kind=event.kind)

    def sound(self, language: str, prompt: str) -> str:
        return sound_name(self.ivr.sound_prefix, language, prompt)

    async def execute(self, cmd: e.Command) -> e.Input | None:
        """Carry out one engine command; returns the input it produced, if any."""
        if isinstance(cmd, e.Play | e.SayValue | e.ReadDigits):
            if e.typed_ahead(self.pressed, cmd):
                if isinstance(cmd, e.ReadDigits):  # the menu the key was pressed for
                    return await self.read_more(cmd, self.take_pressed())
                return None  # the caller is on the way: the prompts before the menu are skipped
            self.pressed = ""  # a key that led elsewhere is lost, as with Asterisk
        if isinstance(cmd, e.Emit):
            self.emit(cmd.event)
        elif isinstance(cmd, e.Play):
            self.pressed = await self.stream(cmd.language, cmd.prompts, cmd.escape)
        elif isinstance(cmd, e.SayValue):
            value = "".join(ch for ch in cmd.value if ch.isdigit())
            if value:
                word = "NUMBER" if cmd.say_as == "number" else "DIGITS"
                await self.command("SAY", word, args=(value, ""))
        elif isinstance(cmd, e.ReadDigits):
            return await self.read_digits(cmd)
        elif isinstance(cmd, e.LookupOwner):
            return e.LookupDone(owner=await self.lookup(cmd.number), at=self.ivr.clock())
        elif isinstance(cmd, e.RouteHousekeeper):
            return self.route(cmd.owner)
        elif isinstance(cmd, e.QueueCall):
            return await self.queue(cmd)
        elif isinstance(cmd, e.DialTarget):
            # g: when the callee hangs up the caller comes back here, for the survey
            dial = f"{cmd.interface},{int(cmd.ring_timeout_s)},g"
            await self.channel.application("Dial", dial)
            status = await self.command("GET", "VARIABLE", args=("DIALSTATUS",))
            return e.Done(status=status.data or "NOANSWER", at=self.ivr.clock())
        elif isinstance(cmd, e.SetVariable):
            await self.command("SET", "VARIABLE", args=(cmd.name, cmd.value))
        elif isinstance(cmd, e.HangupCall):
            await self.command("HANGUP")
        elif isinstance(cmd, e.RecordVoicemail | e.ReturnToDialplan):
            # HOTLINE_ROUTE (and HOTLINE_MAILBOX) are set: the dialplan goes on
            raise _Handed("handed to the dialplan")
        return None

    def take_pressed(self) -> str:
        key, self.pressed = self.pressed, ""
        return key

    async def stream(self, language: str, prompts: tuple[str, ...], escape: str) -> str:
        """STREAM FILE each prompt with ``escape`` as its escape digits; the key that stopped
        one (``200 result=<ASCII code> endpos=<samples>``, res_agi.c) ends the rest."""
        for prompt in prompts:
            reply = await self.command("STREAM", "FILE",
                                       args=(self.sound(language, prompt), escape))  # fmt: skip
            key = _key(reply.result) if reply.ok and reply.result not in ("", "0", "-1") else ""
            if key:
                return key
        return ""

    async def read_digits(self, cmd: e.ReadDigits) -> e.Input:
        """The node's earlier prompts with its keys as escape digits, then GET DATA on the
        last (it takes any key, each one stopping the prompt, up to ``max_digits``)."""
        typed = await self.stream(cmd.language, cmd.prompts[:-1], cmd.escape)
        if typed:
            return await self.read_more(cmd, typed)
        last = self.sound(cmd.language, cmd.prompts[-1])
        reply = await self.command("GET", "DATA", args=(last, str(int(cmd.timeout_s * 1000)),
                                                        str(cmd.max_digits)))  # fmt: skip
        return self.typed(reply.result if reply.result != "-1" else "")

    async def read_more(self, cmd: e.ReadDigits, typed: str) -> e.Input:
        """The keys after ``typed`` (pressed during a prompt), one WAIT FOR DIGIT each,
        until the node has enough, its terminator, or the timeout."""
        while len(typed) < cmd.max_digits and not typed.endswith(cmd.terminator or "\0"):
            reply = await self.command("WAIT", "FOR", "DIGIT",
                                       args=(str(int(cmd.timeout_s * 1000)),))  # fmt: skip
            if reply.result in ("", "0", "-1"):
                break
            typed += _key(reply.result)
        return self.typed(typed)

    def typed(self, keys: str) -> e.Input:
        now = self.ivr.clock()
        return e.Digits(text=keys, at=now) if keys else e.Timeout(at=now)

    async def queue(self, cmd: e.QueueCall) -> e.Input | None:
        dialplan = self.ivr.queue_mode == "dialplan"
        if dialplan:
            route = cmd.queue
            if routes.reserved(route):  # a zone queue from routing's files: not validated here
                log.error("queue name taken for an ivr end: the fallback queue", queue=route)
                route = routes.FALLBACK
            await self.command("SET", "VARIABLE", args=(routes.ROUTE_VARIABLE, route))
        if cmd.priority:
            await self.command("SET", "VARIABLE", args=("QUEUE_PRIO", str(cmd.priority)))
        if cmd.max_penalty is not None or self.penalty_limited:
            # app_queue reads it as the caller joins; the queue's penalty rule (queuerules.conf,
            # its defaultrule) raises it over the wait. An empty value is "no limit" for a
            # later queue of the same call.
            limit = "" if cmd.max_penalty is None else str(cmd.max_penalty)
            await self.command("SET", "VARIABLE", args=(PENALTY_VARIABLE, limit))
            self.penalty_limited = cmd.max_penalty is not None
        if dialplan:
            raise _Handed("handed to the dialplan")  # the dialplan queues after the AGI ends
        # No route for an EXEC'd queue: should the session end inside it, the dialplan
        # sees QUEUESTATUS (CONTINUE: served; else the fallback queue), not a stale name.
        await self.channel.application("Queue", f"{cmd.queue},c,,,{int(cmd.max_wait_s)}")
        status = await self.command("GET", "VARIABLE", args=("QUEUESTATUS",))
        value = status.data.upper()
        return e.Done(status=value if value in QUEUE_FAILURES else "ANSWERED", at=self.ivr.clock())

    def route(self, owner: OwnerInfo) -> e.Routed:
        """Routing's steps for the owner's call; none (the flow's fallback) if it fails."""
        hook, now = self.ivr.route_housekeeper, self.ivr.clock()
        if hook is None:
            return e.Routed(steps=(), at=now)
        try:
            return e.Routed(steps=tuple(hook(owner, now)), at=now)
        except Exception:
            log.exception("housekeeper routing failed", owner=owner.owner_id)
            return e.Routed(steps=(), at=now)

    async def lookup(self, number: str) -> OwnerInfo | None:
        if self.ivr.lookup is None or not number:
            return None
        try:
            return await asyncio.wait_for(self.ivr.lookup(number), self.ivr.lookup_timeout_s)
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
