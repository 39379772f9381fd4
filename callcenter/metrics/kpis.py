"""Call-center KPIs from finished call records, exactly as DESIGN.md defines them.

Pure: no clock, no I/O. A ``Tally`` holds only additive sums (counts, seconds, a maximum),
so tallies of 15-minute buckets merge into intervals, shifts and days without losing
anything, and the SQL aggregation in ``callcenter/metrics/store.py`` produces the very
same numbers. Ratios are derived at the end and are ``None`` when their denominator is 0.

Every ended inbound call is exactly one of: blocked (never got a line), IVR-only (never
entered an agent queue), or offered (entered a queue, or answered by the housekeeper the
IVR dialled directly). Internal and spy calls are not counted at all.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from callcenter.core.call_record import CallRecord
from callcenter.metrics.settings import Targets

__all__ = ["HOUSEKEEPER", "Tally", "Thresholds", "answered_directly", "definitions", "tally"]

# The by-queue reports' line for the calls the IVR dialled straight to a housekeeper.
HOUSEKEEPER = "housekeeper"


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The settings that shape the numbers; every report carries them."""

    short_abandon_s: float = 5.0
    service_level_s: float = 20.0
    answer_rate_target: float = 0.90
    service_level_target: float = 0.80
    line_capacity: int = 90
    high_lines_fraction: float = 0.80  # "lines high" alert and the seconds-at-≥80% figure
    wrapup_s: float = 0.0  # after-call work added to each answered call's talk time for AHT

    @classmethod
    def from_targets(
        cls, targets: Targets, *, wrapup_s: float = 0.0, high_lines_fraction: float = 0.8
    ) -> Thresholds:
        return cls(
            short_abandon_s=targets.short_abandon_s,
            service_level_s=targets.service_level_s,
            answer_rate_target=targets.answer_rate,
            service_level_target=targets.service_level_target,
            line_capacity=targets.line_capacity,
            high_lines_fraction=high_lines_fraction,
            wrapup_s=wrapup_s,
        )

    @property
    def high_lines(self) -> int:
        """Lines in use at or above which the hotline counts as running high (72 of 90)."""
        return max(1, math.ceil(self.line_capacity * self.high_lines_fraction - 1e-9))

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "high_lines": self.high_lines}


DEFINITIONS_EN: dict[str, str] = {
    "offered": "ended inbound calls that entered an agent queue, or that the owner's "
    "housekeeper answered when the IVR dialled them directly",
    "answered": "offered calls connected to an agent (a housekeeper's direct answer included)",
    "abandoned": "offered calls that left the queue without an agent "
    "(caller hung up, or queue timeout / voicemail); includes short abandons",
    "short_abandons": "abandoned calls that waited less than short_abandon_s seconds, "
    "counted in whole seconds as Asterisk's queue_log counts them (queue timeouts never "
    "count)",
    "answer_rate": "answered / (offered - short_abandons)",
    "service_level": "answered within service_level_s seconds of joining the queue "
    "/ (offered - short_abandons)",
    "asa_s": "mean queue wait of answered calls (seconds)",
    "aht_s": "mean talk time + wrapup_s of answered calls (seconds)",
    "longest_wait_s": "longest queue wait of any offered call (seconds)",
    "ivr_only": "ended inbound calls that never entered an agent queue and no agent "
    "answered (not offered)",
    "blocked": "inbound calls refused for lack of a line (congestion / CHANUNAVAIL)",
    "peak_lines": "most external calls up at the same moment (a call holds a line "
    "from its start to its end; a line freed in a second can be taken in that second)",
    "seconds_high": "seconds with at least high_lines lines in use",
    "seconds_full": "seconds with every line (line_capacity) in use",
    "grouping": "a call belongs to the interval, shift, day, queue, hotline and agent "
    "of its start time, in the hotline's time zone; agent is the one who answered",
}

DEFINITIONS_ZH: dict[str, str] = {
    "offered": "进入坐席队列并已结束的呼入电话，含语音导航直拨管家并由管家接起的电话",
    "answered": "进入队列后由坐席接起的电话，含管家直接接起的电话",
    "abandoned": "进入队列但未由坐席接起（来电挂断或排队超时转留言），含短时放弃",
    "short_abandons": "排队不足 short_abandon_s 秒即挂断的放弃电话，按 Asterisk 队列日志的整秒计（排队超时不计）",
    "answer_rate": "接通率 = 接通数 / (进线数 - 短时放弃数)",
    "service_level": "服务水平 = service_level_s 秒内接通数 / (进线数 - 短时放弃数)",
    "asa_s": "平均应答速度：接通电话的平均排队时长（秒）",
    "aht_s": "平均处理时长：接通电话的平均通话时长 + wrapup_s（秒）",
    "longest_wait_s": "最长排队时长（秒）",
    "ivr_only": "只在语音导航中、未进入坐席队列且无人接起的电话（不计入进线）",
    "blocked": "因线路占满被拒绝的电话",
    "peak_lines": "同一时刻在线的外线电话峰值",
    "seconds_high": "在用线路达到 high_lines 条以上的秒数",
    "seconds_full": "线路全部占满的秒数",
    "grouping": "电话按开始时间（热线所在时区）归入时段、班次、日期、队列、热线号码与坐席",
}


def definitions(thresholds: Thresholds) -> dict[str, Any]:
    """What each number means and the thresholds that produced it (for every report)."""
    return {"thresholds": thresholds.as_dict(), "en": DEFINITIONS_EN, "zh": DEFINITIONS_ZH}


