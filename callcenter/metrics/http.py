"""HTTP: ``/reports`` (page with charts), ``/api/reports`` (JSON, CSV, XLSX), ``/api/live``
and Prometheus ``/metrics``.

``setup(app, store, live, thresholds, registry=...)``; reports and the live snapshot are
for supervisors and admins, ``/metrics`` is open to the scraper (bind the web server to a
private address) and renders the service's Prometheus registry (``metrics/prometheus.py``),
in OpenMetrics when the scraper asks for it. Bad parameters get a 400 naming the problem,
in Chinese and English.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from zoneinfo import ZoneInfo

from aiohttp import web
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

from callcenter.core.contracts import QueueNames
from callcenter.core.errors import ApiError
from callcenter.core.i18n import remember_lang, request_lang
from callcenter.metrics import api_doc as metrics_doc
from callcenter.metrics.agent_store import AgentFiguresStore
from callcenter.metrics.export import (
    agents_to_csv,
    agents_to_xlsx,
    csv_file,
    to_csv,
    to_json,
    to_xlsx,
)
from callcenter.metrics.i18n import TEXT
from callcenter.metrics.kpis import Thresholds
from callcenter.metrics.live import LiveCounters
from callcenter.metrics.plan import predicted_by_interval, predictions_from_plan
from callcenter.metrics.report import GROUPINGS, Grouping, ReportSpec
from callcenter.metrics.report_store import ReportStore
from callcenter.metrics.report_views import agent_view, group_view, month_view
from callcenter.metrics.reports_page import VIEWS, render_reports
from callcenter.web.openapi import describe
from callcenter.web.page_frame import NavLink, add_page, nav_bar
from callcenter.web.security import current_user, page_roles, require_roles
from callcenter.web.validation import query_values

__all__ = ["setup"]

STORE_KEY = web.AppKey("metrics_store", ReportStore)
AGENTS_KEY = web.AppKey("metrics_agent_figures", AgentFiguresStore)
LIVE_KEY = web.AppKey("metrics_live", LiveCounters)
THRESHOLDS_KEY = web.AppKey("metrics_thresholds", Thresholds)
ZONE_KEY = web.AppKey("metrics_zone", str)
REGISTRY_KEY = web.AppKey("metrics_registry", CollectorRegistry)
Clock = Callable[[], float]
CLOCK_KEY: web.AppKey[Clock] = web.AppKey("metrics_clock")
PLAN_KEY = web.AppKey("metrics_plan_file", str)
QUEUE_NAMES_KEY: web.AppKey[QueueNames] = web.AppKey("metrics_queue_names")
FIRST_DAY, LAST_DAY = date(1970, 1, 2), date(9999, 12, 30)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def setup(
    app: web.Application,
    store: ReportStore,
    live: LiveCounters,
    thresholds: Thresholds,
    *,
    registry: CollectorRegistry,
    zone: str = "Asia/Shanghai",
    clock: Callable[[], float] = time.time,
    plan_file: str = "",
    queue_names: QueueNames = lambda _lang: {},
) -> None:
    """``queue_names(lang)``: how the pages call each queue (the exports keep the codes)."""
    describe(app, metrics_doc.PART)
    app[PLAN_KEY] = plan_file
    app[QUEUE_NAMES_KEY] = queue_names
    app[STORE_KEY] = store
    app[AGENTS_KEY] = AgentFiguresStore(store.engine)
    app[REGISTRY_KEY] = registry
    app[LIVE_KEY] = live
    app[THRESHOLDS_KEY] = thresholds
    app[ZONE_KEY] = zone
    app[CLOCK_KEY] = clock
    app.router.add_get("/reports", reports_page)
    add_page(app, NavLink("/reports", *TEXT["nav_reports"], ("supervisor", "admin"), order=30))
    app.router.add_get("/api/reports", reports)
    app.router.add_get("/api/reports/agents", agent_report)
    app.router.add_get("/api/live", live_snapshot)
    app.router.add_get("/metrics", metrics)


def _bad(zh: str, en: str) -> ApiError:
    return ApiError(400, "bad_report_query", zh, en)


def _date(request: web.Request, name: str) -> date:
    text = request.query.get(name)
    if not text:
        raise _bad(f"缺少参数 {name}", f"{name} is required (YYYY-MM-DD)")
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise _bad(
            f"{name} 不是日期：{text!r}", f"{name} is not a date YYYY-MM-DD: {text!r}"
        ) from None
    if not FIRST_DAY <= day <= LAST_DAY:  # a local midnight must stay a time Python can hold
        raise _bad(
            f"{name} 须在 {FIRST_DAY} 与 {LAST_DAY} 之间",
            f"{name} must be between {FIRST_DAY} and {LAST_DAY}, got {text!r}",
        )
    return day


def spec_from_query(request: web.Request) -> ReportSpec:
    first, last = _date(request, "from"), _date(request, "to")
    if last < first:
        raise _bad("结束日期早于开始日期", "'to' comes before 'from'")
    if (last - first).days > 400:
        raise _bad("时间范围不能超过 400 天", "the range may not exceed 400 days")
    by = request.query.get("by", "interval")
    if by not in GROUPINGS:
        raise _bad(f"by 应为 {'/'.join(GROUPINGS)}", f"by must be one of {', '.join(GROUPINGS)}")
    interval = request.query.get("interval", "30")
    if interval not in ("15", "30", "60"):
        raise _bad("interval 应为 15、30 或 60", "interval must be 15, 30 or 60")
    zone = request.app[ZONE_KEY]
    tz = ZoneInfo(zone)
    since = datetime.combine(first, clock_time(0), tz).timestamp()
    until = datetime.combine(last + timedelta(days=1), clock_time(0), tz).timestamp()
    return ReportSpec(
        since=since,
        until=until,
        by=by,
        interval_min=int(interval),
        zone=zone,
        thresholds=request.app[THRESHOLDS_KEY],
    )


@require_roles("supervisor", "admin")
async def reports(request: web.Request) -> web.Response:
    """GET /api/reports?from=YYYY-MM-DD&to=YYYY-MM-DD&by=interval&interval=30&format=json"""
    spec = spec_from_query(request)
    query = query_values(request)  # enums checked against the OpenAPI description already
    fmt, lang = query["format"] or "json", query["lang"] or "zh"
    store = request.app[STORE_KEY]
    report = await asyncio.to_thread(store.report, spec)
    name = f"report-{spec.by}-{request.query['from']}-{request.query['to']}"
    if fmt in ("csv", "xlsx"):
        return await _download(fmt, name, lambda: to_csv(report, lang),  # type: ignore[arg-type]
                               lambda: to_xlsx(report, lang))  # type: ignore[arg-type]  # fmt: skip
    return web.Response(text=to_json(report), content_type="application/json")


async def _download(
    fmt: str, name: str, csv_text: Callable[[], str], xlsx_bytes: Callable[[], bytes]
) -> web.Response:
    """A file to save (``csv_file``); XLSX built off the event loop."""
    disposition = {"Content-Disposition": f'attachment; filename="{name}.{fmt}"'}
    if fmt == "csv":
        return web.Response(body=csv_file(csv_text()), content_type="text/csv", charset="utf-8",
                            headers=disposition)  # fmt: skip
    body = await asyncio.to_thread(xlsx_bytes)
    return web.Response(body=body, content_type=XLSX, headers=disposition)


@require_roles("supervisor", "admin")
async def agent_report(request: web.Request) -> web.Response:
    """GET /api/reports/agents?from=YYYY-MM-DD&to=YYYY-MM-DD&format=json"""
    spec = spec_from_query(request)
    query = query_values(request)
    fmt, lang = query["format"] or "json", query["lang"] or "zh"
    figures = await asyncio.to_thread(
        request.app[AGENTS_KEY].figures, spec.since, spec.until, spec.thresholds
    )
    name = f"agents-{request.query['from']}-{request.query['to']}"
    if fmt in ("csv", "xlsx"):
        return await _download(fmt, name, lambda: agents_to_csv(figures, lang),  # type: ignore[arg-type]
                               lambda: agents_to_xlsx(figures, lang))  # type: ignore[arg-type]  # fmt: skip
    body = {"from": request.query["from"], "to": request.query["to"],
            "agents": [f.as_dict() for f in figures]}  # fmt: skip
    return web.json_response(body, dumps=lambda d: json.dumps(d, ensure_ascii=False))


@page_roles("supervisor", "admin")
async def reports_page(request: web.Request) -> web.Response:
    """GET /reports?view=interval&from=YYYY-MM-DD&to=YYYY-MM-DD&interval=30 (default:
    today); the month view takes ?view=month&month=YYYY-MM (default: this month)."""
    lang = request_lang(request)
    zone = ZoneInfo(request.app[ZONE_KEY])
    today = datetime.fromtimestamp(request.app[CLOCK_KEY](), zone).date()
    view = request.query.get("view") or "interval"
    query = {
        "view": view,
        "from": request.query.get("from") or today.isoformat(),
        "to": request.query.get("to") or request.query.get("from") or today.isoformat(),
        "interval": request.query.get("interval") or "30",
    }
    user = current_user(request)
    name = (user.display_name or user.login) if user is not None else ""
    try:
        if view not in VIEWS:
            raise _bad(f"未知的报表视图：{view!r}", f"unknown report view {view!r}")
        if view == "month":
            query["month"] = request.query.get("month") or today.strftime("%Y-%m")
            query["from"], query["to"] = _month_range(query["month"])
        spec = spec_from_query(request.clone(rel_url=request.rel_url.with_query(query)))
    except ApiError as exc:
        error = f"{exc.zh} / {exc.en}"
        html = render_reports(lang, user_name=name, query=query, by_interval=None, error=error,
                              nav=nav_bar(request, "/reports"))  # fmt: skip
        return web.Response(text=html, content_type="text/html", status=400)
    store = request.app[STORE_KEY]
    queue_names = request.app[QUEUE_NAMES_KEY](lang)
    by_interval = None
    predicted = None
    view_html = ""
    if view == "interval":
        by_interval = await asyncio.to_thread(store.report, spec)
        predicted = await asyncio.to_thread(_predicted, request.app[PLAN_KEY], spec)
    elif view == "agent":
        figures = await asyncio.to_thread(
            request.app[AGENTS_KEY].figures, spec.since, spec.until, spec.thresholds
        )
        by_queue = await asyncio.to_thread(store.report, replace(spec, by="queue"))
        view_html = agent_view(lang, figures, by_queue, queue_names)
    elif view == "month":
        view_html = month_view(lang, await asyncio.to_thread(store.report, replace(spec, by="day")))
    else:
        by: Grouping = view  # type: ignore[assignment]  # queue, shift or hotline: in VIEWS
        report = await asyncio.to_thread(store.report, replace(spec, by=by))
        view_html = group_view(lang, report, queue_names)
    html = render_reports(lang, user_name=name, query=query, by_interval=by_interval,
                          thresholds=spec.thresholds, view_html=view_html,
                          predicted=predicted, nav=nav_bar(request, "/reports"))  # fmt: skip
    response = web.Response(text=html, content_type="text/html")
    remember_lang(request, response)
    return response


def _predicted(plan_file: str, spec: ReportSpec) -> dict[str, float] | None:
    """The plan's predicted answer rate per interval of the report, and for its total."""
    if not plan_file or not Path(plan_file).is_file():
        return None
    inside = [p for p in predictions_from_plan(plan_file) if spec.since <= p.start < spec.until]
    by_label = predicted_by_interval(inside, spec.zone, spec.interval_min)
    calls = sum(p.calls for p in inside)
    if calls > 0:
        by_label["total"] = sum(p.answer_rate * p.calls for p in inside) / calls
    return by_label


def _month_range(month: str) -> tuple[str, str]:
    """The first and last day of a month written YYYY-MM."""
    try:
        first = date.fromisoformat(f"{month}-01")
    except ValueError:
        raise _bad(f"month 不是月份：{month!r}", f"month is not YYYY-MM: {month!r}") from None
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first.isoformat(), (following - timedelta(days=1)).isoformat()


@require_roles("supervisor", "admin")
async def live_snapshot(request: web.Request) -> web.Response:
    body = request.app[LIVE_KEY].snapshot(request.app[CLOCK_KEY]())
    return web.json_response(body, dumps=lambda d: json.dumps(d, ensure_ascii=False))


async def metrics(request: web.Request) -> web.Response:
    """GET /metrics: the registry, collected now (the live KPIs are read at this instant)."""
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    body = encode(request.app[REGISTRY_KEY])
    return web.Response(body=body, headers={"Content-Type": content_type,
                                            "X-Content-Type-Options": "nosniff"})  # fmt: skip
