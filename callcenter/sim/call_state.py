"""The state the engine keeps: each call while it runs and the ground truth it leaves, the
queues and members as app_queue keeps them (with the AMI blocks that describe them), and a
direct Dial in progress.

Plain dataclasses on their own, so every part of the engine imports them without the others;
one module because they point at each other (a queue's waiting calls, a call's queue).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from callcenter.sim.channels import Channel, Event, header
from callcenter.sim.config import QueueConfig
from callcenter.sim.penalty_rules import PenaltyRange, PenaltyRule, offered_penalty
from callcenter.sim.traffic import CallPlan, RingResult

NORMAL_CLEARING = 16
CONGESTION = 34


@dataclass(slots=True)
class CallOutcome:
    """Ground truth for one generated call, as the simulator knows it."""

    index: int
    call_id: str  # Linkedid (the trunk channel's Uniqueid, or the Local caller's ;1's)
    channel: str  # the channel that ran the dialplan and queued (the trunk channel, or ;2)
    hotline: str
    caller: str
    started_at: float
    ended_at: float = 0.0
    outcome: str = "in_progress"  # answered|abandoned|short_abandon|ivr_only|blocked|voicemail
    queue: str = ""
    joined_at: float | None = None  # the first queue's join (a call may try a second queue)
    wait: float | None = None  # first queue join -> answer, abandon or timeout
    answered_at: float | None = None  # agent pick-up
    agent: str = ""  # member name
    agent_interface: str = ""
    agent_channel: str = ""
    talk: float | None = None
    hangup_by: str = ""  # caller | agent (answered calls)
    recorded: bool = False
    dtmf: str = ""
    ring_attempts: int = 0
    hangup_cause: int = NORMAL_CLEARING
    channel_id: str = ""  # Uniqueid of ``channel``: queue_log's callid
    agent_channel_id: str = ""  # Uniqueid of ``agent_channel``: CONNECT's bridged channel


@dataclass(eq=False, slots=True)
class Ring:
    member: QueueMember
    chan: Channel
    started: float
    result: RingResult


@dataclass(eq=False, slots=True)
class Attempt:
    """One outgoing leg of the caller: a queue member rung, or a direct Dial (its CDR row)."""

    dstchannel: str
    start: float
    end: float | None = None
    answered: bool = False
    app: str = "Queue"
    data: str = ""  # the application's data ("" for Queue: the queue's)
    answered_at: float | None = None  # Dial: when the callee answered
    busy: bool = False  # Dial: the callee was busy
    cdr_seq: int = 0  # the sequence of this row's CDR object (main/cdr.c)


@dataclass(eq=False)
class Call:
    plan: CallPlan
    chan: Channel
    truth: CallOutcome
    ring_rng: random.Random
    stage: str = "ivr"  # ivr | queue | talk | voicemail | agi (back in the AGI) | dial | ended
    answered_at: float | None = None  # the Answer() app
    queue: Queue | None = None
    joined_at: float = 0.0
    opos: int = 0
    gen: int = 0  # invalidates queue timers once the caller leaves the queue
    ring: Ring | None = None
    next_try: float = 0.0
    member: QueueMember | None = None
    agent_chan: Channel | None = None
    bridge_id: str = ""
    connected_at: float = 0.0
    attempts: list[Attempt] = field(default_factory=list)
    tail_start: float | None = None  # CDR row for dialplan after the queue (voicemail)
    agi: Any = None  # the FastAGI session while one runs
    agi_app: str = ""  # the application an AGI EXEC runs (Queue, VoiceMail) until it returns
    queue_options: str = ""  # Queue()'s options when run by an AGI EXEC ("c": continue)
    queue_rule: str = ""  # Queue()'s rule argument when run by an AGI EXEC ("": defaultrule)
    hangup_requested: bool = False
    recording_started: float | None = None  # MixMonitor ran (its file is written at the end)
    dial: DirectDial | None = None  # a Dial the AGI runs: ringing or talking
    atxfer: Any = None  # an attended transfer in progress (attended.AttendedTransfer)
    origin: Channel | None = None  # the Local caller's ;1 (topology "local"), else None
    origin_asked: bool = False  # ;1 was asked to hang up
    rows_written: bool = False  # the caller's CDR rows are out
    tail_seq: int = 0  # the sequence of the CDR for the dialplan after the queue
    # app_queue's queue_ent: the penalty range the caller is offered within, and the
    # penalty rules still to come (copy_rules: the queue's defaultrule at join)
    limits: PenaltyRange = field(default_factory=PenaltyRange)
    rules: tuple[PenaltyRule, ...] = ()

    @property
    def call_id(self) -> str:
        return self.chan.linkedid

    def add_attempt(self, dstchannel: str, at: float, app: str, data: str, cdr_seq: int) -> Attempt:
        attempt = Attempt(dstchannel, at, app=app, data=data, cdr_seq=cdr_seq)
        self.attempts.append(attempt)
        return attempt


# Device states as app_queue reports them in Status (include/asterisk/devicestate.h).
NOT_INUSE, INUSE, RINGING = 1, 2, 6


@dataclass(eq=False)
class Agent:
    """One phone (interface); it can be a member of several queues."""

    interface: str
    status: int = NOT_INUSE
    ringing: Call | None = None
    talking: Call | None = None
    last_end: float = 0.0  # when the agent's last queue call ended (for wrap-up)


@dataclass(eq=False)
class QueueMember:
    queue: str
    interface: str
    name: str
    agent: Agent
    penalty: int = 0
    dynamic: bool = False
    paused: bool = False
    paused_reason: str = ""
    last_pause: int = 0
    login_time: int = 0
    calls: int = 0
    last_call: int = 0
    in_call: bool = False
    wrapuptime: int = 0

    def blob(self, name: str, when: float) -> Event:
        """QueueMemberStatus/Added/Removed/Pause (app_queue.c queue_member_blob_create)."""
        ev = header(name, when)
        ev.update(
            {
                "Queue": self.queue,
                "MemberName": self.name,
                "Interface": self.interface,
                "StateInterface": self.interface,
                **self._state_fields(),
                "Ringinuse": "0",
                "Wrapuptime": str(self.wrapuptime),
            }
        )
        return ev

    def status_item(self, action_id: str) -> Event:
        """One QueueMember item of a QueueStatus reply."""
        ev: Event = {
            "Event": "QueueMember",
            "Queue": self.queue,
            "Name": self.name,
            "Location": self.interface,
            "StateInterface": self.interface,
            **self._state_fields(),
            "Wrapuptime": str(self.wrapuptime),
        }
        return with_action_id(ev, action_id)

    def _state_fields(self) -> dict[str, str]:
        """The member's state as both the event blob and the QueueStatus item spell it."""
        return {
            "Membership": "dynamic" if self.dynamic else "static",
            "Penalty": str(self.penalty),
            "CallsTaken": str(self.calls),
            "LastCall": str(self.last_call),
            "LastPause": str(self.last_pause),
            "LoginTime": str(self.login_time),
            "InCall": "1" if self.in_call else "0",
            "Status": str(self.agent.status),
            "Paused": "1" if self.paused else "0",
            "PausedReason": self.paused_reason,
        }

    def available(self, now: float) -> bool:
        agent = self.agent
        return (
            not self.paused
            and agent.status == NOT_INUSE
            and agent.ringing is None
            and agent.talking is None
            and (agent.last_end == 0.0 or now - agent.last_end >= self.wrapuptime)
        )


