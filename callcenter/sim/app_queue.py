"""app_queue: a caller waits, members ring (autofill), one answers, the talk ends; or the
caller abandons or times out. Events, queue_log lines and their order as app_queue.c.

Plain functions of the Pbx (seen through ``ports.Engine``), which owns every piece of state;
call_flow.py brings the caller here and takes it back.
"""

from __future__ import annotations

from callcenter.sim import callers, local_members
from callcenter.sim.call_state import (
    NORMAL_CLEARING,
    NOT_INUSE,
    Attempt,
    Call,
    Queue,
    QueueMember,
    Ring,
)
from callcenter.sim.call_state import RINGING as DEV_RINGING
from callcenter.sim.channels import RINGING, UP, Channel, bridge_channel_event
from callcenter.sim.local_channels import parse_local
from callcenter.sim.penalty_rules import apply_rule, range_from_variables
from callcenter.sim.ports import Engine
from callcenter.sim.talk import agent_leaves, caller_left, end_bridge, start_talk
from callcenter.sim.traffic import RingResult


def join_queue(pbx: Engine, call: Call, queue: Queue) -> None:
    chan = call.chan
    call.stage = "queue"
    call.queue = queue
    call.joined_at = pbx.now
    queue.waiting.append(call)
    call.opos = len(queue.waiting)
    call.truth.queue = queue.name
    if call.truth.joined_at is None:
        call.truth.joined_at = pbx.now
    pbx.records.queue_log(
        pbx.now,
        chan.uniqueid,
        queue.name,
        "NONE",
        "ENTERQUEUE",
        "",
        chan.caller_num,
        call.opos,
    )
    pbx.emit(
        chan.event(
            "QueueCallerJoin",
            pbx.now,
            Queue=queue.name,
            Position=str(call.opos),
            Count=str(len(queue.waiting)),
        )
    )
    pbx.emit(chan.event("MusicOnHoldStart", pbx.now, Class="default"))
    gen = call.gen
    pbx.sched.after(call.plan.patience, lambda: queue_timer(pbx, call, gen, "abandon"))
    pbx.sched.after(queue.config.max_wait, lambda: queue_timer(pbx, call, gen, "timeout"))
    # queue_exec reads the caller's penalty range, then copy_rules: Queue()'s rule
    # argument, else the queue's defaultrule
    call.limits = range_from_variables(chan.variables)
    asked = call.queue_rule if call.agi_app == "Queue" else ""
    call.rules = pbx.cfg.queue_rules.get(asked or queue.config.defaultrule, ())
    next_rule(pbx, call)
    dispatch(pbx)


def next_rule(pbx: Engine, call: Call) -> None:
    """Wake when the caller's next penalty rule is due (wait_our_turn checks each second
    that the wait has reached the rule's time)."""
    if not call.rules:
        return
    gen = call.gen
    due = call.joined_at + call.rules[0].time
    pbx.sched.at(max(due, pbx.now), lambda: rules_due(pbx, call, gen))


def rules_due(pbx: Engine, call: Call, gen: int) -> None:
    """update_qe_rule for every rule whose time has come: the range moves, the channel
    variables say so (VarSet), and members newly in range are offered the caller."""
    if call.stage != "queue" or call.gen != gen:
        return
    while call.rules and pbx.now - call.joined_at >= call.rules[0].time:
        call.limits, variables = apply_rule(call.limits, call.rules[0])
        call.rules = call.rules[1:]
        for name, value in variables.items():
            pbx.varset(call.chan, name, value)
    next_rule(pbx, call)
    dispatch(pbx)


def queue_timer(pbx: Engine, call: Call, gen: int, what: str) -> None:
    if call.stage != "queue" or call.gen != gen:
        return
    if what == "abandon":
        pbx.caller_hangup(call)
    else:
        queue_timeout(pbx, call)


def position(pbx: Engine, call: Call) -> int:
    assert call.queue is not None
    return call.queue.waiting.index(call) + 1


