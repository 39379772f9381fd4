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
from zoneinfo import ZoneInfo

from aiohttp import web
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

from callcenter.core.errors import ApiError
from callcenter.core.i18n import remember_lang, request_lang
from callcenter.metrics import api_doc as metrics_doc
from callcenter.metrics.export import to_csv, to_json, to_xlsx
from callcenter.metrics.i18n import TEXT
from callcenter.metrics.kpis import Thresholds
from callcenter.metrics.live import LiveCounters
from callcenter.metrics.report import GROUPINGS, ReportSpec
from callcenter.metrics.report_store import ReportStore
from callcenter.metrics.reports_page import render_reports
from callcenter.web.openapi import describe
from callcenter.web.page_frame import NavLink, add_page, nav_bar
from callcenter.web.security import current_user, page_roles, require_roles
from callcenter.web.validation import query_values

__all__ = ["setup"]

STORE_KEY = web.AppKey("metrics_store", ReportStore)
LIVE_KEY = web.AppKey("metrics_live", LiveCounters)
THRESHOLDS_KEY = web.AppKey("metrics_thresholds", Thresholds)
ZONE_KEY = web.AppKey("metrics_zone", str)
REGISTRY_KEY = web.AppKey("metrics_registry", CollectorRegistry)
Clock = Callable[[], float]
CLOCK_KEY: web.AppKey[Clock] = web.AppKey("metrics_clock")
FIRST_DAY, LAST_DAY = date(1970, 1, 2), date(9999, 12, 30)


def setup(
    app: web.Application,
    store: ReportStore,
    live: LiveCounters,
    thresholds: Thresholds,
    *,
    registry: CollectorRegistry,
    zone: str = "Asia/Shanghai",
    clock: Callable[[], float] = time.time,
) -> None:
    describe(app, metrics_doc.PART)
    app[STORE_KEY] = store
    app[REGISTRY_KEY] = registry
    app[LIVE_KEY] = live
    app[THRESHOLDS_KEY] = thresholds
    app[ZONE_KEY] = zone
    app[CLOCK_KEY] = clock
    app.router.add_get("/reports", reports_page)
    add_page(app, NavLink("/reports", *TEXT["nav_reports"], ("supervisor", "admin"), order=30))
    app.router.add_get("/api/reports", reports)
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
    if fmt == "csv":
        # UTF-8 with a byte-order mark so spreadsheet programs read the Chinese headers
        body = ("\ufeff" + to_csv(report, lang)).encode("utf-8")  # type: ignore[arg-type]
        return web.Response(
            body=body,
            content_type="text/csv",
            charset="utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    if fmt == "xlsx":
        data = await asyncio.to_thread(to_xlsx, report, lang)  # type: ignore[arg-type]
        return web.Response(
            body=data,
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
        )
    return web.Response(text=to_json(report), content_type="application/json")


@page_roles("supervisor", "admin")
async def reports_page(request: web.Request) -> web.Response:
    """GET /reports?from=YYYY-MM-DD&to=YYYY-MM-DD&interval=30 (default: today)."""
    lang = request_lang(request)
    zone = ZoneInfo(request.app[ZONE_KEY])
    today = datetime.fromtimestamp(request.app[CLOCK_KEY](), zone).date().isoformat()
    query = {
        "from": request.query.get("from") or today,
        "to": request.query.get("to") or request.query.get("from") or today,
        "interval": request.query.get("interval") or "30",
    }
    user = current_user(request)
    name = (user.display_name or user.login) if user is not None else ""
    try:
        spec = spec_from_query(request.clone(rel_url=request.rel_url.with_query(query)))
    except ApiError as exc:
        error = f"{exc.zh} / {exc.en}"
        html = render_reports(lang, user_name=name, query=query, by_interval=None,
                              by_agent=None, error=error, nav=nav_bar(request, "/reports"))  # fmt: skip
        return web.Response(text=html, content_type="text/html", status=400)
    store = request.app[STORE_KEY]
    by_interval = await asyncio.to_thread(store.report, spec)
    by_agent = await asyncio.to_thread(store.report, replace(spec, by="agent"))
    html = render_reports(lang, user_name=name, query=query, by_interval=by_interval,
                          by_agent=by_agent, nav=nav_bar(request, "/reports"))  # fmt: skip
    response = web.Response(text=html, content_type="text/html")
    remember_lang(request, response)
    return response


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
