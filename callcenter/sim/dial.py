"""``Dial(interface,timeout,options)`` run by an AGI ``EXEC``, as apps/app_dial.c does it.

Only one destination is dialled (the first of ``a&b``). The outcome follows app_dial.c:

- an interface the simulator does not know, or a phone that is unreachable: no channel is
  created (ast_request fails), ``DIALSTATUS=CHANUNAVAIL``, the application returns 0;
- a phone already ringing or in a call: its channel answers busy (DialBegin, DialEnd
  ``BUSY``, Hangup cause 17), ``DIALSTATUS=BUSY``, returns 0;
- a free phone rings (Newchannel, DialBegin, Newstate Ringing, DialState ``RINGING``):
  it answers after the traffic model's pick-up delay with the model's answer probability
  (Newstate Up, ``DIALSTATUS=ANSWER``, DialEnd ``ANSWER``, a bridge), else after the
  timeout DialEnd ``NOANSWER``, the callee hung up (cause 0), ``DIALSTATUS=NOANSWER``,
  returns 0. The caller hanging up while it rings is DialEnd ``CANCEL``.
- after an answered call the callee or the caller hangs up; without the ``g`` option Dial
  returns -1 and, as with ``Queue`` without ``g``, the simulated dialplan ends the call;
  with ``g`` the caller goes on in the AGI.

queue_log has no line for a direct dial (app_queue is not involved); the CDR has a row for
the attempt (``lastapp`` Dial, the callee's channel, ANSWERED or NO ANSWER). A ``Local/``
interface is rung through a Local pair, as app_queue rings one (``local_members.py``).
"""

from __future__ import annotations

from callcenter.sim import callers, local_members
from callcenter.sim.call_state import NOT_INUSE, Call, DirectDial
from callcenter.sim.call_state import RINGING as DEV_RINGING
from callcenter.sim.channels import RINGING, UP, Channel, bridge_channel_event
from callcenter.sim.local_channels import parse_local
from callcenter.sim.ports import Engine
from callcenter.sim.talk import agent_leaves, caller_left, end_bridge, start_talk

NORMAL_CLEARING = 16
USER_BUSY = 17
UNREACHABLE = frozenset({0, 4, 5})  # unknown, invalid, unavailable device states
DEFAULT_TIMEOUT_S = 60.0  # no timeout given: the simulated phone gives up ringing after this


def parse_dial(data: str) -> tuple[str, float, str]:
    """``PJSIP/1030&PJSIP/1031,20,g`` -> (first interface, timeout seconds, options)."""
    parts = data.split(",")
    interface = parts[0].split("&", 1)[0].strip()
    try:
        timeout = float(parts[1]) if len(parts) > 1 and parts[1].strip() else 0.0
    except ValueError:
        timeout = 0.0
    options = parts[2] if len(parts) > 2 else ""
    return interface, timeout if timeout > 0 else DEFAULT_TIMEOUT_S, options


