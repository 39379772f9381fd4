"""KPIs and concurrent lines on hand-computed cases."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from callcenter.core.call_record import CallRecord, Outcome
from callcenter.metrics.concurrency import line_buckets, spans
from callcenter.metrics.kpis import HOUSEKEEPER, Tally, Thresholds, definitions, tally
from callcenter.metrics.report import ReportSpec, report_from_records
from callcenter.metrics.settings import Targets

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=TZ).timestamp()  # 09:00 local, a bucket edge
TH = Thresholds.from_targets(Targets(), wrapup_s=10.0)


def call(
    n: int,
    outcome: Outcome,
    *,
    start: float = 0.0,
    wait: float | None = None,
    talk: float | None = None,
    queue: str = "support",
    agent: str = "",
    duration: float = 60.0,
    kind: str = "inbound",
) -> CallRecord:
    at = T0 + start
    record = CallRecord(
        pbx="p",
        call_id=f"c{n}",
        hotline="4008001000",
        started_at=at,
        queue=queue,
        queue_joined_at=at + 5 if queue else None,
        agent=agent,
        ended_at=at + duration,
        outcome=outcome,
        wait_s=wait,
        talk_s=talk,
    )
    record.kind = kind  # type: ignore[assignment]
    return record


def sample() -> list[CallRecord]:
    return [
        call(1, "answered", wait=10, talk=100, agent="A"),  # in SL
        call(2, "answered", wait=20, talk=200, agent="A"),  # exactly 20 s: in SL
        call(3, "answered", wait=45, talk=60, agent="B"),  # outside SL
        call(4, "abandoned", wait=30),
        call(5, "short_abandon", wait=3),
        call(6, "abandoned", wait=4.9),  # short by the threshold (5 s) though not so marked
        call(7, "voicemail", wait=120),  # queue timeout -> voicemail: abandoned, never short
        call(8, "ivr_only", queue=""),
        call(9, "blocked", queue="", duration=0),
        call(10, "in_progress", wait=None),  # not ended: not counted
        call(11, "answered", wait=1, talk=10, kind="internal"),  # not inbound: not counted
    ]


def test_tally_follows_the_design_definitions() -> None:
    records = sample()
    records[9].ended_at = None
    t = tally(records, TH)
    assert (t.offered, t.answered, t.abandoned, t.short_abandons, t.voicemail) == (7, 3, 4, 2, 1)
    assert (t.ivr_only, t.blocked, t.answered_in_sl) == (1, 1, 2)
    assert t.answer_rate == pytest.approx(3 / 5)  # 3 / (7 - 2)
    assert t.service_level == pytest.approx(2 / 5)
    assert t.asa_s == pytest.approx((10 + 20 + 45) / 3)
    assert t.aht_s == pytest.approx((110 + 210 + 70) / 3)  # talk + 10 s wrap-up
    assert t.longest_wait_s == 120


def test_empty_tally_has_no_rates_and_the_threshold_is_the_reports_own() -> None:
    assert Tally().answer_rate is None and Tally().asa_s is None
    strict = Thresholds(short_abandon_s=3.0)
    t = tally(sample(), strict)
    assert t.short_abandons == 0  # 3 s and 4.9 s are not under 3 s
    assert definitions(strict)["thresholds"]["short_abandon_s"] == 3.0
    assert "answer_rate" in definitions(strict)["zh"]


def test_merging_bucket_tallies_equals_one_tally() -> None:
    records = sample()
    whole = tally(records, TH)
    merged = Tally()
    for record in records:
        merged.merge(tally([record], TH))
    assert merged == whole


def test_report_by_agent_queue_and_interval() -> None:
    records = sample()
    records[2].started_at = T0 + 1800  # 09:30 interval
    spec = ReportSpec(T0, T0 + 3600, by="agent", thresholds=TH)
    rows = {r.key: r.tally for r in report_from_records(records, spec).rows}
    assert rows["A"].answered == 2 and rows["B"].answered == 1
    assert rows["(none)"].offered == 4 and rows["(none)"].answered == 0
    by_interval = report_from_records(records, ReportSpec(T0, T0 + 3600, thresholds=TH))
    keys = [r.key for r in by_interval.rows]
    assert keys == ["2026-03-02 09:00", "2026-03-02 09:30"]
    assert by_interval.rows[1].tally.answered == 1
    assert by_interval.total.tally == tally(records, TH)
    body = by_interval.as_dict()
    assert body["definitions"]["thresholds"]["service_level_s"] == 20.0
    assert body["rows"][0]["peak_lines"] >= 1


def test_shift_report_counts_a_call_in_every_shift_covering_it_and_night_shift_spans_midnight() -> (
    None
):
    day_call = call(1, "answered", start=0, wait=5, talk=10)  # 09:00: both day shifts
    night = call(2, "answered", start=17 * 3600, wait=5, talk=10)  # 02:00 next day
    spec = ReportSpec(T0 - 9 * 3600, T0 + 24 * 3600, by="shift", thresholds=TH)
    rows = {r.key: r.tally.answered for r in report_from_records([day_call, night], spec).rows}
    assert rows["2026-03-02 08:00-20:00"] == 1
    assert rows["2026-03-02 09:00-21:00"] == 1
    assert rows["2026-03-02 20:00-08:00"] == 1  # 02:00 on the 3rd belongs to the 2nd's night


# --- concurrency -------------------------------------------------------------------------


def sweep(pairs: list[tuple[float, float]], capacity: int = 3, high: int = 2) -> list[tuple]:
    out = line_buckets(
        [(T0 + a, T0 + b) for a, b in pairs],
        since=T0,
        until=T0 + 1800,
        capacity=capacity,
        high_lines=high,
    )
    return [(b.peak, b.seconds_high, b.seconds_full) for b in out]


def test_a_call_ending_in_the_second_another_starts_holds_one_line() -> None:
    assert sweep([(0, 10), (10, 20)]) == [(1, 0.0, 0.0), (0, 0.0, 0.0)]
    assert sweep([(0, 10), (5, 20)]) == [(2, 5.0, 0.0), (0, 0.0, 0.0)]
    assert sweep([(0, 10), (0, 10), (0, 10)]) == [(3, 10.0, 10.0), (0, 0.0, 0.0)]


def test_calls_spanning_buckets_count_in_each_and_seconds_split_at_the_edge() -> None:
    # 800..1000 crosses the 900 s edge; 850..950 overlaps it on both sides.
    assert sweep([(800, 1000), (850, 950)]) == [(2, 50.0, 0.0), (2, 50.0, 0.0)]
    # a call from before the range is up at its start; one lasting the whole bucket too
    assert sweep([(-100, 2000)]) == [(1, 0.0, 0.0), (1, 0.0, 0.0)]


def test_calls_across_midnight_in_the_day_and_interval_reports() -> None:
    midnight = datetime(2026, 3, 3, 0, 0, tzinfo=TZ).timestamp()
    a = call(1, "answered", wait=1, talk=600)
    a.started_at, a.ended_at = midnight - 300, midnight + 300
    b = call(2, "answered", wait=1, talk=60)
    b.started_at, b.ended_at = midnight + 100, midnight + 200
    spec = ReportSpec(midnight - 3600, midnight + 3600, by="day", thresholds=TH)
    rows = {r.key: r for r in report_from_records([a, b], spec).rows}
    assert rows["2026-03-02"].lines is not None and rows["2026-03-02"].lines.peak == 1
    assert rows["2026-03-03"].lines is not None and rows["2026-03-03"].lines.peak == 2
    assert rows["2026-03-02"].tally.answered == 1 and rows["2026-03-03"].tally.answered == 1


def test_blocked_calls_hold_no_line_and_are_counted_per_interval() -> None:
    records = [call(1, "answered", wait=1, talk=10, duration=100), call(2, "blocked", start=5)]
    assert spans(records) == [(T0, T0 + 100)]
    report = report_from_records(records, ReportSpec(T0, T0 + 1800, thresholds=TH))
    assert report.rows[0].lines is not None
    assert (report.rows[0].lines.peak, report.rows[0].lines.blocked) == (1, 1)
    assert report.total.tally.blocked == 1


def test_a_call_the_housekeeper_answers_is_offered_and_answered_apart_and_in_totals() -> None:
    direct = call(20, "answered", queue="", agent="gj01", talk=50)  # the IVR dialled gj01
    unanswered = call(21, "ivr_only", queue="")  # hung up in the menu: not offered
    records = [*sample(), direct, unanswered]
    whole = tally(records, TH)
    without = tally([*sample(), unanswered], TH)
    assert whole.offered == without.offered + 1
    assert whole.answered == without.answered + 1
    assert whole.ivr_only == without.ivr_only
    assert whole.answered_in_sl == without.answered_in_sl + 1  # no queue wait: within SL
    spec = ReportSpec(T0, T0 + 3600, by="queue", thresholds=TH)
    rows = {row.key: row.tally for row in report_from_records(records, spec).rows}
    assert (rows[HOUSEKEEPER].offered, rows[HOUSEKEEPER].answered) == (1, 1)
    assert report_from_records(records, spec).total.tally.answered == whole.answered
    assert "housekeeper" in definitions(TH)["en"]["offered"]
