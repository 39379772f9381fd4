"""The caller's channels, by ``SimConfig.topology``: how they appear, answer and go.

- ``trunk``: one ``PJSIP/<trunk>-<n>`` channel runs the dialplan and is queued; its Uniqueid
  is the call's Linkedid. Its CDR rows are written when the call ends.
- ``local``: a Local channel pair ``Local/<dnis>@<caller_context>-<n>;1`` / ``;2``, as an
  Originate of ``Local/<dnis>@from-pstn`` (or a FreePBX-style dialplan) makes it. ``;1``'s
  Uniqueid is the Linkedid; it is dialed (DialBegin with no calling channel), answered when
  ``;2`` answers, and then only waits (``Wait(<seconds the caller means to stay>)``).
  ``;2`` (Uniqueid + 1) runs the dialplan: menu/FastAGI, MixMonitor, Queue; it is the queued
  channel and queue_log's callid. The caller hanging up is ``;1``'s Wait ending: ``;2`` is
  asked to hang up (cause 0) and ``;1`` goes at once. When the dialplan side ends first
  (an agent hangs up), ``;1`` is asked to hang up and goes just before ``;2``. Each half's
  CDR rows are written when that half hangs up (main/cdr.c dispatches a channel's CDRs when
  its snapshot is dead), so their order follows the hang-ups.

Plain functions of the Pbx's channel steps (``ports.ChannelOps``), like the rest of the
engine.
"""

from __future__ import annotations

from callcenter.sim import cdrs
from callcenter.sim.call_state import NORMAL_CLEARING, Call
from callcenter.sim.channels import RING, UP, Channel, dest_dial_event
from callcenter.sim.local_channels import LocalTarget, caller_ids, local_bridge, new_pair, seconds
from callcenter.sim.ports import ChannelOps
from callcenter.sim.traffic import CallPlan

CONGESTION = 34


def new_caller(pbx: ChannelOps, plan: CallPlan) -> tuple[Channel, Channel | None]:
    """The channel that runs the dialplan, and the Local ``;1`` in front of it (or None)."""
    cfg = pbx.cfg
    if cfg.topology != "local":
        chan = pbx.new_channel(f"PJSIP/{cfg.trunk}", cfg.caller_context, plan.hotline)
        chan.state = RING
        chan.caller_num = plan.caller
        pbx.emit(chan.event("Newchannel", pbx.now))
        return chan, None
    target = LocalTarget(plan.hotline, cfg.caller_context)
    one, two = new_pair(pbx, target, None, None)
    pbx.newexten(one, 1, "AppDial2", "(Outgoing Line)")
    one.caller_num = plan.caller  # a PSTN caller sends a number and no name
    caller_ids(pbx, one, connected=False)
    one.connected_num = plan.caller
    pbx.emit(one.event("NewConnectedLine", pbx.now))
    two.caller_num = two.connected_num = plan.caller
    caller_ids(pbx, two)
    local_bridge(pbx, one, two, target)
    pbx.emit(dest_dial_event("DialBegin", pbx.now, one, DialString=target.dial_string))
    return two, one


def stay_seconds(plan: CallPlan) -> float:
    """How long the caller means to stay: ``;1``'s Wait() argument."""
    if plan.ivr_hangup:
        return plan.ivr_seconds
    return plan.ivr_seconds + plan.patience + plan.handle_seconds


def origin_answered(pbx: ChannelOps, call: Call) -> None:
    """``;2`` answered, so did ``;1`` (its Newstate is out): the Originate's dial is over
    and ``;1`` waits."""
    one = call.origin
    assert one is not None
    pbx.emit(dest_dial_event("DialEnd", pbx.now, one, DialStatus="ANSWER"))
    one.app, one.appdata = "Wait", seconds(stay_seconds(call.plan))


def hangup_request(pbx: ChannelOps, call: Call, release: bool = True) -> None:
    """The caller hangs up. ``release=False`` leaves ``;1``'s Hangup for ``release_origin``
    (app_queue reports AgentComplete in between)."""
    if call.origin is None:
        pbx.emit(call.chan.event("HangupRequest", pbx.now, Cause=str(NORMAL_CLEARING)))
        return
    pbx.emit(call.chan.event("HangupRequest", pbx.now, Cause="0"))
    if release:
        release_origin(pbx, call)


def release_origin(pbx: ChannelOps, call: Call) -> None:
    one = call.origin
    if one is None or one.dead:
        return
    pbx.hangup_channel(one, 0)
    cdrs.write_origin_row(pbx, call)


def dialplan_ends(pbx: ChannelOps, call: Call, cause: int) -> None:
    """The dialplan side is done with a caller who is still there: ``;1`` is asked to go."""
    one = call.origin
    if one is None or one.dead or call.origin_asked:
        return
    call.origin_asked = True
    pbx.emit(one.event("HangupRequest", pbx.now, Cause=str(cause)))


def caller_channel_ends(pbx: ChannelOps, call: Call, cause: int) -> None:
    """The queued channel hangs up after the caller left a talk (before the agent's leg)."""
    chan = call.chan
    if call.origin is None:
        pbx.hangup_channel(chan, cause)  # the trunk's rows are written when the call ends
        return
    pbx.emit(chan.event("SoftHangupRequest", pbx.now, Cause=str(NORMAL_CLEARING)))
    pbx.hangup_channel(chan, cause)
    cdrs.write_cdrs(pbx, call, cause)
    call.rows_written = True


def finish(pbx: ChannelOps, call: Call, cause: int) -> None:
    """The call ends: the caller's channels that are left hang up, and their CDR rows."""
    chan, one = call.chan, call.origin
    if one is None:
        pbx.hangup_channel(chan, cause)
    elif not one.dead and one.state == UP:
        dialplan_ends(pbx, call, cause)
        pbx.hangup_channel(one, cause)
        cdrs.write_origin_row(pbx, call)
        pbx.hangup_channel(chan, cause)
    elif not one.dead:  # refused before the answer: ;2 goes, the dial of ;1 fails
        pbx.hangup_channel(chan, cause)
        status = "CONGESTION" if cause == CONGESTION else "CANCEL"
        pbx.emit(dest_dial_event("DialEnd", pbx.now, one, DialStatus=status))
        pbx.hangup_channel(one, cause)
    elif not chan.dead:
        pbx.emit(chan.event("SoftHangupRequest", pbx.now, Cause=str(NORMAL_CLEARING)))
        pbx.hangup_channel(chan, NORMAL_CLEARING if call.truth.answered_at is not None else 0)
    if not call.rows_written:
        call.rows_written = True
        cdrs.write_cdrs(pbx, call, cause)