class Dialer:
    def __init__(self, pbx: Engine) -> None:
        self.pbx = pbx

    def start(self, call: Call, data: str) -> bool:
        """Run ``Dial(data)`` for the caller; False when it returned at once (the AGI gets
        its reply now), True while the callee rings."""
        pbx, caller = self.pbx, call.chan
        pbx.newexten(caller, caller.priority, "Dial", data)
        pbx.varset(caller, "DIALSTATUS", "")  # app_dial resets its variables first
        interface, timeout, options = parse_dial(data)
        agent = pbx.agents.get(interface)
        if agent is None or agent.status in UNREACHABLE:
            pbx.varset(caller, "DIALSTATUS", "CHANUNAVAIL")
            return False
        local = parse_local(interface)
        if local is None:
            callee = self.callee_channel(call, interface)
        else:
            callee = local_members.request(pbx, call, local, "AppDial")
        attempt = call.add_attempt(callee.name, pbx.now, "Dial", data, pbx.attempt_seq(call))
        call.truth.ring_attempts += 1
        resource = interface.split("/", 1)[-1]
        pbx.emit(caller.dial_event("DialBegin", pbx.now, callee, DialString=resource))
        if agent.status != NOT_INUSE or agent.ringing is not None or agent.talking is not None:
            pbx.emit(caller.dial_event("DialEnd", pbx.now, callee, DialStatus="BUSY"))
            attempt.end, attempt.busy = pbx.now, True
            self._hang_up_ringing(callee, USER_BUSY)
            pbx.varset(caller, "DIALSTATUS", "BUSY")
            return False
        dial = DirectDial(agent, callee, pbx.now, "g" in options, call.stage)
        call.dial, call.stage, call.agi_app = dial, "dial", "Dial"
        agent.ringing = call
        result = pbx.model.ring(call.ring_rng)
        if local is None:
            pbx.set_state(callee, RINGING)
            pbx.emit(caller.dial_event("DialState", pbx.now, callee, DialStatus="RINGING"))
            pbx.member_status(agent, DEV_RINGING)
        else:
            local_members.ringing(pbx, call, callee, result, timeout)
            pbx.member_status(agent, DEV_RINGING)
            pbx.emit(caller.dial_event("DialState", pbx.now, callee, DialStatus="RINGING"))
        if result.answers and result.delay < timeout:
            pbx.sched.after(result.delay, lambda: self._answer(call, dial))
        else:
            pbx.sched.after(timeout, lambda: self._no_answer(call, dial))
        return True

    def callee_channel(self, call: Call, interface: str) -> Channel:
        pbx, caller = self.pbx, call.chan
        callee = pbx.new_channel(
            interface, pbx.cfg.agent_context, caller.exten, caller.linkedid, owner=call
        )
        callee.app, callee.appdata = "AppDial", "(Outgoing Line)"
        pbx.emit(callee.event("Newchannel", pbx.now))
        callee.caller_num = caller.exten
        callee.connected_num, callee.connected_name = caller.caller_num, caller.caller_name
        pbx.emit(
            callee.event(
                "NewCallerid", pbx.now,
                **{"CID-CallingPres": "0 (Presentation Allowed, Not Screened)"},
            )
        )  # fmt: skip
        return callee

    # -- ringing ----------------------------------------------------------------------
    def _hang_up_ringing(self, callee: Channel, cause: int) -> None:
        if callee.partner is None:
            self.pbx.hangup_channel(callee, cause)
        else:
            local_members.ring_over(self.pbx, callee)

    def _ring_over(self, call: Call, dial: DirectDial, status: str, cause: int) -> None:
        pbx = self.pbx
        dial.agent.ringing = None
        call.attempts[-1].end = pbx.now
        pbx.emit(call.chan.dial_event("DialEnd", pbx.now, dial.chan, DialStatus=status))
        self._hang_up_ringing(dial.chan, cause)
        pbx.member_status(dial.agent, NOT_INUSE)
        call.dial = None
        pbx.dispatch()  # the phone is free for queue callers again

    def _no_answer(self, call: Call, dial: DirectDial) -> None:
        if call.dial is not dial or dial.answered_at is not None:
            return
        self._ring_over(call, dial, "NOANSWER", 0)
        self.pbx.varset(call.chan, "DIALSTATUS", "NOANSWER")
        self.pbx.agi_app_returned(call, dial.back_to)

    def callee_rejects(self, call: Call) -> None:
        """The ringing phone hangs up (AMI Hangup): DialEnd from its cause, as NOANSWER."""
        dial = call.dial
        if dial is None or dial.answered_at is not None:
            return
        self._ring_over(call, dial, "NOANSWER", NORMAL_CLEARING)
        self.pbx.varset(call.chan, "DIALSTATUS", "NOANSWER")
        self.pbx.agi_app_returned(call, dial.back_to)

    def _answer(self, call: Call, dial: DirectDial) -> None:
        if call.dial is not dial or dial.answered_at is not None:
            return
        pbx, caller, callee = self.pbx, call.chan, dial.chan
        dial.answered_at = pbx.now
        dial.agent.ringing = None
        dial.agent.talking = call
        attempt = call.attempts[-1]
        attempt.answered, attempt.answered_at = True, pbx.now
        if callee.partner is None:
            pbx.set_state(callee, UP)
        else:
            local_members.answer(pbx, callee)
        pbx.varset(caller, "DIALSTATUS", "ANSWER")
        pbx.varset(caller, "DIALEDPEERNAME", callee.name)
        pbx.varset(caller, "DIALEDPEERNUMBER", dial.agent.interface.split("/", 1)[-1])
        pbx.emit(caller.dial_event("DialEnd", pbx.now, callee, DialStatus="ANSWER"))
        dial.bridge_id = pbx.new_bridge_id()
        by = start_talk(pbx, call, dial.agent, callee, dial.bridge_id)
        call.truth.agent = call.truth.agent_interface = dial.agent.interface
        pbx.sched.after(call.plan.handle_seconds, lambda: self.talk_end(call, by))

    # -- after the answer ----------------------------------------------------------------
    def talk_end(self, call: Call, by: str, from_dialplan: bool = True) -> None:
        """The talk ends: ``by`` is who hung up (caller | agent)."""
        dial = call.dial
        if dial is None or dial.answered_at is None or call.stage != "dial":
            return
        pbx, caller, callee, bridge = self.pbx, call.chan, dial.chan, dial.bridge_id
        call.dial = None
        dial.agent.talking = None  # app_queue's wrap-up follows queue calls only
        call.attempts[-1].end = pbx.now
        truth = call.truth
        truth.talk, truth.hangup_by = pbx.now - dial.answered_at, by
        truth.outcome = "answered"
        local = callee.partner is not None
        if by == "agent":
            agent_leaves(pbx, bridge, callee, from_dialplan)
            pbx.emit(bridge_channel_event("BridgeLeave", pbx.now, bridge, 0, caller))
            end_bridge(pbx, bridge, callee, caller)
            if local:
                local_members.two_gone(pbx, callee)
            pbx.hangup_channel(callee, NORMAL_CLEARING)
            pbx.member_status(dial.agent, NOT_INUSE)
            pbx.varset(caller, "DIALSTATUS", "ANSWER")
            pbx.dispatch()
            if dial.go_on:
                pbx.agi_app_returned(call, "agi")
                return
            pbx.end_call(call, "answered", NORMAL_CLEARING)
            return
        callers.hangup_request(pbx, call)
        pbx.emit(bridge_channel_event("BridgeLeave", pbx.now, bridge, 1, caller))
        caller_left(pbx, bridge, callee, caller)
        pbx.member_status(dial.agent, NOT_INUSE)
        pbx.end_call(call, "answered", NORMAL_CLEARING)
        pbx.dispatch()

    def caller_hangup(self, call: Call) -> None:
        """The caller hangs up during the Dial: ringing, it is cancelled; talking, it ends."""
        dial = call.dial
        if dial is None:
            return
        if dial.answered_at is not None:
            self.talk_end(call, "caller")
            return
        self._ring_over(call, dial, "CANCEL", 0)
        self.pbx.varset(call.chan, "DIALSTATUS", "CANCEL")
        call.agi_app, call.stage = "", dial.back_to
        self.pbx.caller_hangup(call)
