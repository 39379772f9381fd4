"""The headless demo's verdict: every call the simulator made against what the service
stored, Asterisk's queue_log and CDR, the simulator's own account, and the report.

``lost``: calls with no row; ``duplicated``: rows beyond one per call (an extra row of a
call, or an inbound row for a call that never was); ``mismatches``: records that differ
from what the durable records say; ``report_equal``: the report's offered, answered,
abandoned and short abandons equal those recomputed from queue_log alone.
"""

from __future__ import annotations

import asyncio
import sys
import time
import zoneinfo
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from callcenter.calls.reconcile import compare_with_durable, queue_log_figures, same_outcome
from callcenter.calls.store import CallStore, calls_table
from callcenter.config import Settings
from callcenter.core.call_record import CallRecord
from callcenter.metrics.kpis import HOUSEKEEPER, Tally, Thresholds
from callcenter.metrics.report import Report, ReportSpec
from callcenter.metrics.report_store import ReportStore
from callcenter.service import Service
from callcenter.sim.pbx import CallOutcome
from callcenter.telephony.durable_tail import DurableTail

QUIET_S = 20.0  # nothing stored for this long, no call open: what is missing stays missing
REPORT_FIGURES = ("offered", "answered", "abandoned", "short_abandons")


async def summarise_run(
    service: Service,
    settings: Settings,
    *,
    truth: list[CallOutcome],
    generated: int,
    records_dir: Path,
    deadline: float,
) -> dict[str, Any]:
    """Once the PBX has ended every call: wait until the service has stored them and
    applied every durable line it read (or stopped storing anything), then check what it
    stored."""
    pbx = settings.pbxes[0].name
    call_ids = [t.call_id for t in truth]
    last, quiet_since = -1, time.monotonic()
    while time.monotonic() < deadline:
        lost, _ = await asyncio.to_thread(
            count_lost_and_duplicated, service.store.engine, pbx, call_ids
        )
        idle = not any(t.open_calls() for t in service.trackers.values())
        # Lines still waiting may correct a stored call (its queue, read after its rows).
        waiting = sum(link.durable_waiting for link in service.links.values())
        if idle and lost == 0 and waiting == 0:
            break
        if lost != last:
            last, quiet_since = lost, time.monotonic()
        elif time.monotonic() - quiet_since > QUIET_S:
            break  # what is missing, or still open, stays so: the summary says
        await asyncio.sleep(0.1)
    await service.settle()
    still_open = sum(len(t.open_calls()) for t in service.trackers.values())
    # Files of calls recorded while nobody listened say so once they are indexed; the PBX
    # has ended every call, so every file is complete.
    await service.recordings.linker.scan_now(settle_s=0.0)
    summary = await reconcile_store(
        service.store,
        pbx=pbx,
        zone=settings.zone,
        short_abandon_s=settings.targets.short_abandon_s,
        truth=truth,
        generated=generated,
        records_dir=records_dir,
        thresholds=Thresholds.from_targets(settings.targets),
        timezone=settings.timezone,
        recordings=service.recordings.linker.root.exists(),
    )
    summary["still_open"] = still_open  # calls the tracker holds open though the PBX ended all
    return summary


async def reconcile_store(
    store: CallStore,
    *,
    pbx: str,
    zone: zoneinfo.ZoneInfo,
    short_abandon_s: float,
    truth: list[CallOutcome],
    generated: int,
    records_dir: Path,
    thresholds: Thresholds | None = None,
    timezone: str = "Asia/Shanghai",
    recordings: bool = True,
) -> dict[str, Any]:
    """The stored calls of one PBX against its queue_log and CDR (in ``records_dir``) and
    the simulator's own account of each call; mismatches are printed to stderr."""
    stored = await asyncio.to_thread(
        store.list_calls,
        since=None,
        until=None,
        outcome=None,
        queue=None,
        pbx=pbx,
        limit=10 * generated + 100,
    )
    inbound_records = [r for r in stored if r.kind == "inbound"]
    report = compare_with_durable(
        inbound_records,
        queue_log=records_dir / "queue_log",
        cdr_csv=records_dir / "Master.csv",
        pbx=pbx,
        zone=zone,
        short_abandon_s=short_abandon_s,
    )
    truth_problems = compare_with_truth(
        inbound_records, truth, short_abandon_s, check_recorded=recordings
    )
    lost, duplicated = await asyncio.to_thread(
        count_lost_and_duplicated, store.engine, pbx, [t.call_id for t in truth]
    )
    outcomes = {o: sum(1 for r in inbound_records if r.outcome == o) for o in _OUTCOMES}
    made = {t.call_id for t in truth}
    summary: dict[str, Any] = {
        "generated": generated,
        "recorded": len(inbound_records),
        "lost": lost,
        "duplicated": duplicated,
        # records of any kind for no call the PBX made (an agent's leg as a call of its own)
        "phantoms": sum(1 for r in stored if r.call_id not in made),
        "answered": outcomes["answered"],
        "abandoned": outcomes["abandoned"] + outcomes["short_abandon"],
        "short_abandons": outcomes["short_abandon"],
        "ivr_only": outcomes["ivr_only"],
        "blocked": outcomes["blocked"],
        "voicemail": outcomes["voicemail"],
        "recovered": sum(1 for r in inbound_records if r.origin == "recovered"),
        "mismatches": report.mismatched_calls,
        "missing": len(report.missing),
        "unexpected": len(report.unexpected),
        "truth_mismatches": len(truth_problems),
    }
    if truth:
        thresholds = thresholds or Thresholds(short_abandon_s=short_abandon_s)
        by_queue = await asyncio.to_thread(run_report, store.engine, truth, thresholds, timezone)
        reported = report_figures(by_queue)
        from_log = queue_log_figures(
            DurableTail(records_dir / "queue_log", None, zone=zone).read_new()[0],
            thresholds.short_abandon_s,
        )
        summary["report"] = reported
        direct = _housekeeper_row(by_queue)
        # the day's figures as docs/metrics.md defines them (housekeepers' answers included)
        summary["answer_rate"] = rounded(by_queue.total.tally.answer_rate)
        summary["service_level"] = rounded(by_queue.total.tally.service_level)
        summary["housekeeper"] = {"offered": direct.offered, "answered": direct.answered}
        summary["queue_log"] = from_log
        summary["report_equal"] = reported == from_log
        if reported != from_log:
            print(f"report {reported} != queue_log {from_log}", file=sys.stderr)
    for line in (report.describe() + truth_problems)[:20]:
        print(line, file=sys.stderr)
    return summary