@dataclass(slots=True)
class Tally:
    """Additive KPI sums for a set of calls."""

    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    short_abandons: int = 0
    voicemail: int = 0
    answered_in_sl: int = 0
    ivr_only: int = 0
    blocked: int = 0
    wait_answered_s: float = 0.0
    wait_total_s: float = 0.0  # every offered call's queue wait: patience = this / hang-ups
    handle_s: float = 0.0  # talk + wrap-up, answered calls
    longest_wait_s: float = 0.0

    def add(self, record: CallRecord, thresholds: Thresholds) -> None:
        """Count one call record (in-progress and non-inbound calls are ignored)."""
        if record.kind != "inbound" or record.ended_at is None:
            return
        outcome = record.outcome
        if outcome == "in_progress":
            return
        if outcome == "blocked":
            self.blocked += 1
            return
        direct = answered_directly(record)
        if not record.queue and record.queue_joined_at is None and not direct:
            self.ivr_only += 1
            return
        self.offered += 1
        wait = record.wait_s
        if wait is not None:
            self.wait_total_s += wait
            if wait > self.longest_wait_s:
                self.longest_wait_s = wait
        if outcome == "answered":
            self.answered += 1
            self.wait_answered_s += wait or 0.0
            self.handle_s += (record.talk_s or 0.0) + thresholds.wrapup_s
            # a housekeeper's direct answer had no queue wait: within the service level
            if direct or (wait is not None and wait <= thresholds.service_level_s):
                self.answered_in_sl += 1
            return
        self.abandoned += 1
        if outcome == "voicemail":
            self.voicemail += 1
        elif is_short_abandon(
            outcome, wait, thresholds.short_abandon_s, record.queue_joined_at, record.queue_left_at
        ):
            self.short_abandons += 1

    def merge(self, other: Tally) -> None:
        # Spelled out: reports merge tens of thousands of bucket tallies.
        self.offered += other.offered
        self.answered += other.answered
        self.abandoned += other.abandoned
        self.short_abandons += other.short_abandons
        self.voicemail += other.voicemail
        self.answered_in_sl += other.answered_in_sl
        self.ivr_only += other.ivr_only
        self.blocked += other.blocked
        self.wait_answered_s += other.wait_answered_s
        self.wait_total_s += other.wait_total_s
        self.handle_s += other.handle_s
        if other.longest_wait_s > self.longest_wait_s:
            self.longest_wait_s = other.longest_wait_s

    # --- derived ---------------------------------------------------------------------------

    @property
    def denominator(self) -> int:
        return self.offered - self.short_abandons

    @property
    def answer_rate(self) -> float | None:
        return self.answered / self.denominator if self.denominator > 0 else None

    @property
    def service_level(self) -> float | None:
        return self.answered_in_sl / self.denominator if self.denominator > 0 else None

    @property
    def patience_s(self) -> float | None:
        """Mean caller patience, exponential model: queue time of all offered calls over the
        callers who hung up (a queue timeout or an answer only censors patience)."""
        hang_ups = self.abandoned - self.voicemail
        return self.wait_total_s / hang_ups if hang_ups > 0 else None

    @property
    def asa_s(self) -> float | None:
        return self.wait_answered_s / self.answered if self.answered else None

    @property
    def aht_s(self) -> float | None:
        return self.handle_s / self.answered if self.answered else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "offered": self.offered,
            "answered": self.answered,
            "abandoned": self.abandoned,
            "short_abandons": self.short_abandons,
            "voicemail": self.voicemail,
            "answer_rate": _round(self.answer_rate, 4),
            "service_level": _round(self.service_level, 4),
            "asa_s": _round(self.asa_s, 1),
            "aht_s": _round(self.aht_s, 1),
            "longest_wait_s": round(self.longest_wait_s, 1),
            "ivr_only": self.ivr_only,
            "blocked": self.blocked,
        }


def answered_directly(record: CallRecord) -> bool:
    """Answered without entering a queue: the housekeeper the IVR dialled picked up."""
    return record.outcome == "answered" and not record.queue and record.queue_joined_at is None


def is_short_abandon(
    outcome: str,
    wait_s: float | None,
    short_abandon_s: float,
    joined_at: float | None = None,
    left_at: float | None = None,
) -> bool:
    """Caller hung up in the queue quicker than the threshold, the wait counted in whole
    seconds as app_queue counts it (``whole_seconds_wait``), so the count equals what
    queue_log says. The tracker's own verdict is used only when the wait is unknown, so a
    report honours its own threshold."""
    if outcome not in ("abandoned", "short_abandon"):
        return False
    counted = whole_seconds_wait(joined_at, left_at, wait_s)
    if counted is None:
        return outcome == "short_abandon"
    return counted < short_abandon_s


def whole_seconds_wait(
    joined_at: float | None, left_at: float | None, wait_s: float | None
) -> float | None:
    """A queue wait as app_queue counts it (``time(NULL) - qe->start``): the second the
    caller left minus the second it joined; the plain wait when either is unknown."""
    if joined_at is not None and left_at is not None:
        return float(int(left_at) - int(joined_at))
    return wait_s


def tally(records: Iterable[CallRecord], thresholds: Thresholds) -> Tally:
    """One Tally over an iterable of CallRecords."""
    result = Tally()
    for record in records:
        result.add(record, thresholds)
    return result


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)
