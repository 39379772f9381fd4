"""A year of a busy 90-line hotline (one million calls) in PostgreSQL: the whole year's
report by 30-minute interval, with concurrent lines.

- ``ms``: the report read from the 15-minute rollups (``ReportStore.report``).
- ``baseline_ms``: plain Python, row by row, over the same rows (fetch every call, fold it
  into interval tallies, sweep starts and ends), measured in the same run.
- ``sql_ms``: the same report aggregated from the raw calls in SQL (no rollups).
The three reports must be equal; the last line is one JSON object.

    .venv/bin/python bench/report.py [--calls 1000000] [--schema NAME [--reuse]]

``--reuse`` keeps the named schema and, on the next run, skips generating and copying the
calls when it already holds ``--calls`` of them, and rebuilding the rollups when they were
built with the same thresholds (``rollup_build_ms`` is then null).
"""

from __future__ import annotations

import argparse
import heapq
import io
import json
import math
import random
import secrets
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import callcenter.metrics.store  # noqa: F401  (rollup tables in the metadata)
from callcenter.core.call_record import CallRecord
from callcenter.db import create_engine_for, upgrade
from callcenter.metrics.kpis import Thresholds
from callcenter.metrics.report import (
    Report,
    ReportSpec,
    report_from_records,
    reports_agree,
)
from callcenter.metrics.report_store import ReportStore
from callcenter.sim.config import DEFAULT_CURVE

ZONE = "Asia/Shanghai"
YEAR = 2026
LINES = 90
COLUMNS = [
    "pbx",
    "call_id",
    "kind",
    "hotline",
    "caller_number",
    "caller_name",
    "started_at",
    "queue",
    "queue_joined_at",
    "queue_left_at",
    "agent",
    "agent_interface",
    "ring_started_at",
    "answered_at",
    "ended_at",
    "outcome",
    "hangup_cause",
    "wait_s",
    "talk_s",
    "ring_s",
    "ivr_s",
    "dtmf",
    "recorded",
    "origin",
    "updated_at",
]


def generate(count: int, seed: int = 2026) -> list[tuple[object, ...]]:
    """Calls over the year: the simulator's hour-of-day curve, quieter weekends, surge days
    (a burst main or a lift outage) that fill the 90 lines; a call finding them all busy
    is refused. Waits grow with the day's load; callers hang up after an exponential
    patience; talk is lognormal."""
    rng = random.Random(seed)
    tz = ZoneInfo(ZONE)
    start = datetime(YEAR, 1, 1, tzinfo=tz).timestamp()
    days = 365
    surge = {d: rng.uniform(9.0, 14.0) for d in rng.sample(range(days), 12)}
    weights: list[float] = []
    for day in range(days):
        weekday = datetime.fromtimestamp(start + day * 86400, tz).weekday()
        factor = (0.7 if weekday >= 5 else 1.0) * surge.get(day, 1.0)
        weights.extend(factor * DEFAULT_CURVE[h] for h in range(24))
    per_hour = count * 1.01 / sum(weights)  # a little extra: the year ends on the count
    rows: list[tuple[object, ...]] = []
    busy: list[float] = []  # end times of calls holding a line
    at = start
    queues = ("support", "repair", "complaint")
    hotlines = ("4008001000", "4008002000", "4008003000")
    for hour, weight in enumerate(weights):
        hour_end = start + (hour + 1) * 3600
        rate = per_hour * weight / 3600
        busy_day = weight > 3
        at = max(at, start + hour * 3600)
        while len(rows) < count:
            at += rng.expovariate(rate)
            if at >= hour_end:
                at = hour_end
                break
            while busy and busy[0] <= at:
                heapq.heappop(busy)
            n = len(rows)
            call_id = f"{int(at)}.{n}"
            hotline = hotlines[0 if rng.random() < 0.6 else rng.randrange(1, 3)]
            if len(busy) >= LINES:
                rows.append(_row(call_id, hotline, at, "", None, "", at, "blocked", None, None, 0))
                continue
            ivr = rng.uniform(4, 12)
            if rng.random() < 0.06:
                end = at + ivr
                rows.append(
                    _row(call_id, hotline, at, "", None, "", end, "ivr_only", None, None, ivr)
                )
            else:
                joined = at + ivr
                queue = queues[rng.randrange(3)]
                wait = rng.expovariate(1 / (90.0 if busy_day else 15.0))
                patience = rng.expovariate(1 / 90.0)
                if patience < wait and patience < 120:
                    outcome = "short_abandon" if patience < 5 else "abandoned"
                    end = joined + patience
                    rows.append(
                        _row(
                            call_id,
                            hotline,
                            at,
                            queue,
                            joined,
                            "",
                            end,
                            outcome,
                            patience,
                            None,
                            ivr,
                        )
                    )
                elif wait > 120:
                    end = joined + 120 + rng.uniform(0, 30)
                    rows.append(
                        _row(
                            call_id,
                            hotline,
                            at,
                            queue,
                            joined,
                            "",
                            end,
                            "voicemail",
                            120.0,
                            None,
                            ivr,
                        )
                    )
                else:
                    talk = rng.lognormvariate(math.log(150), 0.6)
                    end = joined + wait + talk
                    agent = f"Agent {1001 + rng.randrange(40)}"
                    rows.append(
                        _row(
                            call_id,
                            hotline,
                            at,
                            queue,
                            joined,
                            agent,
                            end,
                            "answered",
                            wait,
                            talk,
                            ivr,
                        )
                    )
            heapq.heappush(busy, end)
        if len(rows) >= count:
            break
    return rows


