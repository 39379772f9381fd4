"""The bridge an answered call talks in, the same whether app_queue connected it to a
member or Dial reached the agent's phone directly.

Its own module because both ``app_queue.py`` and ``dial.py`` start a talk this way and
neither should import the other.
"""

from __future__ import annotations

from callcenter.sim import local_members
from callcenter.sim.call_state import INUSE, NORMAL_CLEARING, Agent, Call
from callcenter.sim.channels import Channel, bridge_channel_event, bridge_event
from callcenter.sim.ports import Engine


def start_talk(pbx: Engine, call: Call, agent: Agent, agent_chan: Channel, bridge_id: str) -> str:
    """Bridge ``agent_chan`` with the caller and mark the agent in use; returns who will
    hang up (agent | caller), as the call's plan says."""
    caller = call.chan
    pbx.emit(bridge_event("BridgeCreate", pbx.now, bridge_id, 0))
    agent_chan.bridge_id = caller.bridge_id = bridge_id
    pbx.emit(bridge_channel_event("BridgeEnter", pbx.now, bridge_id, 1, agent_chan))
    pbx.emit(bridge_channel_event("BridgeEnter", pbx.now, bridge_id, 2, caller))
    by = "agent" if call.plan.agent_hangs_up else "caller"
    if agent_chan.partner is not None:
        talk = call.plan.handle_seconds
        local_members.talking(pbx, agent_chan, talk if by == "agent" else talk + 10.0)
    pbx.member_status(agent, INUSE)
    call.truth.answered_at = pbx.now
    call.truth.agent_channel, call.truth.agent_channel_id = agent_chan.name, agent_chan.uniqueid
    return by


def agent_leaves(pbx: Engine, bridge_id: str, agent_chan: Channel, from_dialplan: bool) -> None:
    """The agent's phone hangs up first: its channel is the first to leave the bridge."""
    if agent_chan.partner is not None:
        local_members.agent_hangs_up(pbx, agent_chan, from_dialplan)
    else:
        pbx.emit(agent_chan.event("HangupRequest", pbx.now, Cause=str(NORMAL_CLEARING)))
    pbx.emit(bridge_channel_event("BridgeLeave", pbx.now, bridge_id, 1, agent_chan))


def end_bridge(pbx: Engine, bridge_id: str, agent_chan: Channel, caller: Channel) -> None:
    pbx.emit(bridge_event("BridgeDestroy", pbx.now, bridge_id, 0))
    agent_chan.bridge_id = caller.bridge_id = ""


def caller_left(pbx: Engine, bridge_id: str, agent_chan: Channel, caller: Channel) -> None:
    """After the caller hung up: the agent's channel leaves, the bridge goes, and the
    agent's channel is hung up."""
    pbx.emit(bridge_channel_event("BridgeLeave", pbx.now, bridge_id, 0, agent_chan))
    end_bridge(pbx, bridge_id, agent_chan, caller)
    if agent_chan.partner is not None:
        local_members.caller_left(pbx, agent_chan)
    else:
        pbx.hangup_channel(agent_chan, NORMAL_CLEARING)