def run_report(
    engine: Engine, truth: list[CallOutcome], thresholds: Thresholds, timezone: str
) -> Report:
    """What ``callcenter report --by queue`` says for the hours the run's calls started in."""
    hour = 3600.0
    since = min(t.started_at for t in truth) // hour * hour
    until = (max(t.started_at for t in truth) // hour + 1) * hour
    spec = ReportSpec(since=since, until=until, by="queue", zone=timezone, thresholds=thresholds)
    return ReportStore(engine).report(spec)


def report_figures(report: Report) -> dict[str, int]:
    """The report's queue calls: its totals less the housekeeper's direct answers, which
    queue_log never sees (they are counted in ``housekeeper``)."""
    total, direct = report.total.tally, _housekeeper_row(report)
    return {name: int(getattr(total, name)) - int(getattr(direct, name)) for name in REPORT_FIGURES}


def rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _housekeeper_row(report: Report) -> Tally:
    return next((row.tally for row in report.rows if row.key == HOUSEKEEPER), Tally())


def count_lost_and_duplicated(engine: Engine, pbx: str, call_ids: list[str]) -> tuple[int, int]:
    """Counted in the database itself: calls the PBX made that have no row (lost), and
    rows beyond one per call the PBX made (a second row for a call, or an inbound row for
    a call that never was: both would be counted twice in every report)."""
    c = calls_table.c
    query = select(c.call_id, c.kind, func.count()).where(c.pbx == pbx).group_by(c.call_id, c.kind)
    with engine.connect() as connection:
        rows = [(str(r[0]), str(r[1]), int(r[2])) for r in connection.execute(query)]
    made = set(call_ids)
    per_call: dict[str, int] = {}
    for call_id, kind, count in rows:
        if call_id in made or kind == "inbound":
            per_call[call_id] = per_call.get(call_id, 0) + count
    lost = sum(1 for call_id in made if call_id not in per_call)
    duplicated = sum(n - 1 if call_id in made else n for call_id, n in per_call.items())
    return lost, duplicated


def compare_with_truth(
    records: list[CallRecord],
    truth: list[CallOutcome],
    short_abandon_s: float,
    *,
    check_recorded: bool = True,
) -> list[str]:
    """The simulator's own account of each call: outcome exact, waits within a second, the
    agent, and whether it was recorded (``check_recorded``: when MixMonitor's files were
    written, so that a call recorded unseen can be known by its file)."""
    by_id = {r.call_id: r for r in records}
    problems = []
    for want in truth:
        got = by_id.get(want.call_id)
        if got is None:
            problems.append(f"call {want.call_id}: no record")
        elif not same_outcome(got, want.outcome, short_abandon_s, tolerance_s=1.0):
            problems.append(
                f"call {want.call_id}: outcome {got.outcome}, simulator says {want.outcome}"
            )
        elif (got.wait_s is None) != (want.wait is None) or (
            got.wait_s is not None and want.wait is not None and abs(got.wait_s - want.wait) > 1.0
        ):
            problems.append(f"call {want.call_id}: wait {got.wait_s}, simulator says {want.wait}")
        elif want.outcome == "answered" and got.agent != want.agent:
            problems.append(f"call {want.call_id}: agent {got.agent}, simulator says {want.agent}")
        elif check_recorded and got.recorded != want.recorded:
            problems.append(
                f"call {want.call_id}: recorded {got.recorded}, simulator says {want.recorded}"
            )
    return problems


_OUTCOMES = ("answered", "abandoned", "short_abandon", "ivr_only", "blocked", "voicemail")