def _row(
    call_id: str,
    hotline: str,
    at: float,
    queue: str,
    joined: float | None,
    agent: str,
    end: float,
    outcome: str,
    wait: float | None,
    talk: float | None,
    ivr: float,
) -> tuple[object, ...]:
    r3 = round
    answered = r3(joined + (wait or 0), 3) if outcome == "answered" and joined else None
    return (
        "pbx1", call_id, "inbound", hotline, "138****0000", "", r3(at, 3), queue,
        r3(joined, 3) if joined else None, None, agent, "", None, answered, r3(end, 3),
        outcome, 16 if outcome != "blocked" else 34, r3(wait, 3) if wait is not None else None,
        r3(talk, 3) if talk is not None else None, None, r3(ivr, 3), "", False, "live", r3(end, 3),
    )  # fmt: skip


def copy_rows(conninfo: str, schema: str, rows: list[tuple[object, ...]]) -> None:
    def text(value: object) -> str:
        if value is None:
            return "\\N"
        if isinstance(value, bool):
            return "t" if value else "f"
        return str(value)

    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        statement = sql.SQL("COPY calls ({}) FROM STDIN").format(
            sql.SQL(", ").join(map(sql.Identifier, COLUMNS))
        )
        with conn.cursor().copy(statement) as copy:
            for first in range(0, len(rows), 50_000):
                chunk = io.StringIO()
                for row in rows[first : first + 50_000]:
                    chunk.write("\t".join(map(text, row)))
                    chunk.write("\n")
                copy.write(chunk.getvalue())
        conn.execute("ANALYZE calls")


def baseline(conninfo: str, schema: str, spec: ReportSpec) -> Report:
    """Row by row in plain Python: every call fetched, made a record, folded."""
    with psycopg.connect(conninfo) as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        cursor = conn.execute(
            "SELECT call_id, kind, hotline, started_at, queue, queue_joined_at, agent,"
            " ended_at, outcome, wait_s, talk_s FROM calls"
        )
        records = [
            CallRecord(
                pbx="pbx1",
                call_id=row[0],
                kind=row[1],
                hotline=row[2],
                started_at=row[3],
                queue=row[4],
                queue_joined_at=row[5],
                agent=row[6],
                ended_at=row[7],
                outcome=row[8],
                wait_s=row[9],
                talk_s=row[10],
            )
            for row in cursor
        ]
    return report_from_records(records, spec)


def _stored_calls(conninfo: str, schema: str) -> int | None:
    """How many calls the schema holds (None if it has no calls table)."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        found = conn.execute("SELECT to_regclass(%s)", [f"{schema}.calls"]).fetchone()
        if found is None or found[0] is None:
            return None
        query = sql.SQL("SELECT count(*) FROM {}.calls").format(sql.Identifier(schema))
        row = conn.execute(query).fetchone()
        return int(row[0]) if row else None


def _vacuum_rollups(conninfo: str, schema: str) -> None:
    """What autovacuum does on a server: a rebuild over a reused schema leaves every old
    rollup row dead, and this database may run with autovacuum off."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        tables = [
            sql.Identifier(schema, name)
            for name in ("call_interval_rollups", "line_interval_rollups")
        ]
        conn.execute(sql.SQL("VACUUM ANALYZE {}").format(sql.SQL(", ").join(tables)))


