"""The IVR engine: a pure step function ``step(flows, state, input) -> (state, commands)``.

The shell (FastAGI server, terminal walker, tests) feeds one input at a time and carries
out the commands in order. The last command of a batch is the one whose answer the engine
waits for (``ReadDigits`` -> Digits/Timeout, ``LookupOwner`` -> LookupDone, ``QueueCall``
and ``DialTarget`` -> Done, ``RouteHousekeeper`` -> Routed); a batch that ends the session
ends with ``HangupCall``, ``RecordVoicemail`` or ``ReturnToDialplan``, and every such end
first sets ``HOTLINE_ROUTE`` (``callcenter.ivr.routes``): ``hangup`` before the goodbye,
``voicemail`` before the voicemail prompt, ``done`` after an application that served the
caller, ``fallback`` when the flow is broken or the service stops (``Stop``). Only a queue
is named by the shell, which knows whether the dialplan or the session runs it.

Housekeeper first: a shell that can ask routing (``Start.route_housekeeper``) gets a
``RouteHousekeeper`` at a ``dial: housekeeper`` node and answers with the steps routing
chose. The engine rings the housekeeper or queues in the zone's queue as they say, moves
to the next step when one is not answered, and hands the general queue and voicemail to
the node's ``fallback`` (the flow's own way there); each step taken is a RoutingDecision
event with its reason. Without routing the housekeeper's seat is dialled as looked up. Inputs the engine does not expect are ignored, and a ``Hangup`` ends
the walk wherever it is. Nothing here raises on a validated flow, and the number of nodes
run per input is bounded (validated flows have no loop without input).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, Literal

import holidays

from callcenter.core import events as ev
from callcenter.core.contracts import OwnerInfo, RouteStep
from callcenter.ivr import routes
from callcenter.ivr import schema as s
from callcenter.ivr.schema import Flow

MAX_STEPS = 500  # nodes run for one input; far above any validated flow's depth


# --- inputs -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class Input:
    at: float = 0.0  # epoch seconds when known; 0 keeps the engine's last time


@dataclass(frozen=True, slots=True, kw_only=True)
class Start(Input):
    caller: str
    dialled: str
    when: datetime  # aware, in the hotline's time zone
    call_id: str = ""
    channel_id: str = ""
    channel: str = ""
    pbx: str = ""
    node: str = ""  # start here instead of the flow's start (e.g. a survey after a queue)
    route_housekeeper: bool = False  # the shell answers RouteHousekeeper with Routed
    # The channel's language (AGI's agi_language). Only a session that continues a call at
    # a node (the survey after the queue) follows it: Asterisk gives every channel "en"
    # unless told otherwise, but this flow sets it when the caller chooses a language.
    channel_language: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Digits(Input):
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Timeout(Input):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class Hangup(Input):
    """The caller hung up. ``reached``: the ``depth`` of the last command the shell had
    started (the prompt still playing); the path is cut there, dropping the nodes the engine
    had run ahead to. 0: the whole path."""

    reached: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Stop(Input):
    """The service is stopping: hand the caller to the dialplan now. ``reached`` as for
    ``Hangup``. A caller an application already served (the survey after a queue) is
    ``done``; any other goes to the dialplan's ``fallback``."""

    reached: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class LookupDone(Input):
    owner: OwnerInfo | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Routed(Input):
    """Routing's answer to ``RouteHousekeeper``: the steps in order (empty: no decision,
    the node's fallback)."""

    steps: tuple[RouteStep, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Done(Input):
    """How a queue or dial ended: ANSWERED (the agent hung up, the caller is still on the
    line), or Asterisk's DIALSTATUS / QUEUESTATUS (NOANSWER, BUSY, TIMEOUT, JOINEMPTY...)."""

    status: str


# --- commands -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class AtNode:
    """A command given at a node of the flow. ``depth``: where the caller is, in time
    (``len(path)`` at that node); the shell keeps the last one started, so a hang-up
    reports how far the caller got."""

    depth: int = field(default=0, compare=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class Play(AtNode):
    """Prompts to play. ``escape``: the keys that lead somewhere from here (the next menu's
    options, ``ahead``): a caller who knows the menu may press one during the prompt, which
    stops it, and the key counts at that menu (``typed_ahead``)."""

    prompts: tuple[str, ...]
    language: str
    escape: str = ""


@dataclass(frozen=True, slots=True)
class SayValue(AtNode):
    value: str
    say_as: s.SayAs
    language: str


@dataclass(frozen=True, slots=True)
class ReadDigits(AtNode):
    prompts: tuple[str, ...]
    language: str
    max_digits: int
    timeout_s: float
    terminator: str = "#"
    escape: str = ""  # the keys that stop the prompts (a menu's options)


@dataclass(frozen=True, slots=True)
class LookupOwner(AtNode):
    number: str


@dataclass(frozen=True, slots=True)
class QueueCall(AtNode):
    queue: str
    priority: int
    max_wait_s: float
    announce_position: bool
    # QUEUE_MAX_PENALTY: offered only to members up to this penalty until the queue's
    # penalty rule widens it (None: every member)
    max_penalty: int | None = None


@dataclass(frozen=True, slots=True)
class DialTarget(AtNode):
    interface: str
    ring_timeout_s: float


@dataclass(frozen=True, slots=True)
class RouteHousekeeper(AtNode):
    """Ask routing where the owner's call goes before ringing their housekeeper."""

    owner: OwnerInfo


@dataclass(frozen=True, slots=True)
class RecordVoicemail(AtNode):
    """The caller leaves a message in ``mailbox``: the session ends and the dialplan runs
    VoiceMail (``HOTLINE_ROUTE=voicemail``, ``HOTLINE_MAILBOX``), which outlives the service."""

    mailbox: str


@dataclass(frozen=True, slots=True)
class SetVariable:
    name: str
    value: str


@dataclass(frozen=True, slots=True)
class HangupCall:
    pass


@dataclass(frozen=True, slots=True)
class ReturnToDialplan:
    """End the session with the channel up: the dialplan goes on as ``HOTLINE_ROUTE`` says."""


@dataclass(frozen=True, slots=True)
class Emit:
    event: ev.Event


Command = (
    Play | SayValue | ReadDigits | LookupOwner | QueueCall | DialTarget | RouteHousekeeper
    | RecordVoicemail | SetVariable | HangupCall | ReturnToDialplan | Emit
)  # fmt: skip
Waiting = Literal["start", "digits", "lookup", "route", "queue", "dial", "ended"]


@dataclass(frozen=True, slots=True)
class State:
    flow: str
    node: str = ""
    waiting: Waiting = "start"
    language: str = "zh"
    caller: str = ""
    dialled: str = ""
    started: datetime | None = None
    now: float = 0.0
    call_id: str = ""
    channel_id: str = ""
    channel: str = ""
    pbx: str = ""
    variables: Mapping[str, str] = field(default_factory=dict)
    owner: OwnerInfo | None = None
    looked_up: bool = False
    tries: int = 0
    path: tuple[str, ...] = ()
    outcome: str = ""  # set once the caller left the IVR
    target: str = ""
    entry_flow: str = ""
    routed: bool = False  # housekeeper calls are routed (the shell answers RouteHousekeeper)
    route: tuple[RouteStep, ...] = ()  # the routing steps not taken yet

    @property
    def ended(self) -> bool:
        return self.waiting == "ended"


def begin(flow: str) -> State:
    """The state before ``Start``."""
    return State(flow=flow, entry_flow=flow)


def step(flows: Mapping[str, Flow], state: State, inp: Input) -> tuple[State, list[Command]]:
    if inp.at:
        state = replace(state, now=inp.at)
    if state.ended:
        return state, []
    if isinstance(inp, Hangup | Stop):
        if 0 < inp.reached < len(state.path):
            label = state.path[inp.reached - 1]
            state = replace(state, path=state.path[: inp.reached],
                            node=label.rpartition(":")[2])  # fmt: skip
        if isinstance(inp, Hangup):
            return _finish(state, "caller_hangup", state.target, [])
        if state.outcome:  # served by a queue or dial: nothing more for the dialplan to do
            return _finish(state, state.outcome, state.target, _route(routes.DONE))
        return _finish(state, "fallback", "", _route(routes.FALLBACK))
    flow = flows.get(state.flow)
    if state.waiting == "start":
        if not isinstance(inp, Start) or flow is None or flow.start not in flow.nodes:
            if isinstance(inp, Start):
                return _finish(_started(state, inp, flow), "error", "", _route(routes.FALLBACK))
            return state, []
        state = _started(state, inp, flow)
        entered = ev.IvrEntered(
            **_ids(state), channel=state.channel, flow=flow.name, caller_number=state.caller,
            dialled=state.dialled, language=state.language,
        )  # fmt: skip
        first = inp.node if inp.node in flow.nodes else flow.start
        return _run(flows, state, first, [Emit(entered)])
    node = flow.nodes.get(state.node) if flow is not None else None
    if node is None:
        return _finish(state, "error", "", _route(routes.FALLBACK))
    return _resume(flows, state, node, inp)


def _started(state: State, inp: Start, flow: Flow | None) -> State:
    language = flow.languages[0] if flow is not None and flow.languages else "zh"
    variables = state.variables
    if inp.node and flow is not None and inp.channel_language in flow.languages:
        language = inp.channel_language  # chosen earlier in this call
        variables = {**variables, "language": language}
    return replace(
        state, caller=inp.caller, dialled=inp.dialled, started=inp.when,
        now=inp.at or inp.when.timestamp(), call_id=inp.call_id, channel_id=inp.channel_id,
        channel=inp.channel, pbx=inp.pbx, language=language, routed=inp.route_housekeeper,
        variables=variables,
    )  # fmt: skip


def _ids(state: State) -> dict[str, Any]:
    return {"pbx": state.pbx, "call_id": state.call_id, "channel_id": state.channel_id,
            "at": state.now}  # fmt: skip


# --- resuming a waiting node --------------------------------------------------------------
def _resume(
    flows: Mapping[str, Flow], state: State, node: s.Node, inp: Input
) -> tuple[State, list[Command]]:
    cmds: list[Command] = []
    if state.waiting == "digits" and isinstance(inp, Digits | Timeout):
        typed = inp.text if isinstance(inp, Digits) else ""
        if isinstance(node, s.Menu):
            key = typed[:1]
            if key in node.options:
                target = node.options[key]
                cmds.append(Emit(_choice(state, key, target)))
                return _run(flows, state, target, cmds)
            return _retry(flows, state, node, node.prompt, 1, node.timeout_s, "#",
                          node.on_invalid if key else node.on_timeout, bool(key))  # fmt: skip
        if isinstance(node, s.Collect):
            value = typed.rstrip(node.terminator) if node.terminator else typed
            ok = node.min_digits <= len(value) <= node.max_digits and (
                not node.pattern or re.fullmatch(node.pattern, value) is not None
            )
            if ok:
                cmds.append(Emit(_choice(state, value, node.next)))
                state = _setvar(state, node.into, value)
                return _run(flows, state, node.next, cmds)
            return _retry(flows, state, node, node.prompt, node.max_digits, node.timeout_s,
                          node.terminator, node.on_fail, bool(value))  # fmt: skip
        if isinstance(node, s.Survey):
            key = typed[:1]
            if key and key in "12345":
                state = _setvar(state, node.into, key)
                cmds += [
                    SetVariable("SURVEY_SCORE", key),
                    Emit(ev.SurveyAnswered(**_ids(state), flow=state.flow, score=int(key))),
                ]
                if node.thanks:
                    cmds.append(Play(node.thanks, state.language, ahead(flows, state.flow, node.next),
                                     depth=len(state.path)))  # fmt: skip
                return _run(flows, state, node.next, cmds)
            return _retry(flows, state, node, node.prompt, 1, node.timeout_s, "#", node.next,
                          bool(key))  # fmt: skip
    if state.waiting == "lookup" and isinstance(inp, LookupDone) and isinstance(node, s.Lookup):
        state = replace(state, owner=inp.owner, looked_up=True)
        owner = inp.owner
        if owner is not None:
            cmds.append(Emit(ev.CallerIdentified(
                **_ids(state), owner_id=owner.owner_id, owner_name=owner.name, vip=owner.vip,
                arrears=owner.arrears, zone=owner.zone, housekeeper=owner.housekeeper_interface,
            )))  # fmt: skip
            if owner.language in flows[state.flow].languages and "language" not in state.variables:
                state = replace(state, language=owner.language)
        return _run(flows, state, _owner_branch(node, owner), cmds)
    if state.waiting == "route" and isinstance(inp, Routed) and isinstance(node, s.Dial):
        return _follow_route(flows, state, node, inp.steps, cmds)
    if (
        state.waiting in ("queue", "dial")
        and isinstance(inp, Done)
        and isinstance(node, s.Queue | s.Dial)
    ):
        answered = inp.status.upper() in ("ANSWER", "ANSWERED")
        if answered:
            if node.after:
                return _run(flows, state, node.after, cmds)
            return _finish(state, state.outcome, state.target, _route(routes.DONE, HangupCall()))
        if isinstance(node, s.Dial) and _routes(state, node):
            why = f"{state.target}: {inp.status.upper() or 'NOANSWER'}"
            state = replace(state, outcome="", target="")
            return _follow_route(flows, state, node, state.route, cmds, why)
        nxt = node.overflow if isinstance(node, s.Queue) else node.fallback
        if nxt:
            return _run(flows, replace(state, outcome="", target=""), nxt, cmds)
        return _finish(state, state.outcome, state.target, _route(routes.DONE, HangupCall()))
    return state, []  # an input this node does not wait for: ignored


def _retry(
    flows: Mapping[str, Flow], state: State, node: s.Menu | s.Collect | s.Survey,
    prompt: tuple[str, ...], max_digits: int, timeout_s: float, terminator: str,
    give_up: str, invalid: bool,
) -> tuple[State, list[Command]]:  # fmt: skip
    tries = state.tries + 1
    if tries > node.retries:
        return _run(flows, replace(state, tries=0), give_up, [])
    cmds: list[Command] = []
    keys = input_keys(node)
    if invalid and node.invalid_prompt:
        cmds.append(Play(node.invalid_prompt, state.language, keys, depth=len(state.path)))
    cmds.append(ReadDigits(prompt, state.language, max_digits, timeout_s, terminator, keys,
                           depth=len(state.path)))  # fmt: skip
    return replace(state, tries=tries), cmds


def _choice(state: State, digits: str, target: str) -> ev.IvrChoice:
    return ev.IvrChoice(**_ids(state), flow=state.flow, node=state.node, digits=digits,
                        target=target)  # fmt: skip


def _owner_branch(node: s.Lookup, owner: OwnerInfo | None) -> str:
    if owner is None:
        return node.not_found
    if node.vip and owner.vip:
        return node.vip
    if node.arrears and owner.arrears:
        return node.arrears
    if node.housekeeper and owner.housekeeper_interface:
        return node.housekeeper
    return node.found


def _setvar(state: State, name: str, value: str) -> State:
    return replace(state, variables={**state.variables, name: value})


# --- running nodes until one waits --------------------------------------------------------
def _run(
    flows: Mapping[str, Flow], state: State, target: str, cmds: list[Command]
) -> tuple[State, list[Command]]:
    for _ in range(MAX_STEPS):
        flow = flows[state.flow]
        node = flow.nodes.get(target)
        if node is None:
            return _finish(state, "error", "", [*cmds, *_route(routes.FALLBACK)])
        label = target if state.flow == state.entry_flow else f"{state.flow}:{target}"
        state = replace(state, node=target, tries=0, path=(*state.path, label))
        lang, depth = state.language, len(state.path)  # depth: where the caller is, in time
        if isinstance(node, s.Play):
            keys = ahead(flows, state.flow, node.next)
            cmds.append(Play(node.prompt, lang, keys, depth=depth))
            if node.say:
                value = state.variables.get(node.say, "")
                cmds.append(SayValue(value, node.say_as, lang, depth=depth))
                if node.after_say:
                    cmds.append(Play(node.after_say, lang, keys, depth=depth))
            target = node.next
        elif isinstance(node, s.Menu | s.Survey):
            cmds.append(ReadDigits(node.prompt, lang, 1, node.timeout_s, "#", input_keys(node),
                                   depth=depth))  # fmt: skip
            return replace(state, waiting="digits"), cmds
        elif isinstance(node, s.Collect):
            cmds.append(ReadDigits(node.prompt, lang, node.max_digits, node.timeout_s,
                                   node.terminator, input_keys(node), depth=depth))  # fmt: skip
            return replace(state, waiting="digits"), cmds
        elif isinstance(node, s.Lookup):
            if node.what == "balance":
                unit = state.variables.get(node.unit, "")
                balances = state.owner.balances if state.owner is not None else {}
                if unit in balances:
                    state = _setvar(state, node.into, str(balances[unit]))
                    target = node.found
                else:
                    target = node.not_found
            elif state.looked_up:
                target = _owner_branch(node, state.owner)
            else:
                cmds.append(LookupOwner(state.caller, depth=depth))
                return replace(state, waiting="lookup"), cmds
        elif isinstance(node, s.Branch):
            target = next((c.goto for c in node.cases if _holds(flow, state, c.when)),
                          node.otherwise)  # fmt: skip
        elif isinstance(node, s.SetVars):
            values = {k: _template(v, state) for k, v in node.values.items()}
            state = replace(state, variables={**state.variables, **values})
            if node.language:
                state = replace(state, language=node.language,
                                variables={**state.variables, "language": node.language})  # fmt: skip
                cmds.append(SetVariable("CHANNEL(language)", node.language))
            target = node.next
        elif isinstance(node, s.Goto):
            other = flows.get(node.flow)
            if other is None:
                return _finish(state, "error", "", [*cmds, *_route(routes.FALLBACK)])
            state = replace(state, flow=other.name)
            target = node.node or other.start
        elif isinstance(node, s.Queue):
            if node.prompt:
                cmds.append(Play(node.prompt, lang, depth=depth))
            state = _channel_language(state, cmds)
            state = _left(state, "queue", node.queue, cmds)
            cmds.append(QueueCall(node.queue, node.priority, node.max_wait_s,
                                  node.announce_position, depth=depth))  # fmt: skip
            return replace(state, waiting="queue"), cmds
        elif isinstance(node, s.Dial):
            if _routes(state, node) and state.owner is not None:
                cmds.append(RouteHousekeeper(state.owner, depth=depth))
                return replace(state, waiting="route", route=()), cmds
            interface = node.to
            if node.to == "housekeeper":
                interface = state.owner.housekeeper_interface if state.owner else ""
            if not interface:
                target = node.fallback
                continue
            if node.prompt:
                cmds.append(Play(node.prompt, lang, depth=depth))
            state = _left(state, "dial", interface, cmds)
            cmds.append(DialTarget(interface, node.ring_timeout_s, depth=depth))
            return replace(state, waiting="dial"), cmds
        elif isinstance(node, s.Voicemail):
            # said before the prompt: should the session end during it, the caller still
            # reaches the mailbox
            cmds += [SetVariable(routes.MAILBOX_VARIABLE, node.mailbox),
                     SetVariable(routes.ROUTE_VARIABLE, routes.VOICEMAIL)]  # fmt: skip
            if node.prompt:
                cmds.append(Play(node.prompt, lang, depth=depth))
            if node.callback:
                cmds.append(Emit(ev.CallbackRequested(
                    **_ids(state), caller_number=state.caller, flow=state.flow, node=target,
                    reason=node.reason, owner_id=state.owner.owner_id if state.owner else "",
                )))  # fmt: skip
            return _finish(state, "voicemail", node.mailbox,
                           [*cmds, RecordVoicemail(node.mailbox, depth=depth)])  # fmt: skip
        elif isinstance(node, s.Hangup):
            cmds.append(SetVariable(routes.ROUTE_VARIABLE, routes.HANGUP))  # before the goodbye
            if node.prompt:
                cmds.append(Play(node.prompt, lang, depth=depth))
            return _finish(state, "hangup", "", [*cmds, HangupCall()])
    return _finish(state, "error", "", [*cmds, *_route(routes.FALLBACK)])


# --- keys a caller may press ahead ----------------------------------------------------------
DIGIT_KEYS = "0123456789"
SURVEY_KEYS = "12345"


def input_keys(node: s.Menu | s.Collect | s.Survey) -> str:
    """The keys that lead somewhere at an input node: a menu's options, a survey's scores,
    the digits of a number (a collect's terminator ends it, it does not start it)."""
    if isinstance(node, s.Menu):
        return "".join(node.options)
    if isinstance(node, s.Survey):
        return SURVEY_KEYS
    return DIGIT_KEYS


def ahead(flows: Mapping[str, Flow], flow: str, target: str) -> str:
    """The keys of the input nodes a caller reaches from ``target`` without pressing
    anything (through plays, branches, lookups, settings and gotos): what may interrupt a
    prompt played on the way. A queue, dial, voicemail or hangup first: none."""
    keys: list[str] = []
    seen: set[tuple[str, str]] = set()
    todo = [(flow, target)]
    while todo:
        where = todo.pop()
        if where in seen or len(seen) > MAX_STEPS:
            continue
        seen.add(where)
        name, nid = where
        node = flows[name].nodes.get(nid) if name in flows else None
        nexts: list[str] = []
        if isinstance(node, s.Menu | s.Collect | s.Survey):
            keys += [k for k in input_keys(node) if k not in keys]
        elif isinstance(node, s.Play | s.SetVars):
            nexts = [node.next]
        elif isinstance(node, s.Branch):
            nexts = [*(c.goto for c in node.cases), node.otherwise]
        elif isinstance(node, s.Lookup):
            nexts = [node.found, node.not_found, node.vip, node.arrears, node.housekeeper]
        elif isinstance(node, s.Goto) and node.flow in flows:
            todo.append((node.flow, node.node or flows[node.flow].start))
        todo += [(name, n) for n in nexts if n]
    return "".join(keys)


def typed_ahead(key: str, cmd: Play | SayValue | ReadDigits) -> bool:
    """Whether a key the caller pressed during an earlier prompt still counts at ``cmd``:
    the prompts on the way to the menu it leads to are skipped (a value read back between
    them too), and the menu takes it."""
    return bool(key) and (isinstance(cmd, SayValue) or key in cmd.escape)


def _routes(state: State, node: s.Dial) -> bool:
    return state.routed and node.to == "housekeeper"


def _follow_route(
    flows: Mapping[str, Flow], state: State, node: s.Dial, steps: tuple[RouteStep, ...],
    cmds: list[Command], came_back: str = "",
) -> tuple[State, list[Command]]:  # fmt: skip
    """Take the first of ``steps`` (the housekeeper's ring or the zone's queue); the general
    queue, voicemail or no step at all continue at the node's fallback."""
    step = steps[0] if steps else None
    state = replace(state, route=steps[1:])
    if step is not None:
        reason = f"{came_back}; {step.reason}" if came_back else step.reason
        owner_id = state.owner.owner_id if state.owner is not None else ""
        cmds.append(Emit(ev.RoutingDecision(
            **_ids(state), decision=step.kind, target=step.target, priority=step.priority,
            ring_s=step.wait_s, reason=reason, owner_id=owner_id,
        )))  # fmt: skip
    depth = len(state.path)
    if step is not None and step.target and step.kind == "housekeeper":
        if node.prompt:
            cmds.append(Play(node.prompt, state.language, depth=depth))
        state = _left(state, "dial", step.target, cmds)
        cmds.append(DialTarget(step.target, step.wait_s or node.ring_timeout_s, depth=depth))
        return replace(state, waiting="dial"), cmds
    if step is not None and step.target and step.kind == "zone_queue":
        state = _channel_language(state, cmds)
        state = _left(state, "queue", step.target, cmds)
        cmds.append(QueueCall(step.target, step.priority, step.wait_s, False, step.max_penalty,
                              depth=depth))  # fmt: skip
        return replace(state, waiting="queue"), cmds
    if step is not None and step.kind == "voicemail" and node.overflow and came_back:
        # the zone's queue timed out: the caller kept their place to the end, no new queue
        return _run(flows, replace(state, route=()), node.overflow, cmds)
    return _run(flows, replace(state, route=()), node.fallback, cmds)


def _channel_language(state: State, cmds: list[Command]) -> State:
    """Before a queue: the channel speaks the caller's language, so that app_queue's
    announcements (position, hold time: ``queue-*`` and ``digits/*`` of sounds/<lang>) and
    say.c's numbers are in it. Asterisk gives every channel ``en`` unless told."""
    if state.variables.get("language") == state.language:
        return state  # already said (a language chosen in the menu)
    cmds.append(SetVariable("CHANNEL(language)", state.language))
    return _setvar(state, "language", state.language)


def _left(state: State, outcome: str, target: str, cmds: list[Command]) -> State:
    """Record where the caller left the IVR (once: a survey after a queue is not a new exit)."""
    if state.outcome:
        return state
    cmds.append(Emit(_left_event(state, outcome, target)))
    return replace(state, outcome=outcome, target=target)


def _left_event(state: State, outcome: str, target: str) -> ev.IvrLeft:
    return ev.IvrLeft(**_ids(state), flow=state.entry_flow, outcome=outcome, target=target,
                      path=state.path, language=state.language)  # fmt: skip


def _ends(cmd: Command) -> bool:
    """A command of the session's end: the route said just before it ends, or the end."""
    if isinstance(cmd, SetVariable):
        return cmd.name == routes.ROUTE_VARIABLE
    return isinstance(cmd, RecordVoicemail | HangupCall | ReturnToDialplan)


def _route(route: str, last: Command | None = None) -> list[Command]:
    """Tell the dialplan how the session ends, then end it (hang up, or return to it)."""
    return [SetVariable(routes.ROUTE_VARIABLE, route), last or ReturnToDialplan()]


def _finish(
    state: State, outcome: str, target: str, cmds: list[Command]
) -> tuple[State, list[Command]]:
    if not state.outcome:
        # the exit is announced after what led to it and before the call is ended
        tail = len(cmds)
        while tail and _ends(cmds[tail - 1]):
            tail -= 1
        cmds = [*cmds[:tail], Emit(_left_event(state, outcome, target)), *cmds[tail:]]
        state = replace(state, outcome=outcome, target=target)
    return replace(state, waiting="ended"), cmds


def _template(value: str, state: State) -> str:
    known = {"caller": state.caller, "dialled": state.dialled, **state.variables}
    return re.sub(r"\$\{(\w+)\}", lambda m: known.get(m.group(1), ""), value)


# --- conditions ---------------------------------------------------------------------------
@functools.lru_cache(maxsize=16)
def china_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("CN", years=year).keys())


def is_holiday(day: date) -> bool:
    return day in china_holidays(day.year)


def is_open(schedule: s.Schedule, when: datetime) -> bool:
    minute = when.hour * 60 + when.minute
    if schedule.start_min < schedule.end_min:
        day, inside = when.date(), schedule.start_min <= minute < schedule.end_min
    else:  # crosses midnight: the early hours belong to the previous day's opening
        early = minute < schedule.end_min
        inside = early or minute >= schedule.start_min
        day = when.date() if not early else date.fromordinal(when.date().toordinal() - 1)
    if not inside or day.weekday() not in schedule.days:
        return False
    return not (schedule.closed_on_holidays and is_holiday(day))


def _holds(flow: Flow, state: State, cond: s.Condition) -> bool:
    when = _local_now(state)
    if cond.open:
        schedule = flow.schedules.get(cond.open)
        return schedule is not None and is_open(schedule, when)
    if cond.holiday is not None:
        return is_holiday(when.date()) == cond.holiday
    if cond.language:
        return state.language == cond.language
    if cond.owner:
        owner = state.owner
        if owner is None:
            return False
        value = {"found": True, "housekeeper": owner.housekeeper_interface}.get(
            cond.owner, getattr(owner, cond.owner, "")
        )
        return bool(value)
    if cond.var:
        value = state.variables.get(cond.var, "")
        if cond.equals is not None:
            return value == cond.equals
        if cond.matches:
            return re.fullmatch(cond.matches, value) is not None
        return bool(value)
    return False


def _local_now(state: State) -> datetime:
    if state.started is None:
        return datetime.fromtimestamp(state.now)
    return datetime.fromtimestamp(state.now, state.started.tzinfo)