def leave_queue(pbx: Engine, call: Call) -> tuple[int, int]:
    """Remove the caller from its queue; returns (position, count left)."""
    queue = call.queue
    assert queue is not None
    pos = position(pbx, call)
    queue.waiting.remove(call)
    call.gen += 1
    rings = tuple(
        (a.start, pbx.now if a.end is None else a.end)
        for a in call.attempts
        if a.app == "Queue" and a.start >= call.joined_at
    )
    pbx.idle.left(call.call_id, queue.name, call.joined_at, pbx.now, rings)
    pbx.emit(
        call.chan.event(
            "QueueCallerLeave",
            pbx.now,
            Queue=queue.name,
            Position=str(pos),
            Count=str(len(queue.waiting)),
        )
    )
    return pos, len(queue.waiting)


def dispatch(pbx: Engine) -> None:
    """Ring free members for waiting callers, in queue order (autofill).

    As is_our_turn: a caller has a turn while fewer callers stand ahead of it, not ringing
    anyone, than the queue has free members (whatever their penalty); a caller waiting
    out ``retry`` still stands ahead. A caller whose turn it is rings the best free member
    within its penalty range; when none is, it tries again after ``retry`` (try_calling
    found nobody, wait_a_bit)."""
    now = pbx.now
    for queue in pbx.queues.values():
        if not queue.waiting:
            continue
        ahead = 0
        for call in list(queue.waiting):
            if call.ring is not None:
                continue  # pending: not counted ahead of the others
            if ahead >= queue.available_count(now):
                break
            ahead += 1
            if call.next_try > now:
                continue
            member = queue.pick(now, call.limits)
            if member is None:
                retry = queue.config.retry
                call.next_try = now + retry
                pbx.sched.after(retry + 1e-6, pbx.dispatch)
                continue
            ring_member(pbx, call, member)
            ahead -= 1
    pbx.idle.observe(now, pbx.queues.values())


def ring_member(pbx: Engine, call: Call, member: QueueMember) -> None:
    queue = call.queue
    assert queue is not None
    cfg = pbx.cfg
    caller = call.chan
    local = parse_local(member.interface)
    if local is None:
        agent_chan = pbx.new_channel(
            member.interface, cfg.agent_context, caller.exten, caller.linkedid, owner=call
        )
        agent_chan.app, agent_chan.appdata = "AppQueue", "(Outgoing Line)"
    else:
        agent_chan = local_members.request(pbx, call, local)
    call.ring = Ring(member, agent_chan, pbx.now, pbx.model.ring(call.ring_rng))
    call.attempts.append(Attempt(agent_chan.name, pbx.now, cdr_seq=pbx.attempt_seq(call)))
    call.truth.ring_attempts += 1
    member.agent.ringing = call
    ring = call.ring
    timeout = queue.config.ring_timeout
    if local is None:
        pbx.emit(agent_chan.event("Newchannel", pbx.now))
        agent_chan.caller_num = caller.exten
        agent_chan.connected_num = caller.caller_num
        agent_chan.connected_name = caller.caller_name
        pbx.emit(
            agent_chan.event(
                "NewCallerid",
                pbx.now,
                **{"CID-CallingPres": "0 (Presentation Allowed, Not Screened)"},
            )
        )
    agent_fields = {
        "Queue": queue.name,
        "Interface": member.interface,
        "MemberName": member.name,
    }
    pbx.emit(caller.dial_event("AgentCalled", pbx.now, agent_chan, **agent_fields))
    # app_queue publishes the whole interface as DialString; the PJSIP leg keeps the
    # resource alone, as the simulator always wrote it
    dial_string = member.interface if local else member.interface.split("/", 1)[-1]
    pbx.emit(caller.dial_event("DialBegin", pbx.now, agent_chan, DialString=dial_string))
    if local is None:
        pbx.set_state(agent_chan, RINGING)
        pbx.emit(caller.dial_event("DialState", pbx.now, agent_chan, DialStatus="RINGING"))
        pbx.member_status(member.agent, DEV_RINGING)
    else:
        local_members.ringing(pbx, call, agent_chan, ring.result, timeout)
        pbx.member_status(member.agent, DEV_RINGING)
        pbx.emit(caller.dial_event("DialState", pbx.now, agent_chan, DialStatus="RINGING"))
    if ring.result.answers and ring.result.delay < timeout:
        pbx.sched.after(ring.result.delay, lambda: agent_answer(pbx, call, ring))
    else:
        pbx.sched.after(timeout, lambda: ring_no_answer(pbx, call, ring))