def timed(run: object, repeat: int) -> tuple[float, object, float]:
    """Median milliseconds, the last result, and the slowest run's milliseconds."""
    times, result = [], None
    for _ in range(repeat):
        result = None  # the previous result is freed before the clock starts
        began = time.perf_counter()
        result = run()  # type: ignore[operator]
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times), result, max(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5432)
    parser.add_argument("--keep", action="store_true", help="keep the schema afterwards")
    parser.add_argument("--schema", help="schema to use (default: a fresh random one)")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep the --schema and reuse its calls on the next run if the count matches",
    )
    args = parser.parse_args()
    if args.reuse and not args.schema:
        parser.error("--reuse needs --schema")
    conninfo = f"host={args.host} port={args.port} dbname=test user=postgres"
    schema = args.schema or f"bench_report_{secrets.token_hex(4)}"
    reused = args.reuse and _stored_calls(conninfo, schema) == args.calls
    if not reused:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    url = f"postgresql+psycopg://postgres@{args.host}:{args.port}/test?options=-csearch_path%3D{schema}"
    engine = create_engine_for(url)
    try:
        upgrade(engine)
        generate_ms = copy_ms = 0.0
        if not reused:
            began = time.perf_counter()
            rows = generate(args.calls)
            generate_ms = (time.perf_counter() - began) * 1000
            began = time.perf_counter()
            copy_rows(conninfo, schema, rows)
            copy_ms = (time.perf_counter() - began) * 1000
            del rows
        tz = ZoneInfo(ZONE)
        spec = ReportSpec(
            since=datetime(YEAR, 1, 1, tzinfo=tz).timestamp(),
            until=datetime(YEAR + 1, 1, 1, tzinfo=tz).timestamp(),
            by="interval",
            interval_min=30,
            zone=ZONE,
            thresholds=Thresholds(line_capacity=LINES),
        )
        store = ReportStore(engine)
        rollup_ms: float | None = None
        if not (reused and store.rollups_ready(spec.thresholds)):
            began = time.perf_counter()
            store.rebuild(spec.since, spec.until, spec.thresholds)
            rollup_ms = (time.perf_counter() - began) * 1000
            _vacuum_rollups(conninfo, schema)
        store.report(spec)  # warm the connection pool and caches
        ms, fast, ms_max = timed(lambda: store.report(spec), 9)
        sql_ms, from_sql, _ = timed(lambda: store.report(spec, use_rollups=False), 1)
        baseline_ms, slow, _ = timed(lambda: baseline(conninfo, schema, spec), 1)
        assert (
            isinstance(fast, Report) and isinstance(slow, Report) and isinstance(from_sql, Report)
        )
        problems = reports_agree(fast, slow) + reports_agree(from_sql, slow)
        for line in problems[:10]:
            print(line, file=sys.stderr)
        equal = not problems
        total = fast.total
        assert total.lines is not None
        summary = {
            "calls": total.tally.offered + total.tally.ivr_only + total.tally.blocked,
            "intervals": len(fast.rows),
            "answer_rate": round(total.tally.answer_rate or 0, 4),
            "peak_lines": total.lines.peak,
            "seconds_full": round(total.lines.seconds_full),
            "blocked": total.lines.blocked,
            "generate_ms": round(generate_ms),
            "copy_ms": round(copy_ms),
            "rollup_build_ms": round(rollup_ms) if rollup_ms is not None else None,
            "reused": reused,
            "sql_ms": round(sql_ms, 1),
            "equal": equal,
            "ms_max": round(ms_max, 1),
            "ms": round(ms, 1),
            "baseline_ms": round(baseline_ms, 1),
            "ratio": round(baseline_ms / ms, 1),
        }
        print(json.dumps(summary))
        return 0 if equal else 1
    finally:
        engine.dispose()
        if not (args.keep or args.reuse):
            with psycopg.connect(conninfo, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


if __name__ == "__main__":
    sys.exit(main())
