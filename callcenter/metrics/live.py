"""Live counters for the wallboard and /metrics, folded from events (pure).

Feed it every domain event (``apply``) and every finished call record (``call_finished``);
read ``snapshot(now)`` (every PBX together) or ``by_pbx(now)`` (each PBX on its own, for
/metrics). The clock is passed in, so a test drives it with plain numbers.

- lines in use: inbound calls whose first channel (Uniqueid == Linkedid, an inbound
  context) is up;
- in the IVR: those calls not (yet) in a queue or with an agent;
- waiting per queue, with the longest current wait;
- agents by state, from queue-member status (paused wins; one state per interface);
- answer rate this hour and today (hotline's zone), from finished records, per DESIGN.md;
- alerts when today's (else this hour's) answer rate is under target, or lines reach the
  high level (80% of capacity by default).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from callcenter.core.call_record import CallRecord
from callcenter.core.events import (
    AgentAnswered,
    AgentCompleted,
    ChannelCreated,
    ChannelHungUp,
    ChannelSnapshot,
    Event,
    QueueAbandoned,
    QueueEntrySnapshot,
    QueueJoined,
    QueueLeft,
    QueueMemberChanged,
    QueueTimedOut,
    ResyncCompleted,
)
from callcenter.metrics.kpis import Tally, Thresholds

__all__ = ["LiveCounters", "PbxLive", "QueueWait"]

# Asterisk device states (QueueMember Status) -> wallboard agent state
_DEVICE_STATE = {
    0: "offline",  # unknown
    1: "idle",  # not in use
    2: "in_call",  # in use
    3: "in_call",  # busy
    4: "offline",  # invalid
    5: "offline",  # unavailable
    6: "ringing",
    7: "in_call",  # ring + in use
    8: "in_call",  # on hold
}
MIN_CALLS_FOR_ALERT = 10  # an answer rate over fewer calls raises no alert


@dataclass(slots=True)
class _LiveCall:
    started_at: float
    stage: str = "ivr"  # ivr | queue | agent
    queue: str = ""
    joined_at: float = 0.0


@dataclass(slots=True)
class QueueWait:
    waiting: int = 0
    longest_wait_s: float = 0.0


@dataclass
class PbxLive:
    """One PBX's live figures at an instant."""

    lines_in_use: int = 0
    calls_in_ivr: int = 0
    waiting: dict[str, QueueWait] = field(default_factory=dict)  # by queue
    agents: Counter[str] = field(default_factory=Counter)  # members by state
    hour: Tally = field(default_factory=Tally)  # this hour's finished calls
    today: Tally = field(default_factory=Tally)


