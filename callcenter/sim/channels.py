"""Channels and the AMI event blocks built from them, field for field as Asterisk sends them.

The channel-state block (main/manager_channels.c ``ast_manager_build_channel_state_string``)
is Channel, ChannelState, ChannelStateDesc, CallerIDNum, CallerIDName, ConnectedLineNum,
ConnectedLineName, Language, AccountCode, Context, Exten, Priority, Uniqueid, Linkedid,
optionally with a prefix (``Dest`` for dial and queue-agent events).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Event = dict[str, str]

STATE_DESC = {0: "Down", 4: "Ring", 5: "Ringing", 6: "Up"}
DOWN, RING, RINGING, UP = 0, 4, 5, 6

CAUSE_TEXT = {
    0: "Unknown",
    16: "Normal Clearing",
    17: "User busy",
    19: "User alerting, no answer",
    20: "Subscriber absent",
    34: "Circuit/channel congestion",
}

PRIVILEGE: dict[str, str] = {
    **dict.fromkeys(
        (
            "Newchannel", "Newstate", "NewCallerid", "NewConnectedLine", "Hangup",
            "HangupRequest", "SoftHangupRequest", "DialBegin", "DialState", "DialEnd",
            "BridgeCreate", "BridgeEnter", "BridgeLeave", "BridgeDestroy", "MusicOnHoldStart",
            "MusicOnHoldStop", "MixMonitorStart", "MixMonitorStop", "OriginateResponse",
            "ChanSpyStart", "ChanSpyStop", "DeviceStateChange", "LocalBridge", "BlindTransfer",
            "AttendedTransfer", "Hold", "Unhold",
            "NewConnectedLine",
        ),
        "call,all",
    ),
    **dict.fromkeys(("Newexten", "VarSet"), "dialplan,all"),
    **dict.fromkeys(
        (
            "QueueCallerJoin", "QueueCallerLeave", "QueueCallerAbandon", "AgentCalled",
            "AgentConnect", "AgentComplete", "AgentRingNoAnswer", "AgentDump",
            "QueueMemberStatus", "QueueMemberAdded", "QueueMemberRemoved", "QueueMemberPause",
            "QueueMemberPenalty",
        ),
        "agent,all",
    ),
    **dict.fromkeys(("AGIExecStart", "AGIExecEnd"), "agi,all"),
    **dict.fromkeys(("DTMFBegin", "DTMFEnd"), "dtmf,all"),
    "Cdr": "cdr,all",
    "FullyBooted": "system,all",
}  # fmt: skip


def timestamp(when: float) -> str:
    """``%ld.%06lu`` as manager.c prints event timestamps."""
    micros = round(when * 1_000_000)
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


def header(name: str, when: float) -> Event:
    return {"Event": name, "Privilege": PRIVILEGE[name], "Timestamp": timestamp(when)}


@dataclass(slots=True, eq=False)
class Channel:
    name: str
    uniqueid: str
    linkedid: str
    context: str
    exten: str
    created_at: float
    state: int = DOWN
    priority: int = 1
    caller_num: str = "<unknown>"
    caller_name: str = "<unknown>"
    connected_num: str = "<unknown>"
    connected_name: str = "<unknown>"
    app: str = ""
    appdata: str = ""
    bridge_id: str = ""
    variables: dict[str, str] = field(default_factory=dict)
    dead: bool = False
    owner: Any = None  # the call (or originated session) this channel belongs to
    answered_at: float | None = None
    cdr_seq: int = 0  # the sequence of the CDR made with the channel (main/cdr.c)
    half: int = 0  # 1 or 2 for the halves of a Local channel
    partner: Channel | None = None  # the other half of a Local channel

    @property
    def tech(self) -> str:
        return self.name.split("/", 1)[0]

    def state_fields(self, prefix: str = "") -> Event:
        return {
            f"{prefix}Channel": self.name,
            f"{prefix}ChannelState": str(self.state),
            f"{prefix}ChannelStateDesc": STATE_DESC.get(self.state, "Unknown"),
            f"{prefix}CallerIDNum": self.caller_num,
            f"{prefix}CallerIDName": self.caller_name,
            f"{prefix}ConnectedLineNum": self.connected_num,
            f"{prefix}ConnectedLineName": self.connected_name,
            f"{prefix}Language": "en",
            f"{prefix}AccountCode": "",
            f"{prefix}Context": self.context,
            f"{prefix}Exten": self.exten,
            f"{prefix}Priority": str(self.priority),
            f"{prefix}Uniqueid": self.uniqueid,
            f"{prefix}Linkedid": self.linkedid,
        }

    def event(self, name: str, when: float, **extra: str) -> Event:
        ev = header(name, when)
        ev.update(self.state_fields())
        ev.update(extra)
        return ev

    def callerid_merge(self) -> str:
        """The CDR's clid: main/callerid.c ``ast_callerid_merge`` of the caller's name and
        number (an unset name is the empty string there, so ``"" <number>``)."""
        name = "" if self.caller_name == "<unknown>" else self.caller_name
        number = "" if self.caller_num == "<unknown>" else self.caller_num
        escaped = name.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}" <{number}>'

    def dial_event(self, name: str, when: float, dest: Channel, **extra: str) -> Event:
        ev = header(name, when)
        ev.update(self.state_fields())
        ev.update(dest.state_fields("Dest"))
        ev.update(extra)
        return ev


def dest_dial_event(name: str, when: float, dest: Channel, **extra: str) -> Event:
    """A dial event with no calling channel (a dial started by Originate, not a channel)."""
    ev = header(name, when)
    ev.update(dest.state_fields("Dest"))
    ev.update(extra)
    return ev


def bridge_fields(bridge_id: str, count: int, prefix: str = "") -> Event:
    """A bridge's state, as ``ast_manager_build_bridge_state_string_prefix`` names it."""
    fields = {
        "BridgeUniqueid": bridge_id,
        "BridgeType": "basic",
        "BridgeTechnology": "simple_bridge",
        "BridgeCreator": "<unknown>",
        "BridgeName": "<unknown>",
        "BridgeNumChannels": str(count),
        "BridgeVideoSourceMode": "none",
    }
    return {f"{prefix}{key}": value for key, value in fields.items()}


def bridge_event(name: str, when: float, bridge_id: str, count: int) -> Event:
    ev = header(name, when)
    ev.update(bridge_fields(bridge_id, count))
    return ev


def bridge_channel_event(
    name: str, when: float, bridge_id: str, count: int, channel: Channel
) -> Event:
    ev = bridge_event(name, when, bridge_id, count)
    ev.update(channel.state_fields())
    return ev


def encode(fields: dict[str, str]) -> bytes:
    """One AMI block with CRLF line endings and the blank line that ends it."""
    return ("".join(f"{k}: {v}\r\n" for k, v in fields.items()) + "\r\n").encode()


def duration_hms(seconds: float) -> str:
    total = max(0, int(seconds))
    return f"{total // 3600:02d}:{(total % 3600) // 60:02d}:{total % 60:02d}"
