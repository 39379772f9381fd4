"""Queue members on ``Local/<ext>@<context>`` interfaces, rung as app_queue rings them.

app_queue requests the interface (a Local pair), dials ``;1`` (AgentCalled and DialBegin
name ``;1`` as DestChannel, DialString the whole interface) and later bridges the caller with
``;1``; ``;2`` runs ``<ext>@<context>``, the simulated agent's phone::

    1 NoOp(Agent <ext> offered call from <caller>)   2 Ringing()
    3 Wait(<pick-up delay>)   4 Answer()   5 Wait(<talk>)   6 Hangup()

A phone that lets it ring waits past the ring timeout. ``;2`` gets its own CDR row once it
answered; queue_log's CONNECT names ``;1``'s Uniqueid. Event order and causes follow the
captures (tests/data/ami_events_*.txt, members ``Local/100x@agents``).

Plain functions of the Pbx's channel steps (``ports.ChannelOps``); app_queue.py calls them
where a member's leg differs, and so does dial.py for an AGI ``EXEC Dial`` of a Local
interface.
"""

from __future__ import annotations

from callcenter.sim import cdrs
from callcenter.sim.call_state import NORMAL_CLEARING, Call
from callcenter.sim.channels import RINGING, UP, Channel
from callcenter.sim.local_channels import (
    LocalTarget,
    caller_ids,
    hang_up_unanswered,
    local_bridge,
    new_pair,
    seconds,
)
from callcenter.sim.ports import ChannelOps
from callcenter.sim.traffic import RingResult

NO_PICKUP_WAIT_S = 600.0  # Wait() of a phone that lets it ring


def request(pbx: ChannelOps, call: Call, target: LocalTarget, app: str = "AppQueue") -> Channel:
    """The pair for one ring; returns ``;1``, the channel app_queue (or app_dial: ``app``
    AppDial) dials."""
    caller = call.chan
    one, two = new_pair(pbx, target, caller.linkedid, call)
    # the dialing application gives the outgoing channel the caller's connected line as
    # its caller id
    one.caller_num, one.caller_name = caller.connected_num, caller.connected_name
    pbx.newexten(one, 1, app, "(Outgoing Line)")
    caller_ids(pbx, one, connected=False)
    pbx.varset(one, "DIALEDPEERNUMBER", target.dial_string)
    pbx.varset(two, "DIALEDPEERNUMBER", target.dial_string)
    two.caller_num, two.caller_name = caller.caller_num, caller.caller_name
    two.connected_num, two.connected_name = caller.connected_num, caller.connected_name
    caller_ids(pbx, two)
    local_bridge(pbx, one, two, target)
    return one


def ringing(pbx: ChannelOps, call: Call, one: Channel, result: RingResult, timeout: float) -> None:
    """``;2`` starts its dialplan: Ringing() makes ``;1`` ring; then it waits to pick up."""
    two = one.partner
    assert two is not None
    caller = call.chan
    pbx.newexten(two, 1, "NoOp", f"Agent {two.exten} offered call from {pbx.clid(caller)}")
    pbx.newexten(two, 2, "Ringing", "")
    one.exten = caller.exten  # the dialing application gives it the caller's extension
    one.connected_num, one.connected_name = caller.caller_num, caller.caller_name
    pbx.set_state(one, RINGING)
    pbx.newexten(one, 1, one.app, "(Outgoing Line)")
    pbx.emit(one.event("NewConnectedLine", pbx.now))
    picks_up = result.answers and result.delay < timeout
    pbx.newexten(two, 3, "Wait", seconds(result.delay if picks_up else NO_PICKUP_WAIT_S))


def answer(pbx: ChannelOps, one: Channel) -> None:
    """``;2`` runs Answer(): it is up, and so is ``;1`` (before app_queue's DialEnd)."""
    two = one.partner
    assert two is not None
    pbx.newexten(two, 4, "Answer", "")
    pbx.set_state(two, UP)


def talking(pbx: ChannelOps, one: Channel, talk_seconds: float) -> None:
    """Bridged with the caller, ``;2`` waits out the agent's talk."""
    two = one.partner
    assert two is not None
    pbx.newexten(two, 5, "Wait", seconds(talk_seconds))


def ring_over(pbx: ChannelOps, one: Channel) -> None:
    """The ring ended unanswered: app_queue's hangupcalls() hangs up ``;1``."""
    hang_up_unanswered(pbx, one)


def agent_hangs_up(pbx: ChannelOps, one: Channel, from_dialplan: bool) -> None:
    """The agent ends the talk: ``;2`` hangs up (Hangup() in its dialplan, or an AMI
    Hangup) and ``;1`` is asked to leave the bridge."""
    two = one.partner
    assert two is not None
    if from_dialplan:
        pbx.newexten(two, 6, "Hangup", "")
    pbx.emit(two.event("SoftHangupRequest", pbx.now, Cause=str(NORMAL_CLEARING)))
    pbx.emit(one.event("HangupRequest", pbx.now, Cause=str(NORMAL_CLEARING)))


def two_gone(pbx: ChannelOps, one: Channel) -> None:
    """``;2``'s Hangup, and its CDR row."""
    two = one.partner
    if two is not None and not two.dead:
        pbx.hangup_channel(two, NORMAL_CLEARING)
        cdrs.write_member_row(pbx, two)


def caller_left(pbx: ChannelOps, one: Channel) -> None:
    """The caller hung up during the talk: the bridge is gone, ``;2`` is told to hang up,
    goes, then ``;1``."""
    two = one.partner
    if two is not None and not two.dead:
        pbx.emit(two.event("HangupRequest", pbx.now, Cause=str(NORMAL_CLEARING)))
        pbx.emit(two.event("SoftHangupRequest", pbx.now, Cause=str(NORMAL_CLEARING)))
    two_gone(pbx, one)
    pbx.hangup_channel(one, NORMAL_CLEARING)