@dataclass(eq=False)
class Queue:
    config: QueueConfig
    members: dict[str, QueueMember] = field(default_factory=dict)  # by interface, in order
    waiting: list[Call] = field(default_factory=list)
    holdtime: int = 0
    talktime: int = 0
    completed: int = 0
    abandoned: int = 0
    completed_in_sl: int = 0
    abandoned_in_sl: int = 0

    @property
    def name(self) -> str:
        return self.config.name

    def add_member(
        self,
        agents: dict[str, Agent],
        interface: str,
        name: str,
        penalty: int,
        *,
        dynamic: bool,
        login_time: int,
        paused: bool = False,
        reason: str = "",
    ) -> QueueMember:
        """A member ringing the phone at ``interface``: one ``Agent`` in ``agents`` per
        phone, whichever queues it is a member of."""
        member = QueueMember(
            queue=self.name,
            interface=interface,
            name=name,
            agent=agents.setdefault(interface, Agent(interface)),
            penalty=penalty,
            dynamic=dynamic,
            paused=paused,
            paused_reason=reason if paused else "",
            login_time=login_time,
            wrapuptime=self.config.wrapuptime,
        )
        self.members[interface] = member
        return member

    def record_hold(self, hold: int) -> None:
        # app_queue.c recalc_holdtime: a running weighted average
        self.holdtime = ((self.holdtime << 2) - self.holdtime + hold) >> 2

    def record_complete(self, talk: int, in_sl: bool) -> None:
        self.completed += 1
        if in_sl:
            self.completed_in_sl += 1
        self.talktime = ((self.talktime << 2) - self.talktime + talk) >> 2

    def record_abandon(self, hold: int) -> None:
        self.abandoned += 1
        if self.config.servicelevel and hold <= self.config.servicelevel:
            self.abandoned_in_sl += 1

    def params_item(self, action_id: str) -> Event:
        done = self.completed
        sl = 100.0 * self.completed_in_sl / done if done > 0 else 0.0
        both = self.completed + self.abandoned
        sl2 = 100.0 * (self.abandoned_in_sl + self.completed_in_sl) / both if both > 0 else 0.0
        ev: Event = {
            "Event": "QueueParams",
            "Queue": self.name,
            "Max": "0",
            "Strategy": self.config.strategy,
            "Calls": str(len(self.waiting)),
            "Holdtime": str(self.holdtime),
            "TalkTime": str(self.talktime),
            "Completed": str(self.completed),
            "Abandoned": str(self.abandoned),
            "ServiceLevel": str(self.config.servicelevel),
            "ServicelevelPerf": f"{sl:2.1f}",
            "ServicelevelPerf2": f"{sl2:2.1f}",
            "Weight": str(self.config.weight),
        }
        return with_action_id(ev, action_id)

    def summary_item(self, now: float, action_id: str) -> Event:
        logged_in = len(self.members)
        available = sum(
            1 for m in self.members.values() if m.agent.status == NOT_INUSE and not m.paused
        )
        longest = max((int(now) - int(c.joined_at) for c in self.waiting), default=0)
        ev: Event = {
            "Event": "QueueSummary",
            "Queue": self.name,
            "LoggedIn": str(logged_in),
            "Available": str(available),
            "Callers": str(len(self.waiting)),
            "HoldTime": str(self.holdtime),
            "TalkTime": str(self.talktime),
            "LongestHoldTime": str(max(0, longest)),
        }
        return with_action_id(ev, action_id)

    def available_count(self, now: float) -> int:
        """num_available_members: free members whatever their penalty (is_our_turn counts
        the callers ahead against it)."""
        return sum(1 for member in self.members.values() if member.available(now))

    def pick(self, now: float, limits: PenaltyRange | None = None) -> QueueMember | None:
        """The member to ring next for a caller with ``limits``: only members whose penalty
        (raised to QUEUE_RAISE_PENALTY) is within the caller's range, the lowest penalty,
        then the least recently called (leastrecent's metric, calc_metric)."""
        best: tuple[int, int] | None = None
        chosen: QueueMember | None = None
        for member in self.members.values():
            if not member.available(now):
                continue
            penalty = member.penalty if limits is None else offered_penalty(member.penalty, limits)
            if penalty is None:
                continue
            rank = (penalty, member.last_call)
            if best is None or rank < best:
                best, chosen = rank, member
        return chosen


def with_action_id(ev: Event, action_id: str) -> Event:
    if action_id:
        ev["ActionID"] = action_id
    return ev


def entry_item(queue: str, position: int, call: Any, now: float, action_id: str) -> Event:
    chan = call.chan
    ev: Event = {
        "Event": "QueueEntry",
        "Queue": queue,
        "Position": str(position),
        "Channel": chan.name,
        "Uniqueid": chan.uniqueid,
        "CallerIDNum": chan.caller_num,
        "CallerIDName": chan.caller_name,
        "ConnectedLineNum": chan.connected_num,
        "ConnectedLineName": chan.connected_name,
        "Wait": str(int(now) - int(call.joined_at)),
        "Priority": "0",
    }
    return with_action_id(ev, action_id)


@dataclass(eq=False, slots=True)
class DirectDial:
    """A Dial in progress: the callee's channel, ringing or bridged with the caller."""

    agent: Agent
    chan: Channel
    started: float
    go_on: bool  # option g: the caller continues after the callee hangs up
    back_to: str  # the caller's stage before the Dial ("ivr", "agi")
    answered_at: float | None = None
    bridge_id: str = ""