@dataclass
class LiveCounters:
    thresholds: Thresholds = field(default_factory=Thresholds)
    zone: str = "Asia/Shanghai"
    inbound_contexts: frozenset[str] = frozenset({"from-pstn"})
    _calls: dict[tuple[str, str], _LiveCall] = field(default_factory=dict)
    _agents: dict[tuple[str, str], str] = field(default_factory=dict)  # (pbx, interface) -> state
    _hour: tuple[str, Tally] = field(init=False)  # (local "YYYY-MM-DD HH", its tally)
    _day: tuple[str, Tally] = field(init=False)
    _tz: ZoneInfo = field(init=False)
    outcomes: Counter[str] = field(default_factory=Counter)  # finished calls since start
    # Today's calls as counted, by (pbx, call id): a call counted again (a record rebuilt
    # from durable records, then corrected; a restart's re-read) replaces its last version.
    _counted: dict[tuple[str, str], CallRecord] = field(default_factory=dict)
    _stale: bool = field(default=False, init=False)  # a call counted again since summed
    # today's tallies per queue, summed from ``_counted`` when read after a change
    _by_queue: dict[str, Tally] | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self._tz = ZoneInfo(self.zone)
        self._hour = ("", Tally())
        self._day = ("", Tally())

    # --- folding -------------------------------------------------------------------------

    def apply(self, event: Event) -> None:
        key = (event.pbx, event.call_id)
        if isinstance(event, ChannelCreated):
            first = event.channel_id == event.call_id
            if first and event.context in self.inbound_contexts:
                self._calls.setdefault(key, _LiveCall(event.at))
            return
        if isinstance(event, QueueMemberChanged):
            self._member(event)
            return
        if isinstance(event, ChannelSnapshot | ResyncCompleted):
            self._snapshot(event)
            return
        call = self._calls.get(key)
        if call is None:
            return
        if isinstance(event, ChannelHungUp):
            if event.channel_id == event.call_id:
                del self._calls[key]
        elif isinstance(event, QueueJoined):
            call.stage, call.queue, call.joined_at = "queue", event.queue, event.at
        elif isinstance(event, QueueEntrySnapshot):
            call.stage, call.queue, call.joined_at = "queue", event.queue, event.at - event.wait
        elif isinstance(event, AgentAnswered):
            call.stage = "agent"
        elif (
            isinstance(event, QueueLeft | QueueAbandoned | QueueTimedOut | AgentCompleted)
            and call.stage == "queue"
        ):
            call.stage = "after_queue"

    def _snapshot(self, event: ChannelSnapshot | ResyncCompleted) -> None:
        """After a (re)connect, or on an instance that starts while calls are up: the
        calls Asterisk lists are up; any other call of that PBX ended unseen."""
        if isinstance(event, ResyncCompleted):
            live = set(event.live_channel_ids)
            for key in [k for k in self._calls if k[0] == event.pbx and k[1] not in live]:
                del self._calls[key]
            return
        first = event.channel_id == event.call_id
        if first and event.context in self.inbound_contexts:
            call = self._calls.setdefault(
                (event.pbx, event.call_id), _LiveCall(event.at - event.duration_s)
            )
            if event.bridge_id and call.stage == "ivr":
                call.stage = "agent"  # talking: a queue call waiting has no bridge yet

    def _member(self, event: QueueMemberChanged) -> None:
        if not event.interface:  # a queue_log pause names the member only: no seat to show
            return
        key = (event.pbx, event.interface)
        if event.change == "removed":
            self._agents.pop(key, None)
            return
        state = "paused" if event.paused else _DEVICE_STATE.get(event.status, "offline")
        if event.in_call and state == "idle":
            state = "in_call"
        self._agents[key] = state

    def call_finished(self, record: CallRecord) -> None:
        """Count a finished call in this hour's and today's answer rate, once per call: a
        new version of a call already counted replaces it."""
        if record.kind != "inbound" or record.ended_at is None:
            return
        key = (record.pbx, record.call_id)
        self._by_queue = None
        before = self._counted.get(key)
        if before is not None:
            if before.outcome == record.outcome and before.wait_s == record.wait_s:
                return  # told again, nothing new
            self.outcomes[before.outcome] -= 1
        self.outcomes[record.outcome] += 1
        local = datetime.fromtimestamp(record.started_at, self._tz)
        hour, day = local.strftime("%Y-%m-%d %H"), local.strftime("%Y-%m-%d")
        if day > self._day[0]:
            self._counted.clear()
        if day >= self._day[0]:
            self._counted[key] = record
        if before is not None:
            self._stale = True  # counted again when next read: corrections come in bursts
            return
        if hour >= self._hour[0]:
            if hour > self._hour[0]:
                self._hour = (hour, Tally())
            self._hour[1].add(record, self.thresholds)
        if day >= self._day[0]:
            if day > self._day[0]:
                self._day = (day, Tally())
            self._day[1].add(record, self.thresholds)

    def _recount(self) -> None:
        """Today's and this hour's tallies again from the calls counted (a correction)."""
        self._stale = False
        day_tally, hour_tally = Tally(), Tally()
        for counted in self._counted.values():
            day_tally.add(counted, self.thresholds)
            started = datetime.fromtimestamp(counted.started_at, self._tz)
            if started.strftime("%Y-%m-%d %H") == self._hour[0]:
                hour_tally.add(counted, self.thresholds)
        self._day = (self._day[0], day_tally)
        self._hour = (self._hour[0], hour_tally)

    # --- reading -------------------------------------------------------------------------

    def seats(self) -> dict[str, str]:
        """Each queue member's interface and its wallboard state (idle, in_call, paused...)."""
        return dict(sorted((interface, state) for (_, interface), state in self._agents.items()))

    def queues_today(self, now: float) -> dict[str, Tally]:
        """Today's finished calls per queue (the queue each call waited in last)."""
        if self._day[0] != datetime.fromtimestamp(now, self._tz).strftime("%Y-%m-%d"):
            return {}
        if self._by_queue is None:
            tallies: dict[str, Tally] = {}
            for record in self._counted.values():
                if record.queue:
                    tallies.setdefault(record.queue, Tally()).add(record, self.thresholds)
            self._by_queue = tallies
        return self._by_queue

    def snapshot(self, now: float) -> dict[str, Any]:
        if self._stale:
            self._recount()
        local = datetime.fromtimestamp(now, self._tz)
        hour = self._hour[1] if self._hour[0] == local.strftime("%Y-%m-%d %H") else Tally()
        day = self._day[1] if self._day[0] == local.strftime("%Y-%m-%d") else Tally()
        waiting: dict[str, dict[str, float]] = {}
        in_ivr = 0
        for call in self._calls.values():
            if call.stage == "ivr":
                in_ivr += 1
            elif call.stage == "queue":
                slot = waiting.setdefault(call.queue, {"waiting": 0, "longest_wait_s": 0.0})
                slot["waiting"] += 1
                slot["longest_wait_s"] = max(slot["longest_wait_s"], round(now - call.joined_at, 1))
        th = self.thresholds
        lines = len(self._calls)
        body: dict[str, Any] = {
            "at": now,
            "lines_in_use": lines,
            "line_capacity": th.line_capacity,
            "lines_high": th.high_lines,
            "calls_in_ivr": in_ivr,
            "waiting": dict(sorted(waiting.items())),
            "queues": self._queues(waiting, now),
            "agents": dict(sorted(Counter(self.seats().values()).items())),
            "hour": hour.as_dict(),
            "today": day.as_dict(),
            "answer_rate_target": th.answer_rate_target,
        }
        body["alerts"] = self._alerts(lines, hour, day)
        return body

    def _queues(
        self, waiting: dict[str, dict[str, float]], now: float
    ) -> dict[str, dict[str, Any]]:
        """Per queue: callers waiting and the longest wait now, and today's answer rate and
        service level; every queue with a caller now or a call today."""
        today = self.queues_today(now)
        out: dict[str, dict[str, Any]] = {}
        for queue in sorted(set(waiting) | set(today)):
            slot = waiting.get(queue, {"waiting": 0, "longest_wait_s": 0.0})
            tally = today.get(queue, Tally())
            out[queue] = {
                "waiting": slot["waiting"], "longest_wait_s": slot["longest_wait_s"],
                "offered": tally.offered, "answered": tally.answered,
                "answer_rate": tally.as_dict()["answer_rate"],
                "service_level": tally.as_dict()["service_level"],
            }  # fmt: skip
        return out

    def by_pbx(self, now: float) -> dict[str, PbxLive]:
        """Each PBX's figures: its lines, IVR, queue waits and members as now, and its
        calls finished this hour and today (recounted from the calls counted today, so a
        correction is reflected as in ``snapshot``)."""
        view: dict[str, PbxLive] = {}
        for (pbx, _), call in self._calls.items():
            live = view.setdefault(pbx, PbxLive())
            live.lines_in_use += 1
            if call.stage == "ivr":
                live.calls_in_ivr += 1
            elif call.stage == "queue":
                slot = live.waiting.setdefault(call.queue, QueueWait())
                slot.waiting += 1
                slot.longest_wait_s = max(slot.longest_wait_s, round(now - call.joined_at, 1))
        for (pbx, _), state in self._agents.items():
            view.setdefault(pbx, PbxLive()).agents[state] += 1
        local = datetime.fromtimestamp(now, self._tz)
        if self._day[0] == local.strftime("%Y-%m-%d"):
            hour = local.strftime("%Y-%m-%d %H")
            for (pbx, _), record in self._counted.items():
                live = view.setdefault(pbx, PbxLive())
                live.today.add(record, self.thresholds)
                started = datetime.fromtimestamp(record.started_at, self._tz)
                if started.strftime("%Y-%m-%d %H") == hour:
                    live.hour.add(record, self.thresholds)
        return dict(sorted(view.items()))

    def _alerts(self, lines: int, hour: Tally, day: Tally) -> list[dict[str, str]]:
        th = self.thresholds
        alerts = []
        for window, tally, zh in (("today", day, "今日"), ("hour", hour, "本小时")):
            rate = tally.answer_rate
            if (
                rate is not None
                and tally.denominator >= MIN_CALLS_FOR_ALERT
                and rate < th.answer_rate_target
            ):
                alerts.append(
                    {
                        "kind": f"answer_rate_{window}",
                        "zh": f"{zh}接通率 {rate:.1%} 低于目标 {th.answer_rate_target:.0%}",
                        "en": f"answer rate {window} {rate:.1%} is under the "
                        f"{th.answer_rate_target:.0%} target",
                    }
                )
        if lines >= th.high_lines:
            alerts.append(
                {
                    "kind": "lines_high",
                    "zh": f"线路占用 {lines}/{th.line_capacity}，已达 {th.high_lines_fraction:.0%}",
                    "en": f"{lines} of {th.line_capacity} lines in use "
                    f"(at least {th.high_lines_fraction:.0%})",
                }
            )
        return alerts