def end_ring(pbx: Engine, call: Call, status: str, cause: int = 0) -> Ring:
    """Tear down the ringing agent channel (no answer, cancel, timeout)."""
    ring = call.ring
    assert ring is not None
    call.ring = None
    ring.member.agent.ringing = None
    call.attempts[-1].end = pbx.now
    pbx.emit(call.chan.dial_event("DialEnd", pbx.now, ring.chan, DialStatus=status))
    if ring.chan.partner is None:
        pbx.hangup_channel(ring.chan, cause)
    else:
        # hangupcalls() reports CANCEL for every leg it hangs up, whatever ended the ring
        pbx.emit(call.chan.dial_event("DialEnd", pbx.now, ring.chan, DialStatus="CANCEL"))
        local_members.ring_over(pbx, ring.chan)
    pbx.member_status(ring.member.agent, NOT_INUSE)
    return ring


def ring_no_answer(pbx: Engine, call: Call, ring: Ring) -> None:
    if call.ring is not ring:
        return
    queue = call.queue
    assert queue is not None
    ring_ms = round((pbx.now - ring.started) * 1000)
    member = ring.member
    pbx.emit(
        call.chan.dial_event(
            "AgentRingNoAnswer",
            pbx.now,
            ring.chan,
            Queue=queue.name,
            Interface=member.interface,
            MemberName=member.name,
            RingTime=str(ring_ms),
        )
    )
    end_ring(pbx, call, "NOANSWER")
    pbx.records.queue_log(
        pbx.now, call.chan.uniqueid, queue.name, member.name, "RINGNOANSWER", ring_ms
    )
    call.next_try = pbx.now + queue.config.retry
    pbx.sched.after(queue.config.retry + 1e-6, pbx.dispatch)
    dispatch(pbx)


def cancel_ring(pbx: Engine, call: Call) -> None:
    if call.ring is None:
        return
    queue = call.queue
    assert queue is not None
    ring = end_ring(pbx, call, "CANCEL")
    ring_ms = round((pbx.now - ring.started) * 1000)
    pbx.records.queue_log(
        pbx.now, call.chan.uniqueid, queue.name, ring.member.name, "RINGCANCELED", ring_ms
    )


def agent_answer(pbx: Engine, call: Call, ring: Ring) -> None:
    if call.ring is not ring or call.stage != "queue":
        return
    queue = call.queue
    assert queue is not None
    member, agent_chan, caller = ring.member, ring.chan, call.chan
    call.ring = None
    member.agent.ringing = None
    call.attempts[-1].answered = True
    if agent_chan.partner is None:
        pbx.set_state(agent_chan, UP)
    else:
        local_members.answer(pbx, agent_chan)
    pbx.emit(caller.dial_event("DialEnd", pbx.now, agent_chan, DialStatus="ANSWER"))
    pbx.emit(caller.event("MusicOnHoldStop", pbx.now))
    leave_queue(pbx, call)
    hold = int(pbx.now) - int(call.joined_at)
    ring_s = int(pbx.now - ring.started)
    queue.record_hold(hold)
    pbx.records.queue_log(
        pbx.now, caller.uniqueid, queue.name, member.name, "CONNECT",
        hold, agent_chan.uniqueid, ring_s,
    )  # fmt: skip
    pbx.emit(
        caller.dial_event(
            "AgentConnect",
            pbx.now,
            agent_chan,
            Queue=queue.name,
            Interface=member.interface,
            MemberName=member.name,
            HoldTime=str(hold),
            RingTime=str(ring_s),
        )
    )
    call.stage = "talk"
    call.member, call.agent_chan = member, agent_chan
    call.connected_at = pbx.now
    call.bridge_id = pbx.new_bridge_id()
    member.in_call = True
    member.agent.talking = call
    by = start_talk(pbx, call, member.agent, agent_chan, call.bridge_id)
    truth = call.truth
    truth.wait = pbx.now - (truth.joined_at or call.joined_at)
    truth.agent, truth.agent_interface = member.name, member.interface
    pbx.sched.after(call.plan.handle_seconds, lambda: _talk_over(pbx, call, agent_chan, by))
    dispatch(pbx)


