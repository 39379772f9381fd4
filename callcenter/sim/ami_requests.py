"""What AMI actions ask of the engine: Hangup, PlayDTMF, QueueAdd, QueueRemove, QueuePause
and QueuePenalty, run at the current virtual time.

Plain functions of the Pbx (seen through ``ports.Engine``), which owns every piece of state;
ami_server.py parses the actions and answers them.
"""

from __future__ import annotations

from collections.abc import Iterator

from callcenter.sim import app_queue, attended, call_flow
from callcenter.sim.call_state import NORMAL_CLEARING, Call, Queue, QueueMember
from callcenter.sim.channels import Channel
from callcenter.sim.ports import Engine


def hangup_by_name(pbx: Engine, name: str, cause: int) -> bool:
    chan = pbx.channels.get(name)
    if chan is None:
        return False
    owner = chan.owner
    if isinstance(owner, Call):
        if chan is owner.chan or chan is owner.origin:
            pbx.caller_hangup(owner)
        elif owner.stage == "atxfer" and attended.hangup(pbx, owner, chan):
            pass
        elif owner.stage == "talk" and chan in legs(owner.agent_chan):
            app_queue.talk_end(pbx, owner, "agent", from_dialplan=False)
        elif owner.ring is not None and chan in legs(owner.ring.chan):
            app_queue.agent_hangup_ringing(pbx, owner)
        elif owner.dial is not None and chan in legs(owner.dial.chan):
            if owner.dial.answered_at is not None:
                pbx.dialer.talk_end(owner, "agent", from_dialplan=False)
            else:
                pbx.dialer.callee_rejects(owner)
        return True
    if owner is not None and hasattr(owner, "hangup"):
        owner.hangup(cause)
        return True
    pbx.hangup_channel(chan, cause or NORMAL_CLEARING)
    return True


def legs(chan: Channel | None) -> tuple[Channel, ...]:
    """A member's leg: its channel, and the other half when it is a Local channel."""
    if chan is None:
        return ()
    return (chan,) if chan.partner is None else (chan, chan.partner)


def play_dtmf(pbx: Engine, name: str, digit: str, receive: bool) -> bool:
    chan = pbx.channels.get(name)
    if chan is None:
        return False
    owner = chan.owner
    if not receive:
        pbx.dtmf(chan, digit, "Sent")
        if not (isinstance(owner, Call) and chan is owner.origin):
            return True
        chan = owner.chan  # what a Local caller's ;1 sends, its ;2 receives
    pbx.dtmf(chan, digit, "Received")
    if isinstance(owner, Call) and chan is owner.chan and owner.stage in ("ivr", "agi"):
        owner.truth.dtmf += digit
        if owner.agi is not None:
            owner.agi.digit(digit)
        else:
            # a key in the built-in menu routes at once
            pbx.varset(chan, "HOTLINE_DIGITS", digit)
            call_flow.route(pbx, owner, pbx.cfg.menu_routes.get(digit, ""))
    return True


def add_member(
    pbx: Engine, queue_name: str, interface: str, name: str, penalty: int, paused: bool, reason: str
) -> str:
    queue = pbx.queues.get(queue_name)
    if queue is None:
        return "nosuchqueue"
    if interface in queue.members:
        return "exists"
    member = queue.add_member(
        pbx.agents,
        interface,
        name or interface,
        penalty,
        dynamic=True,
        login_time=int(pbx.now),
        paused=paused,
        reason=reason,
    )
    pbx.emit(member.blob("QueueMemberAdded", pbx.now))
    agent_field = name if (name and pbx.cfg.log_membername_as_agent) else interface
    pbx.records.queue_log(
        pbx.now, "MANAGER", queue_name, agent_field, "ADDMEMBER", "PAUSED" if paused else ""
    )
    pbx.dispatch()
    return "ok"


def remove_member(pbx: Engine, queue_name: str, interface: str) -> str:
    queue = pbx.queues.get(queue_name)
    if queue is None:
        return "nosuchqueue"
    member = queue.members.get(interface)
    if member is None:
        return "notthere"
    if not member.dynamic:
        return "notdynamic"
    del queue.members[interface]
    pbx.emit(member.blob("QueueMemberRemoved", pbx.now))
    pbx.idle.observe(pbx.now, pbx.queues.values())
    agent_field = member.name if pbx.cfg.log_membername_as_agent else interface
    pbx.records.queue_log(pbx.now, "MANAGER", queue_name, agent_field, "REMOVEMEMBER", "")
    return "ok"


def _members(pbx: Engine, queue_name: str, interface: str) -> Iterator[tuple[Queue, QueueMember]]:
    """``interface``'s membership of ``queue_name``, or of every queue when it is empty."""
    for queue in pbx.queues.values():
        if queue_name and queue.name.lower() != queue_name.lower():
            continue
        member = queue.members.get(interface)
        if member is not None:
            yield queue, member


def pause_member(pbx: Engine, queue_name: str, interface: str, paused: bool, reason: str) -> bool:
    found = False
    for queue, member in _members(pbx, queue_name, interface):
        found = True
        if member.paused != paused:
            member.paused = paused
            if paused:
                member.last_pause = int(pbx.now)
        member.paused_reason = reason
        pbx.records.queue_log(
            pbx.now, "NONE", queue.name, member.name, "PAUSE" if paused else "UNPAUSE", reason
        )
        pbx.emit(member.blob("QueueMemberPause", pbx.now))
        if not paused:
            member.paused_reason = ""
    if found and not paused:
        pbx.dispatch()
    pbx.idle.observe(pbx.now, pbx.queues.values())
    return found


def set_penalty(pbx: Engine, queue_name: str, interface: str, penalty: int) -> bool:
    """QueuePenalty: every matching member (of ``queue_name``, or of all queues)."""
    found = False
    for queue, member in _members(pbx, queue_name, interface):
        found = True
        member.penalty = penalty
        # set_member_penalty_help_members: the queue_log line, then the event
        pbx.records.queue_log(pbx.now, "NONE", queue.name, interface, "PENALTY", penalty)
        pbx.emit(member.blob("QueueMemberPenalty", pbx.now))
    if found:
        pbx.dispatch()
    return found
