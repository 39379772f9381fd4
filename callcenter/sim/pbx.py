"""The call engine: calls through the menu into app_queue, out to agents, and back.

Everything here is synchronous and runs inside scheduler callbacks, with ``self.now`` the
virtual instant being simulated. Each step emits AMI event dicts in the order a real
Asterisk 22 sends them (see tests/test_sim_events.py against the captures), and writes
queue_log lines and CDR rows as app_queue and cdr_csv would. The caller is a trunk channel
or a Local channel pair (``callers.py``); a member on a ``Local/`` interface is rung
through a pair too (``local_members.py``).

The simulated dialplan (context ``from-pstn``)::

    1 NoOp(Inbound call ...)        2 Set(CDR(userfield)=dnis:${EXTEN})
    3 Answer()  (or Congestion() at the line limit: Hangup cause 34, no queue)
    4 Set(CALLERID(name)=PSTN ${CALLERID(num)})
    5 AGI(agi://host:port/hotline,${EXTEN},${CALLERID(num)})  or a Read() menu
      (inside it, EXEC Queue / VoiceMail / Dial as the AGI asks: ``sim/dial.py``)
    6 MixMonitor(${UNIQUEID}.wav)  (recorded calls only)
    7 Queue(<route>,,,,<max_wait>)  8 VoiceMail(<box>,u)  (after a queue timeout)

The engine's parts, each plain functions of this ``Pbx`` (the one owner of the state, so
the order of events, log lines and random draws stays that of a single thread of steps),
which they see through the protocols of ``ports.py``:
``call_flow.py`` (arrival, menu, FastAGI, hang-ups), ``callers.py`` (the caller's channels
by topology), ``app_queue.py`` (waiting, ringing, talk), ``local_members.py`` (Local members'
legs), ``cdrs.py`` (CDR rows), ``ami_requests.py`` (Hangup, PlayDTMF, QueueAdd/Remove/
Pause/Penalty); the state of calls, queues and members is ``call_state.py``.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Callable
from typing import Any

from callcenter.sim import (
    ami_requests,
    app_queue,
    attended,
    call_flow,
    callers,
    cdrs,
    local_channels,
    transfer,
)
from callcenter.sim.call_state import (
    CONGESTION,
    INUSE,
    NORMAL_CLEARING,
    RINGING,
    Agent,
    Attempt,
    Call,
    CallOutcome,
    Queue,
    Ring,
)
from callcenter.sim.channels import CAUSE_TEXT, UP, Channel, Event
from callcenter.sim.clock import Scheduler
from callcenter.sim.config import SimConfig
from callcenter.sim.dial import Dialer
from callcenter.sim.idle_truth import IdleWatch
from callcenter.sim.recorder import recording_seconds, write_recording
from callcenter.sim.records import CdrRow, Records
from callcenter.sim.traffic import TrafficModel

__all__ = [
    "CONGESTION",
    "NORMAL_CLEARING",
    "Attempt",
    "Call",
    "CallOutcome",
    "Pbx",
    "Ring",
]

log = logging.getLogger(__name__)


class Pbx:
    def __init__(
        self,
        config: SimConfig,
        scheduler: Scheduler,
        records: Records,
        emit: Callable[[Event], None],
    ) -> None:
        self.cfg = config
        self.sched = scheduler
        self.records = records
        self._emit = emit
        self.model = TrafficModel(
            config.traffic,
            list(config.hotlines),
            seed=config.seed,
            recorded_fraction=config.recorded_fraction,
            timezone=config.timezone,
            caller_numbers=config.caller_numbers,
            unknown_caller_fraction=config.unknown_caller_fraction,
        )
        self.channels: dict[str, Channel] = {}
        self.calls: dict[str, Call] = {}
        self.finished: list[CallOutcome] = []
        self.generated = 0
        self.lines_in_use = 0
        self.agents: dict[str, Agent] = {}
        self.queues: dict[str, Queue] = {}
        self._uid_seq = 0
        self._chan_seq: dict[str, int] = {}  # each channel driver numbers its own channels
        self._cdr_seq = 0  # main/cdr.c global_cdr_sequence
        self._rng = random.Random(f"{config.seed}:pbx")
        self.agi_launcher: Callable[[Call], None] | None = None
        self.on_finished: Callable[[CallOutcome], None] | None = None
        self.extra: Any = None  # originate sessions (set by the runner)
        self.dialer = Dialer(self)
        self.idle = IdleWatch()  # ground truth for max_wait_while_idle_s
        login = int(scheduler.now)
        for qc in config.queues:
            queue = Queue(qc)
            for m in qc.members:
                queue.add_member(
                    self.agents, m.interface, m.name, m.penalty, dynamic=m.dynamic, login_time=login
                )
            self.queues[qc.name] = queue
        self.records.queue_log(scheduler.now, "NONE", "NONE", "NONE", "QUEUESTART", "")

    # -- plumbing ---------------------------------------------------------------
    @property
    def now(self) -> float:
        return self.sched.now

    def emit(self, ev: Event) -> None:
        self._emit(ev)

    def new_uniqueid(self) -> str:
        uid = f"{int(self.now)}.{self._uid_seq}"
        self._uid_seq += 1
        return uid

    def next_channel_number(self, tech: str) -> int:
        number = self._chan_seq.get(tech, 0)
        self._chan_seq[tech] = number + 1
        return number

    def next_cdr_seq(self) -> int:
        """main/cdr.c numbers every CDR object it makes, one counter for all."""
        seq = self._cdr_seq
        self._cdr_seq += 1
        return seq

    def attempt_seq(self, call: Call) -> int:
        """The CDR of a call's next outgoing leg: the channel's own for the first, a new one
        appended to the chain when a later dial begins."""
        return self.next_cdr_seq() if call.attempts else call.chan.cdr_seq

    def new_channel(
        self,
        prefix: str,
        context: str,
        exten: str,
        linkedid: str | None = None,
        owner: Any = None,
        name: str | None = None,
        uniqueid: str | None = None,
    ) -> Channel:
        """A channel ``<prefix>-<n>`` (or ``name``): a Uniqueid (``uniqueid``: one an
        Originate's ChannelId asked for), and a CDR made with it."""
        if name is None:
            name = f"{prefix}-{self.next_channel_number(prefix.split('/', 1)[0]):08x}"
        uid = uniqueid or self.new_uniqueid()
        chan = Channel(
            name=name,
            uniqueid=uid,
            linkedid=linkedid or uid,
            context=context,
            exten=exten,
            created_at=self.now,
            owner=owner,
            cdr_seq=self.next_cdr_seq(),
        )
        self.channels[name] = chan
        return chan

    def new_bridge_id(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def command_id(self) -> int:
        return self._rng.randrange(1, 2**31)

    def challenge_number(self) -> int:
        """The number an AMI Challenge asks the client to hash with its secret."""
        return self._rng.randrange(1, 2**31)

    def set_state(self, chan: Channel, state: int) -> None:
        chan.state = state
        if state == UP and chan.answered_at is None:
            chan.answered_at = self.now
        self.emit(chan.event("Newstate", self.now))
        if chan.half == 2:  # what a Local ;2 does reaches its ;1
            local_channels.two_changed_state(self, chan)
            owner = chan.owner
            if state == UP and isinstance(owner, Call) and chan.partner is owner.origin:
                callers.origin_answered(self, owner)

    def newexten(self, chan: Channel, priority: int, app: str, data: str) -> None:
        chan.priority = priority
        chan.app, chan.appdata = app, data
        self.emit(
            chan.event("Newexten", self.now, Extension=chan.exten, Application=app, AppData=data)
        )

    def varset(self, chan: Channel, name: str, value: str) -> None:
        chan.variables[name] = value
        self.emit(chan.event("VarSet", self.now, Variable=name, Value=value))

    def dtmf(self, chan: Channel, digit: str, direction: str = "Received") -> None:
        self.emit(chan.event("DTMFBegin", self.now, Digit=digit, Direction=direction))
        self.emit(
            chan.event("DTMFEnd", self.now, Digit=digit, DurationMs="120", Direction=direction)
        )

    def hangup_channel(self, chan: Channel, cause: int) -> None:
        if chan.name not in self.channels:
            return
        chan.dead = True
        self.emit(
            chan.event(
                "Hangup", self.now, Cause=str(cause), **{"Cause-txt": CAUSE_TEXT.get(cause, "")}
            )
        )
        del self.channels[chan.name]

    def member_status(self, agent: Agent, status: int) -> None:
        if agent.interface.startswith("Local/"):
            # a Local device is in use while any of its channels lives, ringing or not
            status = INUSE if status == RINGING else status
            if status == agent.status:
                return
        agent.status = status
        for queue in self.queues.values():
            member = queue.members.get(agent.interface)
            if member is not None:
                self.emit(member.blob("QueueMemberStatus", self.now))
        self.idle.observe(self.now, self.queues.values())

    def clid(self, chan: Channel) -> str:
        if chan.caller_name not in ("", "<unknown>"):
            return f'"{chan.caller_name}" <{chan.caller_num}>'
        return chan.caller_num if chan.caller_num != "<unknown>" else ""

    # -- the end of a call ---------------------------------------------------------------
    def end_call(self, call: Call, outcome: str, cause: int) -> None:
        if call.stage == "ended":
            return
        blocked = outcome == "blocked"
        call.stage = "ended"
        if call.agi is not None:  # an EXEC Queue / VoiceMail in progress returns -1
            call.agi.caller_hung_up()
        chan = call.chan
        if not blocked:
            self.lines_in_use -= 1
        truth = call.truth
        truth.ended_at = self.now
        truth.outcome = outcome
        truth.hangup_cause = cause
        callers.finish(self, call, cause)
        if call.recording_started is not None and self.cfg.recordings_dir is not None:
            # The hang-up closes MixMonitor's file (Asterisk 22 sends no MixMonitorStop).
            seconds = recording_seconds(self.now - call.recording_started)
            name = f"{chan.uniqueid}.wav"
            try:
                write_recording(self.cfg.recordings_dir, name, seconds, truth.index)
            except OSError as exc:  # a full disk: as MixMonitor, the call goes on without it
                log.warning("MixMonitor cannot write %s: %s", name, exc.strerror or exc)
        self.calls.pop(call.call_id, None)
        self.finished.append(truth)
        if self.on_finished is not None:
            self.on_finished(truth)

    # -- the steps other parts call (call_flow.py, app_queue.py, cdrs.py, ami_requests.py) --
    def schedule_arrivals(self, count: int | None, after: float | None = None) -> None:
        """Generate ``count`` more calls (None: keep generating)."""
        call_flow.schedule_arrivals(self, count, after)

    def caller_hangup(self, call: Call) -> None:
        """The caller hangs up, wherever the call is."""
        call_flow.caller_hangup(self, call)

    def agi_finished(self, call: Call, ok: bool) -> None:
        call_flow.agi_finished(self, call, ok)

    def agi_exec_queue(self, call: Call, queue_name: str, options: str, rule: str = "") -> None:
        call_flow.agi_exec_queue(self, call, queue_name, options, rule)

    def agi_exec_voicemail(self, call: Call, data: str) -> None:
        call_flow.agi_exec_voicemail(self, call, data)

    def agi_app_returned(self, call: Call, stage: str) -> None:
        call_flow.agi_app_returned(self, call, stage)

    def dispatch(self) -> None:
        """Ring free members for waiting callers, in queue order (autofill)."""
        app_queue.dispatch(self)

    def cdr_event(self, r: CdrRow) -> Event:
        return cdrs.cdr_event(self, r)

    # -- requests from AMI (run at the current virtual time) ----------------------------
    def hangup_by_name(self, name: str, cause: int) -> bool:
        return ami_requests.hangup_by_name(self, name, cause)

    def play_dtmf(self, name: str, digit: str, receive: bool) -> bool:
        return ami_requests.play_dtmf(self, name, digit, receive)

    def blind_transfer(self, name: str, exten: str, context: str) -> str:
        return transfer.blind_transfer(self, name, exten, context)

    def attended_transfer(self, name: str, exten: str, context: str) -> str:
        return attended.start(self, name, exten, context)

    def add_member(
        self, queue_name: str, interface: str, name: str, penalty: int, paused: bool, reason: str
    ) -> str:
        return ami_requests.add_member(self, queue_name, interface, name, penalty, paused, reason)

    def remove_member(self, queue_name: str, interface: str) -> str:
        return ami_requests.remove_member(self, queue_name, interface)

    def pause_member(self, queue_name: str, interface: str, paused: bool, reason: str) -> bool:
        return ami_requests.pause_member(self, queue_name, interface, paused, reason)

    def set_penalty(self, queue_name: str, interface: str, penalty: int) -> bool:
        """QueuePenalty: every matching member (of ``queue_name``, or of all queues)."""
        return ami_requests.set_penalty(self, queue_name, interface, penalty)
