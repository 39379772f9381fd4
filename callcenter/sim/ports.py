"""What the engine's parts may ask of the engine (``Pbx`` provides it).

Its own module, importing none of the parts, so that ``pbx.py`` imports the parts one way
and each part names only the services it uses: ``ChannelOps`` for the channel steps every
part takes (callers, Local pairs, CDR rows), ``CallTables`` for what AMI actions and
call steps alike read of the channels and queues, ``Engine`` for the parts that run a call
through queues and dials, ``AmiPbx`` for the AMI actions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from callcenter.sim.call_state import Agent, Call, Queue
from callcenter.sim.channels import Channel, Event
from callcenter.sim.clock import Scheduler
from callcenter.sim.config import SimConfig
from callcenter.sim.idle_truth import IdleWatch
from callcenter.sim.records import CdrRow, Records
from callcenter.sim.traffic import TrafficModel


class Instant(Protocol):
    """The virtual instant being simulated, and the events that happen at it."""

    @property
    def now(self) -> float: ...

    def emit(self, ev: Event) -> None: ...


class CallTables(Instant, Protocol):
    """The channels and queues as they stand, and hanging a channel up by its name."""

    @property
    def channels(self) -> dict[str, Channel]: ...

    @property
    def queues(self) -> dict[str, Queue]: ...

    def hangup_by_name(self, name: str, cause: int) -> bool: ...


class ChannelOps(Instant, Protocol):
    """Channels and their events at the virtual instant being simulated."""

    @property
    def cfg(self) -> SimConfig: ...

    @property
    def records(self) -> Records: ...

    def new_channel(
        self,
        prefix: str,
        context: str,
        exten: str,
        linkedid: str | None = None,
        owner: Any = None,
        name: str | None = None,
        uniqueid: str | None = None,
    ) -> Channel: ...

    def next_channel_number(self, tech: str) -> int: ...

    def next_cdr_seq(self) -> int: ...

    def set_state(self, chan: Channel, state: int) -> None: ...

    def newexten(self, chan: Channel, priority: int, app: str, data: str) -> None: ...

    def varset(self, chan: Channel, name: str, value: str) -> None: ...

    def hangup_channel(self, chan: Channel, cause: int) -> None: ...

    def clid(self, chan: Channel) -> str: ...


class DirectDialer(Protocol):
    """``Dial`` run by an AGI ``EXEC`` (``dial.Dialer``)."""

    def start(self, call: Call, data: str) -> bool: ...

    def callee_channel(self, call: Call, interface: str) -> Channel: ...

    def callee_rejects(self, call: Call) -> None: ...

    def talk_end(self, call: Call, by: str, from_dialplan: bool = True) -> None: ...

    def caller_hangup(self, call: Call) -> None: ...


class Engine(ChannelOps, CallTables, Protocol):
    """The calls, queues and phones, and the steps that move a call between them."""

    generated: int  # calls generated so far
    lines_in_use: int

    @property
    def sched(self) -> Scheduler: ...

    @property
    def model(self) -> TrafficModel: ...

    @property
    def calls(self) -> dict[str, Call]: ...

    @property
    def agents(self) -> dict[str, Agent]: ...

    @property
    def dialer(self) -> DirectDialer: ...

    @property
    def idle(self) -> IdleWatch: ...

    @property
    def agi_launcher(self) -> Callable[[Call], None] | None: ...

    def dtmf(self, chan: Channel, digit: str, direction: str = "Received") -> None: ...

    def member_status(self, agent: Agent, status: int) -> None: ...

    def new_bridge_id(self) -> str: ...

    def command_id(self) -> int: ...

    def attempt_seq(self, call: Call) -> int: ...

    def end_call(self, call: Call, outcome: str, cause: int) -> None: ...

    def dispatch(self) -> None: ...

    def caller_hangup(self, call: Call) -> None: ...

    def agi_finished(self, call: Call, ok: bool) -> None: ...

    def agi_exec_queue(self, call: Call, queue_name: str, options: str, rule: str = "") -> None: ...

    def agi_exec_voicemail(self, call: Call, data: str) -> None: ...

    def agi_app_returned(self, call: Call, stage: str) -> None: ...

    def cdr_event(self, r: CdrRow) -> Event: ...


class AmiPbx(CallTables, Protocol):
    """What the AMI actions read and ask of the engine."""

    def play_dtmf(self, name: str, digit: str, receive: bool) -> bool: ...

    def blind_transfer(self, name: str, exten: str, context: str) -> str: ...

    def attended_transfer(self, name: str, exten: str, context: str) -> str: ...

    def add_member(
        self, queue_name: str, interface: str, name: str, penalty: int, paused: bool, reason: str
    ) -> str: ...

    def remove_member(self, queue_name: str, interface: str) -> str: ...

    def pause_member(self, queue_name: str, interface: str, paused: bool, reason: str) -> bool: ...

    def set_penalty(self, queue_name: str, interface: str, penalty: int) -> bool: ...
