"""Reports from the database equal a recomputation from the raw records: through SQL
aggregation and through rollups kept as calls are written, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

import callcenter.metrics.store  # noqa: F401  (the rollup tables in the metadata)
from callcenter.calls.store import CallStore
from callcenter.core.call_record import CallRecord, Outcome
from callcenter.metrics.kpis import Thresholds
from callcenter.metrics.report import Report, ReportSpec, report_from_records, reports_agree
from callcenter.metrics.report_store import CallStoreWithRollups, ReportStore

TZ = ZoneInfo("Asia/Shanghai")
DAY0 = datetime(2026, 3, 1, tzinfo=TZ).timestamp()
TH = Thresholds(line_capacity=6, wrapup_s=5.0)
OUTCOMES: list[Outcome] = ["answered"] * 6 + ["abandoned", "short_abandon", "voicemail"]


def synthetic_calls(count: int, seed: int = 3) -> list[CallRecord]:
    rng = random.Random(seed)
    records = []
    at = DAY0
    for n in range(count):
        at += rng.expovariate(1 / 240)
        kind = rng.random()
        outcome: Outcome = (
            "blocked" if kind < 0.05 else "ivr_only" if kind < 0.12 else rng.choice(OUTCOMES)
        )
        queued = outcome not in ("blocked", "ivr_only")
        wait = round(rng.uniform(0, 60), 3) if queued else None
        talk = round(rng.lognormvariate(5, 0.6), 3) if outcome == "answered" else None
        length = 0.0 if outcome == "blocked" else 10 + (wait or 0) + (talk or 0)
        if n % 97 == 0 and outcome != "blocked":
            length += 5000.0  # some calls hold a line for hours, across buckets and midnight
        records.append(
            CallRecord(
                pbx="p",
                call_id=f"c{n}",
                hotline=rng.choice(["4008001000", "4008002000"]),
                started_at=at,
                queue=rng.choice(["support", "repair"]) if queued else "",
                queue_joined_at=at + 10 if queued else None,
                agent=rng.choice(["A1", "A2", "A3"]) if outcome == "answered" else "",
                ended_at=at + length,
                outcome=outcome,
                wait_s=wait,
                talk_s=talk,
            )
        )
    return records


def same(left: Report, right: Report) -> None:
    assert reports_agree(left, right) == []
    assert [r.key for r in left.rows] == [r.key for r in right.rows]


def test_sql_rollup_and_python_reports_agree(engine: Engine) -> None:
    records = synthetic_calls(900)  # about 2.5 days
    # some calls the IVR dialled straight to a housekeeper, who answered: offered, no queue
    for record in [r for r in records if r.outcome == "ivr_only"][::3]:
        record.outcome, record.agent, record.talk_s = "answered", "gj01", 40.0
    calls = CallStoreWithRollups(engine)
    reports = calls.reports
    reports.rebuild(DAY0, DAY0 + 86400, TH)  # rollups on, from an empty table
    for start in range(0, len(records), 50):  # written in batches, as the writer does
        calls.upsert_calls(records[start : start + 50])
    # a correction: a call re-emitted with another outcome is rewritten and refreshed
    fixed = records[10]
    fixed.outcome, fixed.agent, fixed.talk_s = "answered", "A9", 33.0
    calls.upsert_calls([fixed])

    for by in ("interval", "day", "shift", "queue", "hotline", "agent"):
        for interval in (15, 30, 60) if by == "interval" else (30,):
            spec = ReportSpec(
                DAY0,
                DAY0 + 3 * 86400,
                by=by,
                interval_min=interval,
                thresholds=TH,  # type: ignore[arg-type]
            )
            want = report_from_records(records, spec)
            same(reports.report(spec), want)
            same(reports.report(spec, use_rollups=False), want)
    spec = ReportSpec(DAY0, DAY0 + 3 * 86400, thresholds=TH)
    assert reports.report(spec).total.tally.answered > 300
    assert reports.report(spec).total.lines is not None
    assert reports.report(spec).total.lines.seconds_full > 0  # type: ignore[union-attr]


def test_other_thresholds_read_the_raw_calls(engine: Engine) -> None:
    records = synthetic_calls(200)
    CallStore(engine).upsert_calls(records)
    reports = ReportStore(engine)
    reports.rebuild(DAY0, DAY0 + 86400, TH)
    strict = Thresholds(line_capacity=6, short_abandon_s=1.0, service_level_s=5.0)
    spec = ReportSpec(DAY0, DAY0 + 86400, thresholds=strict)
    same(reports.report(spec), report_from_records(records, spec))
    body = reports.report(spec).as_dict()
    assert body["definitions"]["thresholds"]["service_level_s"] == 5.0


def test_interval_report_from_rollups_starting_mid_interval(engine: Engine) -> None:
    # From 07:15 local: the first 30- and 60-minute rows hold only the buckets inside the
    # range, days and intervals without a single call still get their (empty) row.
    records = synthetic_calls(400)
    calls = CallStoreWithRollups(engine)
    calls.upsert_calls(records)
    calls.reports.rebuild(DAY0, DAY0 + 3 * 86400, TH)
    since = DAY0 + 7.25 * 3600
    for until in (DAY0 + 20.75 * 3600, DAY0 + 3 * 86400 + 45 * 60):
        for by, interval in (("interval", 15), ("interval", 30), ("interval", 60), ("day", 30)):
            spec = ReportSpec(since, until, by=by, interval_min=interval, thresholds=TH)  # type: ignore[arg-type]
            got = calls.reports.report(spec)
            want = report_from_records(records, spec)
            same(got, want)
            assert [row.key for row in got.rows] == [row.key for row in want.rows]
    spec = ReportSpec(since, DAY0 + 3 * 86400, interval_min=30, thresholds=TH)
    rows = calls.reports.report(spec).rows
    assert rows[0].key == "2026-03-01 07:00" and rows[-1].key == "2026-03-03 23:30"
    assert rows[-1].tally.offered == 0 and rows[-1].lines is not None
