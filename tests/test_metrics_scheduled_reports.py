"""Scheduled reports: when runs fall due and which days they cover (pure), and the files
one run writes into its folder and posts, signed, to a webhook, from real stored calls."""

from __future__ import annotations

import asyncio
import base64
import csv
import io
import json
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from cti_fixtures import serving
from openpyxl import load_workbook  # type: ignore[import-untyped]

import callcenter.metrics.store  # noqa: F401
from callcenter.calls.store import CallStore
from callcenter.cli import main
from callcenter.core.call_record import CallRecord
from callcenter.core.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from callcenter.db import create_engine_for, upgrade
from callcenter.metrics.agent_store import AgentFiguresStore
from callcenter.metrics.kpis import Thresholds
from callcenter.metrics.report_schedule import Run, next_run
from callcenter.metrics.report_scheduler import ReportScheduler
from callcenter.metrics.report_store import ReportStore
from callcenter.metrics.settings import ScheduledReports

TZ = ZoneInfo("Asia/Shanghai")
SECRET = "report-secret-0123456789"
SUNDAY = datetime(2026, 3, 1, 10, 0, tzinfo=TZ).timestamp()


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=TZ).timestamp()


def test_daily_covers_yesterday_and_weekly_the_week_before_on_mondays() -> None:
    both = ScheduledReports(daily=True, weekly=True, at="06:30", folder="out")
    moment, runs = next_run(at("2026-03-02T05:00"), TZ, both)  # a Monday, before 06:30
    assert moment == at("2026-03-02T06:30")
    assert runs == [
        Run("daily", date(2026, 3, 1), date(2026, 3, 1)),
        Run("weekly", date(2026, 2, 23), date(2026, 3, 1)),
    ]
    moment, runs = next_run(at("2026-03-02T06:30"), TZ, both)  # just done: the next day
    assert moment == at("2026-03-03T06:30") and [r.period for r in runs] == ["daily"]
    weekly = ScheduledReports(weekly=True, folder="out")
    moment, runs = next_run(at("2026-03-03T12:00"), TZ, weekly)
    assert moment == at("2026-03-09T06:30") and runs[0].label == "2026-03-02_2026-03-08"
    assert next_run(0.0, TZ, ScheduledReports()) == (float("inf"), [])


def test_settings_refuse_what_cannot_run() -> None:
    problems = ScheduledReports(daily=True, at="25:00", views=["month"], formats=["pdf"],
                                webhook_url="ftp://x", lang="fr").check()  # fmt: skip
    assert set(problems) == {"at", "views", "formats", "webhook_url", "webhook_secret", "lang"}
    assert set(ScheduledReports(daily=True).check()) == {"folder"}
    assert "secret" not in repr(ScheduledReports(webhook_url="https://x", webhook_secret=SECRET))


def call(n: int, agent: str, outcome: str = "answered") -> CallRecord:
    start = SUNDAY + n * 60
    return CallRecord(
        pbx="p", call_id=f"c{n}", hotline="4008001000", started_at=start, queue="support",
        queue_joined_at=start + 5, agent=agent, answered_at=start + 10, ended_at=start + 70,
        outcome=outcome,  # type: ignore[arg-type]
        wait_s=5.0, talk_s=60.0 if outcome == "answered" else None,
    )  # fmt: skip


async def test_a_run_writes_its_files_and_posts_them_signed(tmp_path: Path) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'db.sqlite'}")
    upgrade(engine)
    CallStore(engine).upsert_calls(
        [call(1, "A"), call(2, "=cmd|' /C calc'!A0"), call(3, "", "abandoned")]
    )
    received: list[tuple[dict[str, str], bytes]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append((dict(request.headers), await request.read()))
        return web.Response(status=204)

    receiver = web.Application()
    receiver.router.add_post("/reports", hook)
    now = {"t": at("2026-03-02T05:00")}

    async def sleep(seconds: float) -> None:  # the schedule's wait, on the test's clock
        now["t"] += seconds
        await asyncio.sleep(0)

    async with serving(receiver) as base:
        schedule = ScheduledReports(
            daily=True, folder=str(tmp_path / "out"), webhook_url=f"{base}/reports",
            webhook_secret=SECRET, views=["queue", "agent"], lang="en",
        )  # fmt: skip
        scheduler = ReportScheduler(
            schedule, reports=ReportStore(engine), agents=AgentFiguresStore(engine),
            thresholds=Thresholds(), zone="Asia/Shanghai", clock=lambda: now["t"], sleep=sleep,
        )  # fmt: skip
        scheduler.start()
        for _ in range(2000):  # waits on the condition: the first run delivered
            if scheduler.delivered:
                break
            await asyncio.sleep(0.01)
        await scheduler.stop()
    assert scheduler.delivered >= 1
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == [
        "callcenter-daily-2026-03-01-agent.csv", "callcenter-daily-2026-03-01-agent.xlsx",
        "callcenter-daily-2026-03-01-queue.csv", "callcenter-daily-2026-03-01-queue.xlsx",
    ]  # fmt: skip
    queue_csv = (tmp_path / "out" / names[2]).read_bytes()
    assert queue_csv.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(queue_csv.decode("utf-8-sig"))))
    assert rows[0][:4] == ["group", "offered", "answered", "abandoned"]
    assert rows[1][:4] == ["support", "3", "2", "1"]
    agents = list(csv.reader(io.StringIO((tmp_path / "out" / names[0]).read_text("utf-8-sig"))))
    assert [r[0] for r in agents] == ["agent", "'=cmd|' /C calc'!A0", "A"]  # never a formula
    assert agents[2][2] == "1"  # A answered one call
    book = load_workbook(tmp_path / "out" / names[3])
    assert book["report"]["A2"].value == "support"

    headers, body = received[0]
    assert verify(SECRET, headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
    posted = json.loads(body)
    assert (posted["period"], posted["from"], posted["to"]) == ("daily", "2026-03-01", "2026-03-01")
    files = {f["name"]: base64.b64decode(f["data_base64"]) for f in posted["files"]}
    assert files[names[2]] == queue_csv
    engine.dispose()


def test_a_run_by_hand_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    upgrade(url)
    engine = create_engine_for(url)
    CallStore(engine).upsert_calls([call(1, "A"), call(2, "B")])
    engine.dispose()
    config = tmp_path / "settings.yaml"
    config.write_text(
        f"database:\n  url: {url}\nmetrics:\n  scheduled_reports:\n"
        f"    folder: {tmp_path / 'out'}\n    views: [day]\n    formats: [csv]\n",
        encoding="utf-8",
    )
    assert main(["--config", str(config), "report-send", "--period", "weekly",
                 "--day", "2026-02-23"]) == 0  # fmt: skip
    name = "callcenter-weekly-2026-02-23_2026-03-01-day.csv"
    assert capsys.readouterr().out.splitlines()[-1] == name  # after the log line
    rows = list(csv.reader(io.StringIO((tmp_path / "out" / name).read_text("utf-8-sig"))))
    assert [r[:3] for r in rows if r and r[0] == "2026-03-01"] == [["2026-03-01", "2", "2"]]
    assert main(["--config", str(config), "report-send", "--period", "weekly",
                 "--day", "2026-02-24"]) == 2  # fmt: skip
    assert "Monday" in capsys.readouterr().err