def _talk_over(pbx: Engine, call: Call, agent_chan: Channel, by: str) -> None:
    """The planned end of one member's talk (not of the next one's after a transfer)."""
    if call.agent_chan is agent_chan:
        talk_end(pbx, call, by)


def complete_fields(pbx: Engine, call: Call, reason: str) -> tuple[dict[str, str], int, int]:
    """AgentComplete's fields for the member's part of the call, its hold and talk time."""
    queue, member = call.queue, call.member
    assert queue is not None and member is not None
    hold = int(call.connected_at) - int(call.joined_at)
    talk = int(pbx.now) - int(call.connected_at)
    complete: dict[str, str] = {
        "Queue": queue.name,
        "Interface": member.interface,
        "MemberName": member.name,
        "HoldTime": str(hold),
        "TalkTime": str(talk),
        "Reason": reason,
    }
    return complete, hold, talk


def member_done(pbx: Engine, call: Call, hold: int, talk: int) -> None:
    """The member's part of the call is over: the queue's counts, the member's last call."""
    queue, member = call.queue, call.member
    assert queue is not None and member is not None
    queue.record_complete(talk, hold <= queue.config.servicelevel)
    member.calls += 1
    member.last_call = int(pbx.now)
    member.in_call = False
    agent = member.agent
    agent.talking = None
    agent.last_end = pbx.now
    call.attempts[-1].end = pbx.now


def member_free(pbx: Engine, call: Call) -> None:
    """The member's phone is free: queue callers ring it once its wrap-up time is over."""
    assert call.member is not None
    agent = call.member.agent
    pbx.member_status(agent, NOT_INUSE)
    for waits in sorted({m.wrapuptime for q in pbx.queues.values() for m in q.members.values()
                         if m.interface == agent.interface}):  # fmt: skip
        pbx.sched.after(waits + 1e-6, pbx.dispatch)


def talk_end(pbx: Engine, call: Call, by: str, from_dialplan: bool = True) -> None:
    """The talk ends: ``by`` is who hung up (caller | agent); ``from_dialplan`` False when
    an AMI Hangup ended it rather than the agent's phone."""
    if call.stage != "talk":
        return
    queue, member, agent_chan = call.queue, call.member, call.agent_chan
    assert queue is not None and member is not None and agent_chan is not None
    caller = call.chan
    local = agent_chan.partner is not None
    goes_on = by == "agent" and call.agi_app == "Queue" and "c" in call.queue_options
    complete, hold, talk = complete_fields(pbx, call, by)
    bridge = call.bridge_id
    if by == "agent":
        agent_leaves(pbx, bridge, agent_chan, from_dialplan)
        pbx.emit(bridge_channel_event("BridgeLeave", pbx.now, bridge, 0, caller))
        pbx.emit(caller.dial_event("AgentComplete", pbx.now, agent_chan, **complete))
        end_bridge(pbx, bridge, agent_chan, caller)
        if local:
            local_members.two_gone(pbx, agent_chan)
        else:
            pbx.hangup_channel(agent_chan, NORMAL_CLEARING)
        pbx.emit(caller.event("SoftHangupRequest", pbx.now, Cause=str(NORMAL_CLEARING)))
        if not goes_on:
            callers.dialplan_ends(pbx, call, NORMAL_CLEARING)
        if local:  # app_queue hangs up the bridged ;1 once the bridge is over
            pbx.hangup_channel(agent_chan, NORMAL_CLEARING)
    else:
        callers.hangup_request(pbx, call, release=False)
        pbx.emit(caller.dial_event("AgentComplete", pbx.now, agent_chan, **complete))
        callers.release_origin(pbx, call)
        pbx.emit(bridge_channel_event("BridgeLeave", pbx.now, bridge, 1, caller))
    pbx.records.queue_log(
        pbx.now, caller.uniqueid, queue.name, member.name,
        "COMPLETEAGENT" if by == "agent" else "COMPLETECALLER", hold, talk, call.opos,
    )  # fmt: skip
    member_done(pbx, call, hold, talk)
    truth = call.truth
    truth.talk = pbx.now - call.connected_at
    truth.hangup_by = by
    if by == "caller":
        callers.caller_channel_ends(pbx, call, NORMAL_CLEARING)
        caller_left(pbx, bridge, agent_chan, caller)
    member_free(pbx, call)
    if goes_on:
        # Queue(...,c): app_queue sets QUEUESTATUS=CONTINUE and the caller goes on
        truth.outcome = "answered"
        pbx.varset(call.chan, "QUEUESTATUS", "CONTINUE")
        pbx.agi_app_returned(call, "agi")
        return
    pbx.end_call(call, "answered", NORMAL_CLEARING)


