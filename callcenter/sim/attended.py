"""AMI ``Atxfer`` of a queue call's agent: Asterisk's attended transfer, common path.

main/manager.c ``action_atxfer`` queues the ``atxfer`` feature code (features.conf) and the
extension as DTMF on the agent's channel; main/bridge_basic.c ``feature_attended_transfer``
then holds the caller (``ast_bridge_channel_write_hold``: Hold on the transferer, music on
hold for the caller), calls the target in a new channel, puts it in a new bridge and moves
the agent there (``calling_target_enter``). Then (the attended transfer state machine):

- the target answers (CALLING_TARGET -> CONSULTING) and the agent hangs up: COMPLETE. The
  caller's bridge is taken off hold, the target's bridge is merged into it (the target
  leaves its bridge and enters the caller's), and the AttendedTransfer event
  (main/stasis_bridges.c ``attended_transfer_to_ami``) says Success, DestType Bridge;
  app_queue's ``handle_attended_transfer`` writes ATTENDEDTRANSFER and AgentComplete
  ``transfer``. The agent's own hangup is no AgentComplete (app_queue's ``handle_hangup``
  skips a channel with the transferer role).
- the target does not answer within ``atxfernoanswertimeout`` (15 s) or hangs up:
  REBRIDGE. The agent goes back to the caller's bridge and is taken off hold; Asterisk
  publishes no AttendedTransfer for it.

Asterisk dials ``Local/<exten>@<context>`` whose ``;2`` runs the dialplan (``Dial`` of the
seat) and optimizes away once bridged; the simulator calls the seat's endpoint directly,
the channel that is left talking to the caller either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from callcenter.sim import app_queue
from callcenter.sim.call_state import INUSE, NORMAL_CLEARING, NOT_INUSE, Call, DirectDial
from callcenter.sim.call_state import RINGING as DEV_RINGING
from callcenter.sim.channels import (
    RINGING,
    UP,
    Channel,
    bridge_channel_event,
    bridge_event,
    bridge_fields,
    header,
)
from callcenter.sim.dial import UNREACHABLE, USER_BUSY
from callcenter.sim.ports import Engine
from callcenter.sim.queue_transfer import queue_sees_transfer, transfers_from

Queued = Literal["queued", "nochannel", "nocode"]
NO_ANSWER_S = 15.0
UNREACHABLE_CAUSE = 20  # AST_CAUSE_SUBSCRIBER_ABSENT: an unregistered endpoint  # features.conf atxfernoanswertimeout's default
SEAT_CONTEXT = "from-internal"  # where the transfer dials when no Context is given


@dataclass(eq=False)
class AttendedTransfer:
    transferer: Channel  # the agent's channel
    target: Channel
    target_bridge: str
    answered: bool = False


def start(pbx: Engine, name: str, exten: str, context: str) -> Queued:
    """The DTMF the action queued reaches the agent's channel; the transfer starts there
    when it talks in a queue call's two-party bridge (Asterisk ignores it elsewhere)."""
    chan = pbx.channels.get(name)
    if chan is None:
        return "nochannel"
    if not pbx.cfg.atxfer_code:
        return "nocode"
    if context:
        pbx.varset(chan, "TRANSFER_CONTEXT", context)
    for digit in pbx.cfg.atxfer_code + exten:
        pbx.dtmf(chan, digit)
    call = transfers_from(chan)
    if call is None:
        return "queued"
    caller, bridge = call.chan, chan.bridge_id
    pbx.emit(chan.event("Hold", pbx.now))
    pbx.emit(caller.event("MusicOnHoldStart", pbx.now, Class="default"))
    seat = pbx.agents.get(f"PJSIP/{exten}")
    if seat is None:
        # grab_transfer finds no such extension: the transfer ends before any call
        pbx.emit(chan.event("Unhold", pbx.now))
        pbx.emit(caller.event("MusicOnHoldStop", pbx.now))
        return "queued"
    target = pbx.dialer.callee_channel(call, seat.interface)
    pbx.varset(target, "TRANSFERERNAME", chan.name)
    pbx.varset(target, "ATTENDEDTRANSFER", chan.name)
    target_bridge = pbx.new_bridge_id()
    pbx.emit(bridge_event("BridgeCreate", pbx.now, target_bridge, 0))
    pbx.emit(bridge_channel_event("BridgeEnter", pbx.now, target_bridge, 1, target))
    pbx.emit(bridge_channel_event("BridgeLeave", pbx.now, bridge, 1, chan))
    pbx.emit(bridge_channel_event("BridgeEnter", pbx.now, target_bridge, 2, chan))
    chan.bridge_id = target.bridge_id = target_bridge
    xfer = AttendedTransfer(chan, target, target_bridge)
    call.atxfer, call.stage = xfer, "atxfer"
    busy = seat.status != NOT_INUSE or seat.ringing is not None or seat.talking is not None
    if busy:
        # the seat's Dial ends at once (CHANUNAVAIL, BUSY): the target hangs up unanswered
        cause = USER_BUSY if seat.status not in UNREACHABLE else UNREACHABLE_CAUSE
        _rebridge(pbx, call, xfer, cause)
        return "queued"
    seat.ringing = call
    pbx.set_state(target, RINGING)
    pbx.member_status(seat, DEV_RINGING)
    result = pbx.model.ring(call.ring_rng)
    if result.answers and result.delay < NO_ANSWER_S:
        pbx.sched.after(result.delay, lambda: _target_answers(pbx, call, xfer))
    else:
        pbx.sched.after(NO_ANSWER_S, lambda: _rebridge(pbx, call, xfer, 0))
    return "queued"


