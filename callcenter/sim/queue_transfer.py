"""What a transfer from a queue call's member has in common, blind or attended: which call
it moves, and what apps/app_queue.c writes when the transfer succeeds."""

from __future__ import annotations

from callcenter.sim import app_queue
from callcenter.sim.call_state import Call
from callcenter.sim.channels import Channel
from callcenter.sim.ports import Engine


def transfers_from(chan: Channel) -> Call | None:
    """The queue call whose PJSIP member ``chan`` talks in a two-party bridge: the only
    one a transfer moves."""
    call = chan.owner
    if (
        isinstance(call, Call)
        and call.stage == "talk"
        and call.agent_chan is chan
        and chan.partner is None
        and chan.bridge_id
    ):
        return call
    return None


def queue_sees_transfer(pbx: Engine, call: Call, line: str, *where: str) -> None:
    """apps/app_queue.c ``handle_blind_transfer`` / ``handle_attended_transfer``: queue_log
    ``line`` (where it went, holdtime, calltime, origpos) and AgentComplete ``transfer``."""
    queue, member, agent_chan = call.queue, call.member, call.agent_chan
    assert queue is not None and member is not None and agent_chan is not None
    complete, hold, talk = app_queue.complete_fields(pbx, call, "transfer")
    caller = call.chan
    pbx.records.queue_log(
        pbx.now, caller.uniqueid, queue.name, member.name, line, *where, hold, talk, call.opos
    )
    pbx.emit(caller.dial_event("AgentComplete", pbx.now, agent_chan, **complete))
    app_queue.member_done(pbx, call, hold, talk)
