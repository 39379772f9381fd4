"""The call engine: trunk calls through the menu into app_queue, out to agents, and back.

Everything here is synchronous and runs inside scheduler callbacks, with ``self.now`` the
virtual instant being simulated. Each step emits AMI event dicts in the order a real
Asterisk 22 sends them for a trunk caller (see tests/test_sim_events.py against the
captures), and writes queue_log lines and CDR rows as app_queue and cdr_csv would.

The simulated dialplan (context ``from-pstn``)::

    1 NoOp(Inbound call ...)        2 Set(CDR(userfield)=dnis:${EXTEN})
    3 Answer()  (or Congestion() at the line limit: Hangup cause 34, no queue)
    4 Set(CALLERID(name)=PSTN ${CALLERID(num)})
    5 AGI(agi://host:port/hotline,${EXTEN},${CALLERID(num)})  or a Read() menu
      (inside it, EXEC Queue / VoiceMail / Dial as the AGI asks: ``sim/dial.py``)
    6 MixMonitor(${UNIQUEID}.wav)  (recorded calls only)
    7 Queue(<route>,,,,<max_wait>)  8 VoiceMail(<box>,u)  (after a queue timeout)
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from callcenter.sim.channels import (
    CAUSE_TEXT,
    RING,
    RINGING,
    UP,
    Channel,
    Event,
    bridge_channel_event,
    bridge_event,
    header,
)
from callcenter.sim.clock import Scheduler
from callcenter.sim.config import SimConfig
from callcenter.sim.dial import Dialer, DirectDial
from callcenter.sim.queues import INUSE, NOT_INUSE, Agent, Queue, QueueMember
from callcenter.sim.queues import RINGING as DEV_RINGING
from callcenter.sim.recorder import recording_seconds, write_recording
from callcenter.sim.records import CdrRow, Records
from callcenter.sim.traffic import CallPlan, RingResult, TrafficModel

log = logging.getLogger(__name__)

NORMAL_CLEARING = 16
CONGESTION = 34


@dataclass(slots=True)
class CallOutcome:
    """Ground truth for one generated call, as the simulator knows it."""

    index: int
    call_id: str  # Linkedid (== the trunk channel's Uniqueid)
    channel: str
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

    @property
    def call_id(self) -> str:
        return self.chan.linkedid

    def add_attempt(self, dstchannel: str, at: float, app: str, data: str) -> Attempt:
        attempt = Attempt(dstchannel, at, app=app, data=data)
        self.attempts.append(attempt)
        return attempt


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
        self._chan_seq = 0
        self._rng = random.Random(f"{config.seed}:pbx")
        self.agi_launcher: Callable[[Call], None] | None = None
        self.on_finished: Callable[[CallOutcome], None] | None = None
        self.extra: Any = None  # originate sessions (set by the runner)
        self.dialer = Dialer(self)
        login = int(scheduler.now)
        for qc in config.queues:
            queue = Queue(qc)
            for m in qc.members:
                agent = self.agents.setdefault(m.interface, Agent(m.interface))
                queue.members[m.interface] = QueueMember(
                    queue=qc.name,
                    interface=m.interface,
                    name=m.name,
                    agent=agent,
                    penalty=m.penalty,
                    dynamic=m.dynamic,
                    login_time=login,
                    wrapuptime=qc.wrapuptime,
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

    def new_channel(
        self, prefix: str, context: str, exten: str, linkedid: str | None = None, owner: Any = None
    ) -> Channel:
        name = f"{prefix}-{self._chan_seq:08x}"
        self._chan_seq += 1
        uid = self.new_uniqueid()
        chan = Channel(
            name=name,
            uniqueid=uid,
            linkedid=linkedid or uid,
            context=context,
            exten=exten,
            created_at=self.now,
            owner=owner,
        )
        self.channels[name] = chan
        return chan

    def new_bridge_id(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def command_id(self) -> int:
        return self._rng.randrange(1, 2**31)

    def set_state(self, chan: Channel, state: int) -> None:
        chan.state = state
        self.emit(chan.event("Newstate", self.now))

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
        agent.status = status
        for queue in self.queues.values():
            member = queue.members.get(agent.interface)
            if member is not None:
                self.emit(member.blob("QueueMemberStatus", self.now))

    def clid(self, chan: Channel) -> str:
        if chan.caller_name not in ("", "<unknown>"):
            return f'"{chan.caller_name}" <{chan.caller_num}>'
        return chan.caller_num if chan.caller_num != "<unknown>" else ""

    # -- traffic ----------------------------------------------------------------
    def schedule_arrivals(self, count: int | None, after: float | None = None) -> None:
        """Generate ``count`` more calls (None: keep generating)."""
        start = self.now if after is None else after

        def place(remaining: int | None, at: float) -> None:
            if remaining is not None and remaining <= 0:
                return
            when = self.model.next_arrival(at)

            def arrive() -> None:
                index = self.generated
                self.generated += 1
                self.arrive(self.model.plan(index, when))
                place(None if remaining is None else remaining - 1, when)

            self.sched.at(when, arrive)

        place(count, start)

    # -- a call arrives -----------------------------------------------------------
    def arrive(self, plan: CallPlan) -> None:
        cfg = self.cfg
        chan = self.new_channel(f"PJSIP/{cfg.trunk}", cfg.caller_context, plan.hotline)
        chan.state = RING
        chan.caller_num = plan.caller
        truth = CallOutcome(
            index=plan.index,
            call_id=chan.linkedid,
            channel=chan.name,
            hotline=plan.hotline,
            caller=plan.caller,
            started_at=self.now,
        )
        call = Call(plan, chan, truth, self.model.ring_stream(plan.index))
        chan.owner = call
        self.calls[call.call_id] = call
        self.emit(chan.event("Newchannel", self.now))
        self.newexten(chan, 1, "NoOp", f"Inbound call to {plan.hotline} from <{plan.caller}>")
        self.newexten(chan, 2, "Set", f"CDR(userfield)=dnis:{plan.hotline}")
        chan.variables["CDR(userfield)"] = f"dnis:{plan.hotline}"
        if self.lines_in_use >= cfg.lines:
            self.newexten(chan, 3, "Congestion", "")
            self.end_call(call, "blocked", CONGESTION)
            return
        self.lines_in_use += 1
        self.sched.after(0.02, lambda: self.answer(call))

    def answer(self, call: Call) -> None:
        if call.stage == "ended":
            return
        chan = call.chan
        self.newexten(chan, 3, "Answer", "")
        call.answered_at = self.now
        self.set_state(chan, UP)
        self.newexten(chan, 4, "Set", f"CALLERID(name)=PSTN {chan.caller_num}")
        chan.caller_name = f"PSTN {chan.caller_num}"
        self.emit(
            chan.event(
                "NewCallerid",
                self.now,
                **{"CID-CallingPres": "0 (Presentation Allowed, Not Screened)"},
            )
        )
        plan = call.plan
        if plan.ivr_hangup:
            self.sched.after(plan.ivr_seconds, lambda: self.ivr_hangup(call))
        target = self.cfg.agi_target
        if target is not None and self.agi_launcher is not None:
            url = f"agi://{target.host}:{target.port}/{target.script}"
            self.newexten(chan, 5, "AGI", f"{url},{plan.hotline},{plan.caller}")
            self.agi_launcher(call)
            return
        self.newexten(chan, 5, "Read", "HOTLINE_DIGITS,hotline/menu,1,,2,5")
        if not plan.ivr_hangup:
            self.sched.after(plan.ivr_seconds, lambda: self.menu_choice(call, plan.menu_digit))

    def ivr_hangup(self, call: Call) -> None:
        if call.stage == "ivr":
            self.caller_hangup(call)

    def menu_choice(self, call: Call, digit: str) -> None:
        """The built-in menu (no FastAGI target): one digit, or none, picks the queue."""
        if call.stage != "ivr" or call.agi is not None:
            return
        if digit:
            self.dtmf(call.chan, digit)
            call.truth.dtmf += digit
        self.varset(call.chan, "HOTLINE_DIGITS", digit)
        self.route(call, self.cfg.menu_routes.get(digit, ""))

    def agi_finished(self, call: Call, ok: bool) -> None:
        """The FastAGI session closed; continue in the dialplan with the route it chose."""
        call.agi = None
        if call.stage == "agi":  # the AGI went on after an EXEC Queue / VoiceMail: it ends now
            done = call.truth.outcome
            if done == "in_progress":  # left the queue on its timeout, then no voicemail
                done = "abandoned" if call.queue is not None else "ivr_only"
            self.end_call(call, done, NORMAL_CLEARING)
            return
        if call.stage != "ivr":
            return
        if call.chan.dead or call.hangup_requested:
            self.end_call(call, "ivr_only", NORMAL_CLEARING)
            return
        self.varset(call.chan, "AGISTATUS", "SUCCESS" if ok else "FAILURE")
        if call.chan.variables.get("HOTLINE_HANGUP") == "1":
            self.end_call(call, "ivr_only", NORMAL_CLEARING)
            return
        route = call.chan.variables.get("HOTLINE_ROUTE") or call.chan.variables.get("QUEUE", "")
        self.route(call, route)

    def route(self, call: Call, queue_name: str, priority: int = 0) -> None:
        """Queue the call: dialplan priorities 6 (MixMonitor) and 7, or ``priority`` (the
        AGI's) when an AGI EXEC runs Queue."""
        if queue_name not in self.queues:
            queue_name = self.cfg.hotlines.get(call.plan.hotline, self.cfg.default_queue)
        if queue_name not in self.queues:
            queue_name = self.cfg.default_queue
        chan = call.chan
        if call.plan.recorded:
            filename = f"{chan.uniqueid}.wav"
            self.newexten(chan, priority or 6, "MixMonitor", filename)
            self.varset(chan, "MIXMONITOR_FILENAME", f"/var/spool/asterisk/monitor/{filename}")
            self.emit(chan.event("MixMonitorStart", self.now))
            call.truth.recorded = True
            call.recording_started = self.now
        queue = self.queues[queue_name]
        options = call.queue_options if call.agi_app == "Queue" else ""
        data = f"{queue_name},{options},,,{int(queue.config.max_wait)}"
        self.newexten(chan, priority or 7, "Queue", data)
        self.join_queue(call, queue)

    # -- applications run by an AGI EXEC ------------------------------------------------
    def agi_exec_queue(self, call: Call, queue_name: str, options: str) -> None:
        """``EXEC Queue(name,options,...)``: the caller joins the queue inside the AGI; the
        EXEC returns when the caller leaves it (timeout, or the agent hung up with ``g``)."""
        call.agi_app, call.queue_options = "Queue", options
        call.chan.variables.pop("QUEUESTATUS", None)
        self.route(call, queue_name, priority=call.chan.priority)

    def agi_exec_voicemail(self, call: Call, data: str) -> None:
        """``EXEC VoiceMail(box,u)``: greeting and beep, the message, then the caller hangs up
        (which ends the EXEC with -1), as the dialplan's VoiceMail after a queue does."""
        call.agi_app = "VoiceMail"
        call.stage = "voicemail"
        if call.tail_start is None and call.attempts:
            call.tail_start = self.now
        self.newexten(call.chan, call.chan.priority, "VoiceMail", data)
        call.truth.outcome = "voicemail"
        self.sched.after(4.0 + call.plan.voicemail_seconds, lambda: self.caller_hangup(call))

    def agi_app_returned(self, call: Call, stage: str) -> None:
        """The application an AGI EXEC ran returns with the caller still on the line."""
        call.agi_app = ""
        call.stage = stage
        if call.agi is not None:
            call.agi.app_returned()

    # -- app_queue ----------------------------------------------------------------
    def join_queue(self, call: Call, queue: Queue) -> None:
        chan = call.chan
        call.stage = "queue"
        call.queue = queue
        call.joined_at = self.now
        queue.waiting.append(call)
        call.opos = len(queue.waiting)
        call.truth.queue = queue.name
        if call.truth.joined_at is None:
            call.truth.joined_at = self.now
        self.records.queue_log(
            self.now,
            chan.uniqueid,
            queue.name,
            "NONE",
            "ENTERQUEUE",
            "",
            chan.caller_num,
            call.opos,
        )
        self.emit(
            chan.event(
                "QueueCallerJoin",
                self.now,
                Queue=queue.name,
                Position=str(call.opos),
                Count=str(len(queue.waiting)),
            )
        )
        self.emit(chan.event("MusicOnHoldStart", self.now, Class="default"))
        gen = call.gen
        self.sched.after(call.plan.patience, lambda: self.queue_timer(call, gen, "abandon"))
        self.sched.after(queue.config.max_wait, lambda: self.queue_timer(call, gen, "timeout"))
        self.dispatch()

    def queue_timer(self, call: Call, gen: int, what: str) -> None:
        if call.stage != "queue" or call.gen != gen:
            return
        if what == "abandon":
            self.caller_hangup(call)
        else:
            self.queue_timeout(call)

    def position(self, call: Call) -> int:
        assert call.queue is not None
        return call.queue.waiting.index(call) + 1

    def leave_queue(self, call: Call) -> tuple[int, int]:
        """Remove the caller from its queue; returns (position, count left)."""
        queue = call.queue
        assert queue is not None
        pos = self.position(call)
        queue.waiting.remove(call)
        call.gen += 1
        self.emit(
            call.chan.event(
                "QueueCallerLeave",
                self.now,
                Queue=queue.name,
                Position=str(pos),
                Count=str(len(queue.waiting)),
            )
        )
        return pos, len(queue.waiting)

    def dispatch(self) -> None:
        """Ring free members for waiting callers, in queue order (autofill)."""
        now = self.now
        for queue in self.queues.values():
            if not queue.waiting:
                continue
            for call in list(queue.waiting):
                if call.ring is not None:
                    continue
                if call.next_try > now:
                    continue
                member = queue.pick(now)
                if member is None:
                    break
                self.ring(call, member)

    def ring(self, call: Call, member: QueueMember) -> None:
        queue = call.queue
        assert queue is not None
        cfg = self.cfg
        caller = call.chan
        agent_chan = self.new_channel(
            member.interface, cfg.agent_context, caller.exten, caller.linkedid, owner=call
        )
        agent_chan.app, agent_chan.appdata = "AppQueue", "(Outgoing Line)"
        call.ring = Ring(member, agent_chan, self.now, self.model.ring(call.ring_rng))
        call.attempts.append(Attempt(agent_chan.name, self.now))
        call.truth.ring_attempts += 1
        member.agent.ringing = call
        self.emit(agent_chan.event("Newchannel", self.now))
        agent_chan.caller_num = caller.exten
        agent_chan.connected_num, agent_chan.connected_name = caller.caller_num, caller.caller_name
        self.emit(
            agent_chan.event(
                "NewCallerid",
                self.now,
                **{"CID-CallingPres": "0 (Presentation Allowed, Not Screened)"},
            )
        )
        agent_fields = {
            "Queue": queue.name,
            "Interface": member.interface,
            "MemberName": member.name,
        }
        self.emit(caller.dial_event("AgentCalled", self.now, agent_chan, **agent_fields))
        self.emit(
            caller.dial_event(
                "DialBegin", self.now, agent_chan, DialString=member.interface.split("/", 1)[-1]
            )
        )
        self.set_state(agent_chan, RINGING)
        self.emit(caller.dial_event("DialState", self.now, agent_chan, DialStatus="RINGING"))
        self.member_status(member.agent, DEV_RINGING)
        ring = call.ring
        timeout = queue.config.ring_timeout
        if ring.result.answers and ring.result.delay < timeout:
            self.sched.after(ring.result.delay, lambda: self.agent_answer(call, ring))
        else:
            self.sched.after(timeout, lambda: self.ring_no_answer(call, ring))

    def end_ring(self, call: Call, status: str, cause: int = 0) -> Ring:
        """Tear down the ringing agent channel (no answer, cancel, timeout)."""
        ring = call.ring
        assert ring is not None
        call.ring = None
        ring.member.agent.ringing = None
        call.attempts[-1].end = self.now
        self.emit(call.chan.dial_event("DialEnd", self.now, ring.chan, DialStatus=status))
        self.hangup_channel(ring.chan, cause)
        self.member_status(ring.member.agent, NOT_INUSE)
        return ring

    def ring_no_answer(self, call: Call, ring: Ring) -> None:
        if call.ring is not ring:
            return
        queue = call.queue
        assert queue is not None
        ring_ms = round((self.now - ring.started) * 1000)
        member = ring.member
        self.emit(
            call.chan.dial_event(
                "AgentRingNoAnswer",
                self.now,
                ring.chan,
                Queue=queue.name,
                Interface=member.interface,
                MemberName=member.name,
                RingTime=str(ring_ms),
            )
        )
        self.end_ring(call, "NOANSWER")
        self.records.queue_log(
            self.now, call.chan.uniqueid, queue.name, member.name, "RINGNOANSWER", ring_ms
        )
        call.next_try = self.now + queue.config.retry
        self.sched.after(queue.config.retry + 1e-6, self.dispatch)
        self.dispatch()

    def cancel_ring(self, call: Call) -> None:
        if call.ring is None:
            return
        queue = call.queue
        assert queue is not None
        ring = self.end_ring(call, "CANCEL")
        ring_ms = round((self.now - ring.started) * 1000)
        self.records.queue_log(
            self.now, call.chan.uniqueid, queue.name, ring.member.name, "RINGCANCELED", ring_ms
        )

    def agent_answer(self, call: Call, ring: Ring) -> None:
        if call.ring is not ring or call.stage != "queue":
            return
        queue = call.queue
        assert queue is not None
        member, agent_chan, caller = ring.member, ring.chan, call.chan
        call.ring = None
        member.agent.ringing = None
        call.attempts[-1].answered = True
        self.set_state(agent_chan, UP)
        self.emit(caller.dial_event("DialEnd", self.now, agent_chan, DialStatus="ANSWER"))
        self.emit(caller.event("MusicOnHoldStop", self.now))
        self.leave_queue(call)
        hold = int(self.now) - int(call.joined_at)
        ring_s = int(self.now - ring.started)
        queue.record_hold(hold)
        self.records.queue_log(
            self.now, caller.uniqueid, queue.name, member.name, "CONNECT",
            hold, agent_chan.uniqueid, ring_s,
        )  # fmt: skip
        self.emit(
            caller.dial_event(
                "AgentConnect",
                self.now,
                agent_chan,
                Queue=queue.name,
                Interface=member.interface,
                MemberName=member.name,
                HoldTime=str(hold),
                RingTime=str(ring_s),
            )
        )
        call.stage = "talk"
        call.member, call.agent_chan = member, agent_chan
        call.connected_at = self.now
        call.bridge_id = self.new_bridge_id()
        member.in_call = True
        member.agent.talking = call
        self.emit(bridge_event("BridgeCreate", self.now, call.bridge_id, 0))
        agent_chan.bridge_id = caller.bridge_id = call.bridge_id
        self.emit(bridge_channel_event("BridgeEnter", self.now, call.bridge_id, 1, agent_chan))
        self.emit(bridge_channel_event("BridgeEnter", self.now, call.bridge_id, 2, caller))
        self.member_status(member.agent, INUSE)
        truth = call.truth
        truth.answered_at = self.now
        truth.wait = self.now - (truth.joined_at or call.joined_at)
        truth.agent, truth.agent_interface = member.name, member.interface
        truth.agent_channel = agent_chan.name
        by = "agent" if call.plan.agent_hangs_up else "caller"
        self.sched.after(call.plan.handle_seconds, lambda: self.talk_end(call, by))
        self.dispatch()

    def talk_end(self, call: Call, by: str) -> None:
        """The talk ends: ``by`` is who hung up (caller | agent)."""
        if call.stage != "talk":
            return
        queue, member, agent_chan = call.queue, call.member, call.agent_chan
        assert queue is not None and member is not None and agent_chan is not None
        caller = call.chan
        hold = int(call.connected_at) - int(call.joined_at)
        talk = int(self.now) - int(call.connected_at)
        complete: dict[str, str] = {
            "Queue": queue.name,
            "Interface": member.interface,
            "MemberName": member.name,
            "HoldTime": str(hold),
            "TalkTime": str(talk),
            "Reason": by,
        }
        bridge = call.bridge_id
        if by == "agent":
            self.emit(agent_chan.event("HangupRequest", self.now, Cause=str(NORMAL_CLEARING)))
            self.emit(bridge_channel_event("BridgeLeave", self.now, bridge, 1, agent_chan))
            self.emit(bridge_channel_event("BridgeLeave", self.now, bridge, 0, caller))
            self.emit(caller.dial_event("AgentComplete", self.now, agent_chan, **complete))
            self.emit(bridge_event("BridgeDestroy", self.now, bridge, 0))
            agent_chan.bridge_id = caller.bridge_id = ""
            self.hangup_channel(agent_chan, NORMAL_CLEARING)
            self.emit(caller.event("SoftHangupRequest", self.now, Cause=str(NORMAL_CLEARING)))
        else:
            self.emit(caller.event("HangupRequest", self.now, Cause=str(NORMAL_CLEARING)))
            self.emit(caller.dial_event("AgentComplete", self.now, agent_chan, **complete))
            self.emit(bridge_channel_event("BridgeLeave", self.now, bridge, 1, caller))
        self.records.queue_log(
            self.now, caller.uniqueid, queue.name, member.name,
            "COMPLETEAGENT" if by == "agent" else "COMPLETECALLER", hold, talk, call.opos,
        )  # fmt: skip
        in_sl = hold <= queue.config.servicelevel
        queue.record_complete(talk, in_sl)
        member.calls += 1
        member.last_call = int(self.now)
        member.in_call = False
        agent = member.agent
        agent.talking = None
        agent.last_end = self.now
        call.attempts[-1].end = self.now
        truth = call.truth
        truth.talk = self.now - call.connected_at
        truth.hangup_by = by
        if by == "caller":
            self.hangup_channel(caller, NORMAL_CLEARING)
            self.emit(bridge_channel_event("BridgeLeave", self.now, bridge, 0, agent_chan))
            self.emit(bridge_event("BridgeDestroy", self.now, bridge, 0))
            agent_chan.bridge_id = caller.bridge_id = ""
            self.hangup_channel(agent_chan, NORMAL_CLEARING)
        self.member_status(agent, NOT_INUSE)
        for waits in sorted({m.wrapuptime for q in self.queues.values() for m in q.members.values()
                             if m.interface == agent.interface}):  # fmt: skip
            self.sched.after(waits + 1e-6, self.dispatch)
        if by == "agent" and call.agi_app == "Queue" and "c" in call.queue_options:
            # Queue(...,c): app_queue sets QUEUESTATUS=CONTINUE and the caller goes on
            truth.outcome = "answered"
            self.varset(call.chan, "QUEUESTATUS", "CONTINUE")
            self.agi_app_returned(call, "agi")
            return
        self.end_call(call, "answered", NORMAL_CLEARING)

    def queue_timeout(self, call: Call) -> None:
        queue = call.queue
        assert queue is not None
        self.cancel_ring(call)
        self.emit(call.chan.event("MusicOnHoldStop", self.now))
        pos, _ = self.leave_queue(call)
        wait = int(self.now) - int(call.joined_at)
        queue.record_abandon(wait)
        self.records.queue_log(
            self.now,
            call.chan.uniqueid,
            queue.name,
            "NONE",
            "EXITWITHTIMEOUT",
            pos,
            call.opos,
            wait,
        )
        call.truth.wait = self.now - (call.truth.joined_at or call.joined_at)
        call.stage = "voicemail"
        if call.attempts:
            call.tail_start = self.now
        if call.agi_app == "Queue":  # EXEC Queue returns; the AGI decides what comes next
            self.varset(call.chan, "QUEUESTATUS", "TIMEOUT")
            self.agi_app_returned(call, "agi")
            self.dispatch()
            return
        box = self.cfg.voicemail_box
        self.newexten(call.chan, 8, "VoiceMail", f"{box},u")
        call.truth.outcome = "voicemail"
        # greeting + beep, then the message, then the caller hangs up
        self.sched.after(4.0 + call.plan.voicemail_seconds, lambda: self.caller_hangup(call))
        self.dispatch()

    # -- hangups and the end of a call ------------------------------------------------
    def caller_hangup(self, call: Call) -> None:
        """The caller hangs up, wherever the call is."""
        if call.stage == "ended" or call.hangup_requested:
            return
        chan = call.chan
        if call.stage == "talk":
            self.talk_end(call, "caller")
            return
        if call.stage == "dial":
            self.dialer.caller_hangup(call)
            return
        if call.stage in ("ivr", "agi"):
            call.hangup_requested = True
            self.emit(chan.event("HangupRequest", self.now, Cause=str(NORMAL_CLEARING)))
            if call.agi is not None:
                call.agi.caller_hung_up()  # the session ends; agi_finished() ends the call
                return
            self.end_call(call, "ivr_only", NORMAL_CLEARING)
            return
        if call.stage == "voicemail":
            self.emit(chan.event("HangupRequest", self.now, Cause=str(NORMAL_CLEARING)))
            self.end_call(call, "voicemail", NORMAL_CLEARING)
            return
        # in the queue: an abandon
        queue = call.queue
        assert queue is not None
        self.emit(chan.event("HangupRequest", self.now, Cause=str(NORMAL_CLEARING)))
        self.cancel_ring(call)
        self.emit(chan.event("MusicOnHoldStop", self.now))
        pos = self.position(call)
        hold = int(self.now) - int(call.joined_at)
        self.emit(
            chan.event(
                "QueueCallerAbandon",
                self.now,
                Queue=queue.name,
                Position=str(pos),
                OriginalPosition=str(call.opos),
                HoldTime=str(hold),
            )
        )
        self.leave_queue(call)
        queue.record_abandon(hold)
        self.records.queue_log(
            self.now, chan.uniqueid, queue.name, "NONE", "ABANDON", pos, call.opos, hold
        )
        wait = self.now - (call.truth.joined_at or call.joined_at)
        call.truth.wait = wait
        short = wait < self.cfg.short_abandon_s
        self.end_call(call, "short_abandon" if short else "abandoned", NORMAL_CLEARING)
        self.dispatch()

    def agent_hangup_ringing(self, call: Call) -> None:
        """The ringing agent rejects the call (AMI Hangup on the agent channel)."""
        ring = call.ring
        if ring is None:
            return
        ring.result = RingResult(False, 0.0)
        self.ring_no_answer(call, ring)

    def end_call(self, call: Call, outcome: str, cause: int) -> None:
        if call.stage == "ended":
            return
        blocked = outcome == "blocked"
        call.stage = "ended"
        if call.agi is not None:  # an EXEC Queue / VoiceMail in progress returns -1
            call.agi.caller_hung_up()
        chan = call.chan
        self.hangup_channel(chan, cause)
        if not blocked:
            self.lines_in_use -= 1
        truth = call.truth
        truth.ended_at = self.now
        truth.outcome = outcome
        truth.hangup_cause = cause
        self.write_cdrs(call, cause)
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

    def write_cdrs(self, call: Call, cause: int) -> None:
        chan = call.chan
        end = self.now
        userfield = chan.variables.get("CDR(userfield)", "")
        queue_data = ""
        if call.queue is not None:
            max_wait = int(call.queue.config.max_wait)
            queue_data = f"{call.queue.name},{call.queue_options},,,{max_wait}"
        rows: list[CdrRow] = []

        def row(dst: str, app: str, data: str, start: float, answer: float | None,
                stop: float, disposition: str) -> CdrRow:  # fmt: skip
            return CdrRow(
                accountcode="",
                src=chan.caller_num,
                dst=chan.exten,
                dcontext=chan.context,
                clid=self.clid(chan),
                channel=chan.name,
                dstchannel=dst,
                lastapp=app,
                lastdata=data,
                start=start,
                answer=answer,
                end=stop,
                disposition=disposition,
                amaflags="DOCUMENTATION",
                uniqueid=chan.uniqueid,
                userfield=userfield,
                linkedid=chan.linkedid,
            )

        for i, attempt in enumerate(call.attempts):
            start = chan.created_at if i == 0 else attempt.start
            answer = call.answered_at if i == 0 else attempt.start
            if attempt.answered_at is not None:  # a direct Dial: the callee's answer
                answer = attempt.answered_at
            stop = attempt.end if attempt.end is not None else end
            disposition = "ANSWERED" if attempt.answered else "NO ANSWER"
            if attempt.busy:
                disposition = "BUSY"
            data = attempt.data or queue_data
            rows.append(
                row(attempt.dstchannel, attempt.app, data, start, answer, stop, disposition)
            )
        if not call.attempts or call.tail_start is not None:
            start = chan.created_at if not call.attempts else (call.tail_start or end)
            answer = call.answered_at if not call.attempts else start
            if answer is not None:
                disposition = "ANSWERED"
            elif cause == CONGESTION:
                disposition = "CONGESTION" if self.cfg.cdr_congestion else "FAILED"
            else:
                disposition = "NO ANSWER"
            rows.append(row("", chan.app, chan.appdata, start, answer, end, disposition))
        for r in rows:
            self.records.cdr(r)
            self.emit(self.cdr_event(r))

    def cdr_event(self, r: CdrRow) -> Event:
        ev = header("Cdr", self.now)
        ev.update(
            {
                "AccountCode": r.accountcode,
                "Source": r.src,
                "Destination": r.dst,
                "DestinationContext": r.dcontext,
                "CallerID": r.clid,
                "Channel": r.channel,
                "DestinationChannel": r.dstchannel,
                "LastApplication": r.lastapp,
                "LastData": r.lastdata,
                "StartTime": self.records.local(r.start),
                "AnswerTime": self.records.local(r.answer) if r.answer is not None else "",
                "EndTime": self.records.local(r.end),
                "Duration": str(r.duration),
                "BillableSeconds": str(r.billsec),
                "Disposition": r.disposition,
                "AMAFlags": r.amaflags,
                "UniqueID": r.uniqueid,
                "UserField": r.userfield,
            }
        )
        return ev

    # -- requests from AMI (run at the current virtual time) ----------------------------
    def hangup_by_name(self, name: str, cause: int) -> bool:
        chan = self.channels.get(name)
        if chan is None:
            return False
        owner = chan.owner
        if isinstance(owner, Call):
            if chan is owner.chan:
                self.caller_hangup(owner)
            elif owner.stage == "talk" and chan is owner.agent_chan:
                self.talk_end(owner, "agent")
            elif owner.ring is not None and chan is owner.ring.chan:
                self.agent_hangup_ringing(owner)
            elif owner.dial is not None and chan is owner.dial.chan:
                if owner.dial.answered_at is not None:
                    self.dialer.talk_end(owner, "agent")
                else:
                    self.dialer.callee_rejects(owner)
            return True
        if owner is not None and hasattr(owner, "hangup"):
            owner.hangup(cause)
            return True
        self.hangup_channel(chan, cause or NORMAL_CLEARING)
        return True

    def play_dtmf(self, name: str, digit: str, receive: bool) -> bool:
        chan = self.channels.get(name)
        if chan is None:
            return False
        if not receive:
            self.dtmf(chan, digit, "Sent")
            return True
        self.dtmf(chan, digit, "Received")
        owner = chan.owner
        if isinstance(owner, Call) and chan is owner.chan and owner.stage in ("ivr", "agi"):
            owner.truth.dtmf += digit
            if owner.agi is not None:
                owner.agi.digit(digit)
            else:
                # a key in the built-in menu routes at once
                self.varset(chan, "HOTLINE_DIGITS", digit)
                self.route(owner, self.cfg.menu_routes.get(digit, ""))
        return True

    # -- queue membership (QueueAdd / QueueRemove / QueuePause) ----------------------------
    def add_member(
        self, queue_name: str, interface: str, name: str, penalty: int, paused: bool, reason: str
    ) -> str:
        queue = self.queues.get(queue_name)
        if queue is None:
            return "nosuchqueue"
        if interface in queue.members:
            return "exists"
        agent = self.agents.setdefault(interface, Agent(interface))
        member = QueueMember(
            queue=queue_name,
            interface=interface,
            name=name or interface,
            agent=agent,
            penalty=penalty,
            dynamic=True,
            paused=paused,
            paused_reason=reason if paused else "",
            login_time=int(self.now),
            wrapuptime=queue.config.wrapuptime,
        )
        queue.members[interface] = member
        self.emit(member.blob("QueueMemberAdded", self.now))
        agent_field = name if (name and self.cfg.log_membername_as_agent) else interface
        self.records.queue_log(
            self.now, "MANAGER", queue_name, agent_field, "ADDMEMBER", "PAUSED" if paused else ""
        )
        self.dispatch()
        return "ok"

    def remove_member(self, queue_name: str, interface: str) -> str:
        queue = self.queues.get(queue_name)
        if queue is None:
            return "nosuchqueue"
        member = queue.members.get(interface)
        if member is None:
            return "notthere"
        if not member.dynamic:
            return "notdynamic"
        del queue.members[interface]
        self.emit(member.blob("QueueMemberRemoved", self.now))
        agent_field = member.name if self.cfg.log_membername_as_agent else interface
        self.records.queue_log(self.now, "MANAGER", queue_name, agent_field, "REMOVEMEMBER", "")
        return "ok"

    def pause_member(self, queue_name: str, interface: str, paused: bool, reason: str) -> bool:
        found = False
        for queue in self.queues.values():
            if queue_name and queue.name.lower() != queue_name.lower():
                continue
            member = queue.members.get(interface)
            if member is None:
                continue
            found = True
            if member.paused != paused:
                member.paused = paused
                if paused:
                    member.last_pause = int(self.now)
            member.paused_reason = reason
            self.records.queue_log(
                self.now, "NONE", queue.name, member.name, "PAUSE" if paused else "UNPAUSE", reason
            )
            self.emit(member.blob("QueueMemberPause", self.now))
            if not paused:
                member.paused_reason = ""
        if found and not paused:
            self.dispatch()
        return found

    def set_penalty(self, queue_name: str, interface: str, penalty: int) -> bool:
        """QueuePenalty: every matching member (of ``queue_name``, or of all queues)."""
        found = False
        for queue in self.queues.values():
            if queue_name and queue.name.lower() != queue_name.lower():
                continue
            member = queue.members.get(interface)
            if member is None:
                continue
            found = True
            member.penalty = penalty
            self.emit(member.blob("QueueMemberPenalty", self.now))
        if found:
            self.dispatch()
        return found