def _target_answers(pbx: Engine, call: Call, xfer: AttendedTransfer) -> None:
    if call.atxfer is not xfer:
        return
    seat = pbx.agents[xfer.target.name.rsplit("-", 1)[0]]
    seat.ringing, seat.talking = None, call
    xfer.answered = True
    pbx.set_state(xfer.target, UP)
    pbx.member_status(seat, INUSE)


def _rebridge(pbx: Engine, call: Call, xfer: AttendedTransfer, cause: int) -> None:
    """REBRIDGE: the target is gone (no answer, or it hung up); the agent talks to the
    caller again."""
    if call.atxfer is not xfer:
        return
    chan, target, caller = xfer.transferer, xfer.target, call.chan
    seat = pbx.agents[target.name.rsplit("-", 1)[0]]
    ours = call in (seat.ringing, seat.talking)  # not when the seat was busy with another
    if ours:
        seat.ringing = seat.talking = None
    pbx.emit(bridge_channel_event("BridgeLeave", pbx.now, xfer.target_bridge, 1, target))
    pbx.hangup_channel(target, cause)
    if ours:
        pbx.member_status(seat, NOT_INUSE)
    pbx.emit(bridge_channel_event("BridgeLeave", pbx.now, xfer.target_bridge, 0, chan))
    pbx.emit(bridge_event("BridgeDestroy", pbx.now, xfer.target_bridge, 0))
    pbx.emit(bridge_channel_event("BridgeEnter", pbx.now, call.bridge_id, 2, chan))
    chan.bridge_id = call.bridge_id
    pbx.emit(chan.event("Unhold", pbx.now))
    pbx.emit(caller.event("MusicOnHoldStop", pbx.now))
    call.atxfer, call.stage = None, "talk"
    pbx.dispatch()


def caller_hangup(pbx: Engine, call: Call) -> None:
    """The caller hangs up while held (Asterisk: TRANSFER_FAIL): not modelled beyond the
    target's call ending and the talk ending as the caller's hangup."""
    xfer = call.atxfer
    assert isinstance(xfer, AttendedTransfer)
    _rebridge(pbx, call, xfer, NORMAL_CLEARING)
    app_queue.talk_end(pbx, call, "caller")


def hangup(pbx: Engine, call: Call, chan: Channel) -> bool:
    """An AMI Hangup of a channel in the transfer; False when it is neither side."""
    xfer = call.atxfer
    assert isinstance(xfer, AttendedTransfer)
    if chan is xfer.target:
        _rebridge(pbx, call, xfer, NORMAL_CLEARING)
        return True
    if chan is not xfer.transferer:
        return False
    if not xfer.answered:
        # Asterisk makes this a "blond" transfer (the caller gets the still ringing target);
        # not modelled: the target's call ends and the agent's hangup ends the talk.
        _rebridge(pbx, call, xfer, NORMAL_CLEARING)
        app_queue.talk_end(pbx, call, "agent", from_dialplan=False)
        return True
    _complete(pbx, call, xfer)
    return True


def _complete(pbx: Engine, call: Call, xfer: AttendedTransfer) -> None:
    """CONSULTING + the transferer hangs up -> COMPLETE (bridge_basic.c complete_enter)."""
    chan, target, caller, bridge = xfer.transferer, xfer.target, call.chan, call.bridge_id
    pbx.emit(chan.event("HangupRequest", pbx.now, Cause=str(NORMAL_CLEARING)))
    pbx.emit(bridge_channel_event("BridgeLeave", pbx.now, xfer.target_bridge, 1, chan))
    pbx.hangup_channel(chan, NORMAL_CLEARING)
    pbx.emit(caller.event("MusicOnHoldStop", pbx.now))  # bridge_unhold(transferee_bridge)
    pbx.emit(bridge_channel_event("BridgeLeave", pbx.now, xfer.target_bridge, 0, target))
    pbx.emit(bridge_channel_event("BridgeEnter", pbx.now, bridge, 2, target))
    pbx.emit(bridge_event("BridgeDestroy", pbx.now, xfer.target_bridge, 0))
    target.bridge_id = bridge
    event = header("AttendedTransfer", pbx.now)
    event.update({"Result": "Success", **chan.state_fields("OrigTransferer")})
    event.update(bridge_fields(bridge, 2, "Orig"))
    event.update(chan.state_fields("SecondTransferer"))
    event.update(bridge_fields(xfer.target_bridge, 0, "Second"))
    event.update(caller.state_fields("Transferee"))
    event.update(target.state_fields("TransferTarget"))
    event.update({"IsExternal": "Yes", "DestType": "Bridge", "DestBridgeUniqueid": bridge})
    pbx.emit(event)
    queue_sees_transfer(pbx, call, "ATTENDEDTRANSFER", "BRIDGE", bridge)  # log_attended_transfer
    app_queue.member_free(pbx, call)
    seat = pbx.agents[target.name.rsplit("-", 1)[0]]
    # The caller talks on with the target, as after a Dial that the target answered.
    call.atxfer, call.agent_chan, call.stage = None, None, "dial"
    call.dial = DirectDial(seat, target, pbx.now, False, "agi", pbx.now, bridge)
    call.truth.agent = call.truth.agent_interface = seat.interface
    by = "agent" if call.plan.agent_hangs_up else "caller"  # the plan's talk, now with the target
    pbx.sched.after(call.plan.handle_seconds, lambda: pbx.dialer.talk_end(call, by))