def queue_timeout(pbx: Engine, call: Call) -> None:
    queue = call.queue
    assert queue is not None
    cancel_ring(pbx, call)
    pbx.emit(call.chan.event("MusicOnHoldStop", pbx.now))
    pos, _ = leave_queue(pbx, call)
    wait = int(pbx.now) - int(call.joined_at)
    queue.record_abandon(wait)
    pbx.records.queue_log(
        pbx.now,
        call.chan.uniqueid,
        queue.name,
        "NONE",
        "EXITWITHTIMEOUT",
        pos,
        call.opos,
        wait,
    )
    call.truth.wait = pbx.now - (call.truth.joined_at or call.joined_at)
    call.stage = "voicemail"
    if call.attempts:
        call.tail_start, call.tail_seq = pbx.now, pbx.next_cdr_seq()
    if call.agi_app == "Queue":  # EXEC Queue returns; the AGI decides what comes next
        pbx.varset(call.chan, "QUEUESTATUS", "TIMEOUT")
        pbx.agi_app_returned(call, "agi")
        dispatch(pbx)
        return
    box = pbx.cfg.voicemail_box
    pbx.newexten(call.chan, 8, "VoiceMail", f"{box},u")
    call.truth.outcome = "voicemail"
    # greeting + beep, then the message, then the caller hangs up
    pbx.sched.after(4.0 + call.plan.voicemail_seconds, lambda: pbx.caller_hangup(call))
    dispatch(pbx)


def abandon(pbx: Engine, call: Call) -> None:
    """The caller hangs up while waiting in the queue."""
    chan = call.chan
    queue = call.queue
    assert queue is not None
    callers.hangup_request(pbx, call)
    cancel_ring(pbx, call)
    pbx.emit(chan.event("MusicOnHoldStop", pbx.now))
    pos = position(pbx, call)
    hold = int(pbx.now) - int(call.joined_at)
    pbx.emit(
        chan.event(
            "QueueCallerAbandon",
            pbx.now,
            Queue=queue.name,
            Position=str(pos),
            OriginalPosition=str(call.opos),
            HoldTime=str(hold),
        )
    )
    leave_queue(pbx, call)
    queue.record_abandon(hold)
    pbx.records.queue_log(
        pbx.now, chan.uniqueid, queue.name, "NONE", "ABANDON", pos, call.opos, hold
    )
    wait = pbx.now - (call.truth.joined_at or call.joined_at)
    call.truth.wait = wait
    short = wait < pbx.cfg.short_abandon_s
    pbx.end_call(call, "short_abandon" if short else "abandoned", NORMAL_CLEARING)
    dispatch(pbx)


def agent_hangup_ringing(pbx: Engine, call: Call) -> None:
    """The ringing agent rejects the call (AMI Hangup on the agent channel)."""
    ring = call.ring
    if ring is None:
        return
    ring.result = RingResult(False, 0.0)
    ring_no_answer(pbx, call, ring)
