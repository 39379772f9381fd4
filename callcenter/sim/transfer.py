"""AMI ``BlindTransfer`` of a queue call's agent, as Asterisk does it for a two-party bridge.

main/manager.c ``action_blind_transfer`` calls ``ast_bridge_transfer_blind(1, ...)`` (an
external transfer) with the named channel as the transferer. For a two-party bridge
(main/bridge.c) its peer, the transferee, is sent to ``Exten@Context`` and the transferer
is taken out of the bridge:

1. ``set_transfer_variables_all``: VarSet BLINDTRANSFER on each channel of the bridge (the
   transferer gets its BRIDGEPEER, the others the transferer's name);
2. the BlindTransfer event (main/stasis_bridges.c ``blind_transfer_to_ami``): Result,
   Transferer* and Transferee* channel states, the bridge's fields, IsExternal, Context,
   Extension;
3. app_queue's ``handle_blind_transfer``: queue_log BLINDTRANSFER
   (exten|context|holdtime|calltime|origpos) and AgentComplete with Reason ``transfer``;
4. both channels leave the bridge, which goes; the agent's channel (app_queue imparted it
   as an independent channel) hangs up;
5. the caller's AGI (the EXEC Queue) sees the soft hangup of the async goto and ends; the
   caller runs ``Exten@Context`` from priority 1: the simulated ``from-internal`` dials a
   seat's extension (``Dial(PJSIP/1002,30)``) or queues a queue's name, as
   docker/asterisk/extensions.conf does; any other extension hangs the caller up.

Only a queue call talking to a PJSIP member is transferred; anything else answers as
Asterisk does when the channel is in no bridge ("Transfer invalid").
"""

from __future__ import annotations

from typing import Literal

from callcenter.sim import app_queue, call_flow
from callcenter.sim.call_state import NORMAL_CLEARING, Call
from callcenter.sim.channels import (
    bridge_channel_event,
    bridge_event,
    bridge_fields,
    header,
)
from callcenter.sim.ports import Engine
from callcenter.sim.queue_transfer import queue_sees_transfer, transfers_from

Result = Literal["Success", "Invalid", "nochannel"]
SEAT_RING_S = 30  # Dial(PJSIP/${EXTEN},30) in from-internal
NO_SUCH_EXTENSION = 1  # AST_CAUSE_UNALLOCATED: the caller is hung up at an unknown extension


def blind_transfer(pbx: Engine, name: str, exten: str, context: str) -> Result:
    """Transfer the call whose agent channel is ``name``; the events follow at once."""
    chan = pbx.channels.get(name)
    if chan is None:
        return "nochannel"
    call = transfers_from(chan)
    if call is None:
        return "Invalid"
    caller, bridge = call.chan, chan.bridge_id
    context = context or chan.context  # the transferer's own context when none is given
    pbx.varset(chan, "BLINDTRANSFER", caller.name)  # the transferer's BRIDGEPEER
    pbx.varset(caller, "BLINDTRANSFER", chan.name)
    event = header("BlindTransfer", pbx.now)
    event.update({"Result": "Success", **chan.state_fields("Transferer")})
    event.update(caller.state_fields("Transferee"))
    event.update(bridge_fields(bridge, 2))
    event.update({"IsExternal": "Yes", "Context": context, "Extension": exten})
    pbx.emit(event)
    queue_sees_transfer(pbx, call, "BLINDTRANSFER", exten, context)
    pbx.emit(bridge_channel_event("BridgeLeave", pbx.now, bridge, 1, chan))
    pbx.emit(bridge_channel_event("BridgeLeave", pbx.now, bridge, 0, caller))
    pbx.emit(bridge_event("BridgeDestroy", pbx.now, bridge, 0))
    chan.bridge_id = caller.bridge_id = ""
    pbx.hangup_channel(chan, NORMAL_CLEARING)
    app_queue.member_free(pbx, call)
    call.agent_chan = None
    _caller_goes_to(pbx, call, exten, context)
    return "Success"


def _caller_goes_to(pbx: Engine, call: Call, exten: str, context: str) -> None:
    """The async goto: the caller's AGI ends, and the dialplan runs ``exten@context``."""
    caller = call.chan
    call.stage, call.agi_app, call.queue_options = "transferred", "", ""
    if call.agi is not None:
        call.agi.caller_hung_up()  # res_agi sees the soft hangup and tells its script
    caller.context, caller.exten, caller.priority = context, exten, 1
    seat = f"PJSIP/{exten}"
    if seat in pbx.agents:
        if not pbx.dialer.start(call, f"{seat},{SEAT_RING_S}"):  # busy or unreachable
            call_flow.transfer_over(pbx, call)
        return
    queue = pbx.queues.get(exten)
    if queue is not None:  # Queue(${EXTEN}); the recording started with the call goes on
        pbx.newexten(caller, 1, "Queue", exten)
        app_queue.join_queue(pbx, call, queue)
        return
    pbx.end_call(call, "answered", NO_SUCH_EXTENSION)
