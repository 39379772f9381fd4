"""KPIs from the simulator's queue_log and CDR against its own ground truth."""

from __future__ import annotations

import zoneinfo
from pathlib import Path

from callcenter.calls.reconcile import expected_records
from callcenter.metrics.concurrency import bucket_start, line_buckets, spans
from callcenter.metrics.kpis import Thresholds, tally
from callcenter.metrics.report import ReportSpec, report_from_records
from callcenter.sim import TrafficParams
from callcenter.testing import running_simulator

LINES = 12
TH = Thresholds(line_capacity=LINES, short_abandon_s=5.0, service_level_s=20.0)


async def test_kpis_from_durable_records_match_the_simulators_ground_truth(
    tmp_path: Path,
) -> None:
    traffic = TrafficParams(peak_calls_per_hour=900.0, patience_mean_s=60.0)
    async with running_simulator(
        tmp_path / "pbx", seed=11, speed=2000.0, lines=LINES, traffic=traffic
    ) as sim:
        await sim.run(300, timeout=90)
        truths = list(sim.finished)
        zone = zoneinfo.ZoneInfo(sim.config.timezone)
    records = expected_records(
        queue_log=sim.queue_log_path,
        cdr_csv=sim.cdr_path,
        pbx="sim",
        zone=zone,
        short_abandon_s=TH.short_abandon_s,
    )
    got = tally(records.values(), TH)

    offered = [t for t in truths if t.joined_at is not None and t.outcome != "blocked"]
    answered = [t for t in offered if t.outcome == "answered"]
    assert len(truths) == 300
    assert got.offered == len(offered)
    assert got.answered == len(answered)
    assert got.abandoned == len(offered) - len(answered)
    assert got.voicemail == sum(t.outcome == "voicemail" for t in truths)
    assert got.ivr_only == sum(t.outcome == "ivr_only" for t in truths)
    assert got.blocked == sum(t.outcome == "blocked" for t in truths) > 0
    # queue_log counts whole seconds: only waits within a second of a threshold may differ
    near_short = sum(
        1 for t in offered if t.wait is not None and abs(t.wait - TH.short_abandon_s) <= 1
    )
    short = sum(t.outcome == "short_abandon" for t in truths)
    assert abs(got.short_abandons - short) <= near_short
    near_sl = sum(1 for t in answered if abs((t.wait or 0) - TH.service_level_s) <= 1)
    in_sl = sum(1 for t in answered if (t.wait or 0) <= TH.service_level_s)
    assert abs(got.answered_in_sl - in_sl) <= near_sl
    assert got.answer_rate is not None and 0 < got.answer_rate < 1
    truth_asa = sum(t.wait or 0 for t in answered) / len(answered)
    assert got.asa_s is not None and abs(got.asa_s - truth_asa) <= 1.0

    # Lines: the sweep over the recorded calls never exceeds the trunk, reaches it
    # whenever a call was refused, and agrees with the truth's own spans to a second.
    since = bucket_start(min(t.started_at for t in truths))
    until = max(t.ended_at for t in truths) + 1
    from_records = line_buckets(
        spans(records.values()), since=since, until=until, capacity=LINES, high_lines=10
    )
    truth_spans = [(t.started_at, t.ended_at) for t in truths if t.outcome != "blocked"]
    from_truth = line_buckets(truth_spans, since=since, until=until, capacity=LINES, high_lines=10)
    assert max(b.peak for b in from_truth) == LINES
    assert [b.peak for b in from_records] == [b.peak for b in from_truth]
    for mine, true in zip(from_records, from_truth, strict=True):
        assert abs(mine.seconds_full - true.seconds_full) <= 2 * 60  # CDR times: whole seconds

    report = report_from_records(
        list(records.values()), ReportSpec(since, until, thresholds=TH, zone=sim.config.timezone)
    )
    assert report.total.tally == got
    assert report.total.lines is not None and report.total.lines.blocked == got.blocked
