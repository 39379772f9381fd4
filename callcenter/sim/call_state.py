"""The state of one call while the engine runs it, and the ground truth it leaves.

Plain dataclasses on their own, so every part of the engine imports them without the others.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from callcenter.sim.channels import Channel
from callcenter.sim.queues import Queue, QueueMember
from callcenter.sim.traffic import CallPlan, RingResult

if TYPE_CHECKING:  # dial.py's legs need this module's names first
    from callcenter.sim.dial import DirectDial

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
    hangup_requested: bool = False
    recording_started: float | None = None  # MixMonitor ran (its file is written at the end)
    dial: DirectDial | None = None  # a Dial the AGI runs: ringing or talking
    origin: Channel | None = None  # the Local caller's ;1 (topology "local"), else None
    origin_asked: bool = False  # ;1 was asked to hang up
    rows_written: bool = False  # the caller's CDR rows are out
    tail_seq: int = 0  # the sequence of the CDR for the dialplan after the queue

    @property
    def call_id(self) -> str:
        return self.chan.linkedid

    def add_attempt(self, dstchannel: str, at: float, app: str, data: str, cdr_seq: int) -> Attempt:
        attempt = Attempt(dstchannel, at, app=app, data=data, cdr_seq=cdr_seq)
        self.attempts.append(attempt)
        return attempt
