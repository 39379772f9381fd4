"""Recordings over HTTP: search, signed playback with byte ranges, legal hold, QA scores.

Who hears what: supervisors and admins every recording, an agent only recordings of
calls they answered (the call's agent equals ``User.agent``). Every link issued, every
playback request and every refusal is written to the listen audit. Playback goes only
through a signed, short-lived link, and only for an indexed file that resolves inside
the recordings root.

Wiring: ``setup(app, store=RecordingStore(engine), settings=settings)``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import structlog
from aiohttp import web

from callcenter.core.contracts import QueueNames
from callcenter.core.errors import ApiError
from callcenter.core.i18n import remember_lang, request_lang
from callcenter.recordings import api_doc as recordings_doc
from callcenter.recordings.links import PLAY_PREFIX, LinkError, LinkSigner
from callcenter.recordings.maintenance import recordings_root
from callcenter.recordings.page import TEXT as PAGE_TEXT
from callcenter.recordings.page import render_page
from callcenter.recordings.paths import UnsafePath, check_relative, resolve_under
from callcenter.recordings.playback import Unsatisfiable, browser_copy, parse_range
from callcenter.recordings.probe import AudioInfo, MissingTool, ProbeError, probe_audio
from callcenter.recordings.qa import (
    QaError,
    calibration,
    check_scores,
    per_agent_and_criterion,
    roll_up,
    total_percent,
)
from callcenter.recordings.qa_page import QA_TEXT, QaPage, render_qa_page
from callcenter.recordings.rows import Recording
from callcenter.recordings.settings import RecordingsContext
from callcenter.recordings.store import RecordingStore, SearchFilters
from callcenter.web.openapi import describe
from callcenter.web.page_frame import NavLink, add_page, framed_page, nav_bar
from callcenter.web.security import User, csrf_token, current_user, page_roles, require_roles
from callcenter.web.validation import InvalidInput, query_values, read_object

log = structlog.get_logger(__name__)

RECORDINGS_PAGE = NavLink("/recordings", *PAGE_TEXT["nav"], ("agent", "supervisor", "admin"),
                          order=40)  # fmt: skip

CHUNK = 64 * 1024
MAX_ID = 2**63 - 1  # the largest row id SQLite and PostgreSQL hold
_ENCODED_TRICKS = ("%2e", "%2f", "%5c", "%25", "%00")


@dataclass(frozen=True)
class RecordingsApi:
    store: RecordingStore
    settings: RecordingsContext
    root: Path
    cache_dir: Path
    signer: LinkSigner
    clock: Callable[[], float]
    queue_names: QueueNames = lambda _lang: {}  # queue code -> its name (repair -> 报修)


API_KEY: web.AppKey[RecordingsApi] = web.AppKey("recordings_api", RecordingsApi)


def setup(
    app: web.Application,
    *,
    store: RecordingStore,
    settings: RecordingsContext,
    clock: Callable[[], float] = time.time,
    queue_names: QueueNames = lambda _lang: {},
) -> None:
    """``queue_names(lang)``: how the page calls each queue (the API keeps the codes)."""
    rs = settings.recordings
    describe(app, recordings_doc.PART)
    app[API_KEY] = RecordingsApi(
        store=store,
        settings=settings,
        root=recordings_root(settings),
        cache_dir=Path(rs.cache_dir),
        signer=LinkSigner.from_settings(rs.link_secret, rs.link_lifetime_s),
        clock=clock,
        queue_names=queue_names,
    )
    app.router.add_get("/recordings", page)
    app.router.add_get("/recordings/qa", qa_history_page)
    add_page(app, RECORDINGS_PAGE)
    app.router.add_get(PLAY_PREFIX + "{path:.+}", play)
    app.router.add_get("/api/recordings", search)
    app.router.add_get("/api/recordings/qa/criteria", criteria)
    app.router.add_get("/api/recordings/qa/rollup", rollup)
    app.router.add_get("/api/recordings/qa/history", qa_history)
    app.router.add_get("/api/recordings/qa/calibration", qa_calibration)
    app.router.add_get(r"/api/recordings/{rid:\d+}", details)
    app.router.add_post(r"/api/recordings/{rid:\d+}/link", issue_link)
    app.router.add_post(r"/api/recordings/{rid:\d+}/qa", score)
    app.router.add_post(r"/api/recordings/{rid:\d+}/hold", hold)


def can_hear(user: User, row: Recording) -> bool:
    if user.can("supervisor", "admin"):
        return True
    return bool(user.agent) and row.get("agent") == user.agent


async def _row_for(request: web.Request, user: User, action: str) -> Recording:
    api = request.app[API_KEY]
    rid = int(request.match_info["rid"])
    row = await asyncio.to_thread(api.store.get, rid) if rid <= MAX_ID else None
    if row is None or row["missing"]:
        raise ApiError(404, "no_such_recording", "没有这条录音", "no such recording")
    if not can_hear(user, row):
        await asyncio.to_thread(
            api.store.audit, row, login=user.login, role=user.role, action="denied", detail=action
        )
        raise ApiError(
            403, "not_your_call", "只能收听自己接听的通话录音", "you may only hear your own calls"
        )
    return row


def _public(row: Recording) -> dict[str, Any]:
    keys = (
        "id", "path", "pbx", "call_id", "caller_number", "agent", "queue", "work_order",
        "recorded_at", "duration_s", "container", "codec", "size", "sha256", "qa_score",
        "legal_hold", "hold_reason", "probe_error", "part",
    )  # fmt: skip
    columns: dict[str, object] = dict(row)
    return {k: columns[k] for k in keys}


# -- search ------------------------------------------------------------------------------


def _visible_agent(user: User, asked: str | None) -> str | None:
    """Whose recordings and score sheets ``user`` may see: a supervisor the agent asked for
    (None: everyone's), an agent their own only (a user with no agent name: nobody's)."""
    if user.can("supervisor", "admin"):
        return asked or None
    return user.agent or "\x00nobody"


def _filters(request: web.Request, user: User) -> SearchFilters:
    q = query_values(request)  # checked against the OpenAPI description already
    return SearchFilters(
        since=q["since"],
        until=q["until"],
        caller=q["caller"] or None,
        agent=_visible_agent(user, q["agent"]),
        queue=q["queue"] or None,
        work_order=q["work_order"] or None,
        min_duration=q["min_duration"],
        max_duration=q["max_duration"],
        min_score=q["min_score"],
        max_score=q["max_score"],
        call_id=q["call_id"] or None,
    )


@require_roles("agent", "supervisor", "admin")
async def search(request: web.Request) -> web.Response:
    user = current_user(request)
    assert user is not None
    filters = _filters(request, user)
    query = query_values(request)
    limit, offset = query["limit"], query["offset"] or 0
    api = request.app[API_KEY]
    total, rows = await asyncio.to_thread(api.store.search, filters, limit=limit, offset=offset)
    return web.json_response(
        {"total": total, "limit": limit, "offset": offset, "recordings": [_public(r) for r in rows]}
    )


@require_roles("agent", "supervisor", "admin")
async def details(request: web.Request) -> web.Response:
    user = current_user(request)
    assert user is not None
    row = await _row_for(request, user, "details")
    sheets = await asyncio.to_thread(request.app[API_KEY].store.qa_for, row["id"])
    for sheet in sheets:
        sheet["scores"] = json.loads(sheet["scores"])
    return web.json_response({**_public(row), "qa": sheets})


@page_roles("agent", "supervisor", "admin")
async def page(request: web.Request) -> web.Response:
    user = current_user(request)
    assert user is not None
    lang = request_lang(request)
    api = request.app[API_KEY]
    criteria = api.settings.recordings.qa_criteria
    html = render_page(
        lang,
        can_score=user.can("supervisor", "admin"),
        criteria=criteria,
        csrf=csrf_token(request),
        login=user.login,
        nav=nav_bar(request, RECORDINGS_PAGE.path),
        zone=api.settings.zone.key,
        queue_names=api.queue_names(lang),
    )
    response = web.Response(text=html, content_type="text/html", charset="utf-8")
    remember_lang(request, response)
    return response


@page_roles("agent", "supervisor", "admin")
async def qa_history_page(request: web.Request) -> web.Response:
    """GET /recordings/qa?from=YYYY-MM-DD&to=YYYY-MM-DD&agent=... (default: the last 31 days):
    QA per agent and criterion, one agent's sheets, calibration for supervisors. An agent
    sees only their own sheets."""
    user = current_user(request)
    assert user is not None
    lang = request_lang(request)
    api = request.app[API_KEY]
    zone = api.settings.zone
    today = datetime.fromtimestamp(api.clock(), zone).date()
    supervisor = user.can("supervisor", "admin")
    query = {
        "from": request.query.get("from") or (today - timedelta(days=30)).isoformat(),
        "to": request.query.get("to") or today.isoformat(),
        "agent": request.query.get("agent", "") if supervisor else user.agent,
    }
    criteria = api.settings.recordings.qa_criteria
    try:
        first, last = date.fromisoformat(query["from"]), date.fromisoformat(query["to"])
        since = datetime.combine(first, clock_time(0), zone).timestamp()
        until = datetime.combine(last + timedelta(days=1), clock_time(0), zone).timestamp()
        if until <= since:
            raise ValueError("order")
    except (ValueError, OverflowError):
        empty = QaPage(query, criteria, [], [], None, supervisor, zone)
        error = "日期无效（YYYY-MM-DD，结束不早于开始） / dates must be YYYY-MM-DD, 'to' not before 'from'"
        html = _framed_qa(request, render_qa_page(lang, empty, error=error))
        return web.Response(text=html, content_type="text/html", charset="utf-8", status=400)
    sheets = await asyncio.to_thread(api.store.qa_sheets, since, until, _visible_agent(user, None))
    chosen = [s for s in sheets if query["agent"] and s.agent == query["agent"]]
    view = QaPage(
        query=query,
        criteria=criteria,
        by_agent=per_agent_and_criterion(sheets, criteria),
        sheets=chosen,
        calibration=calibration(sheets) if supervisor else None,
        agent_choice=supervisor,
        zone=zone,
    )
    page_html = _framed_qa(request, render_qa_page(lang, view))
    response = web.Response(text=page_html,
                            content_type="text/html", charset="utf-8")  # fmt: skip
    remember_lang(request, response)
    return response


def _framed_qa(request: web.Request, body: str) -> str:
    """The QA history in the site's frame, under the recordings' place in the bar."""
    title = QA_TEXT.text(request_lang(request), "title")
    return framed_page(request, title, RECORDINGS_PAGE.path, body)


# -- playback ----------------------------------------------------------------------------


@require_roles("agent", "supervisor", "admin")
async def issue_link(request: web.Request) -> web.Response:
    user = current_user(request)
    assert user is not None
    api = request.app[API_KEY]
    row = await _row_for(request, user, "link")
    url, expires = api.signer.issue(row["path"], user.login, api.clock())
    await asyncio.to_thread(api.store.audit, row, login=user.login, role=user.role, action="link")
    return web.json_response({"url": url, "expires_at": expires})


async def play(request: web.Request) -> web.StreamResponse:
    api = request.app[API_KEY]
    raw = request.raw_path.split("?", 1)[0].lower()
    if any(trick in raw for trick in _ENCODED_TRICKS):
        raise ApiError(
            400, "unsafe_path", "路径不安全", "encoded dots, slashes or percent signs in the path"
        )
    try:
        relpath = check_relative(request.match_info["path"])
    except UnsafePath as exc:
        raise ApiError(400, "unsafe_path", "路径不安全", str(exc)) from None
    login = request.query.get("u", "")
    try:
        api.signer.verify(
            relpath, login, request.query.get("exp", ""), request.query.get("sig", ""), api.clock()
        )
    except LinkError as exc:
        raise ApiError(403, exc.code, "播放链接无效或已过期", str(exc)) from None
    user = current_user(request)
    if user is not None and user.login != login:
        raise ApiError(
            403,
            "link_of_another_user",
            "这个链接属于另一位用户",
            "this link was issued to another user",
        )
    row = await asyncio.to_thread(api.store.get_by_path, relpath)
    if row is None or row["missing"]:
        raise ApiError(404, "no_such_recording", "没有这条录音", "no such recording")
    role = user.role if user is not None else "link"
    try:
        source = await asyncio.to_thread(resolve_under, api.root, relpath)
        served = await asyncio.to_thread(_browser_file, source, row, api.cache_dir)
    except UnsafePath as exc:
        await asyncio.to_thread(
            api.store.audit, row, login=login, role=role, action="denied", detail=str(exc)
        )
        raise ApiError(403, "unsafe_path", "路径不安全", str(exc)) from None
    except FileNotFoundError:
        raise ApiError(
            404, "recording_file_gone", "录音文件不存在", "the recording file is gone"
        ) from None
    except MissingTool as exc:
        raise ApiError(503, "no_ffmpeg", "服务器缺少转码工具 ffmpeg", str(exc)) from None
    except ProbeError as exc:
        raise ApiError(422, "unreadable_recording", "无法读取录音", str(exc)) from None
    except OSError as exc:  # e.g. the cache's disk is full: the browser copy cannot be made
        reason = exc.strerror or type(exc).__name__
        log.warning("recording browser copy failed", cache_dir=str(api.cache_dir), error=reason)
        raise ApiError(
            503,
            "no_browser_copy",
            f"无法生成可在浏览器播放的录音副本（{reason}），请稍后再试",
            f"the browser copy of this recording cannot be made ({reason}): try again later",
        ) from None
    size = served.stat().st_size
    header = request.headers.get("Range")
    try:
        wanted = parse_range(header, size)
    except Unsatisfiable as exc:
        await asyncio.to_thread(
            api.store.audit, row, login=login, role=role, action="denied", detail=f"416 {exc}"
        )
        raise ApiError(
            416, "range_not_satisfiable", f"请求的范围无效：{exc}", str(exc),
            headers={"Content-Range": f"bytes */{size}"},
        ) from None  # fmt: skip
    first, last = wanted if wanted is not None else (0, size - 1)
    await asyncio.to_thread(
        api.store.audit, row, login=login, role=role, action="play",
        detail=f"bytes {first}-{last}/{size}" if wanted is not None else f"all {size}",
    )  # fmt: skip
    response = web.StreamResponse(status=206 if wanted is not None else 200)
    response.content_type = "audio/wav" if served.suffix == ".wav" else _content_type(served)
    response.headers["Accept-Ranges"] = "bytes"
    response.headers["ETag"] = f'"{row["sha256"]}"'
    response.headers["Cache-Control"] = "private, no-store"
    response.content_length = last - first + 1 if size else 0
    if wanted is not None:
        response.headers["Content-Range"] = f"bytes {first}-{last}/{size}"
    await response.prepare(request)
    if size:
        with open(served, "rb") as handle:
            handle.seek(first)
            remaining = last - first + 1
            while remaining > 0:
                block = handle.read(min(CHUNK, remaining))
                if not block:
                    break
                await response.write(block)
                remaining -= len(block)
    await response.write_eof()
    return response


def _content_type(path: Path) -> str:
    from callcenter.recordings.probe import CONTENT_TYPES

    return CONTENT_TYPES.get(path.suffix.lower().lstrip("."), "application/octet-stream")


def _browser_file(source: Path, row: Recording, cache_dir: Path) -> Path:
    info = AudioInfo(
        row["container"], row["codec"], row["duration_s"], row["sample_rate"], row["channels"]
    )
    if row["probe_error"] or not row["codec"]:
        info = probe_audio(source, row["container"])
    return browser_copy(source, info, row["sha256"], cache_dir)


# -- legal hold and QA ---------------------------------------------------------------------


async def _json_body(request: web.Request) -> dict[str, Any]:
    """The JSON body, which ``@require_roles`` has checked against the OpenAPI description."""
    try:
        return await read_object(request)
    except InvalidInput as exc:  # not JSON, too deep, NaN or a lone surrogate, not an object
        raise exc.error() from None


@require_roles("supervisor", "admin")
async def hold(request: web.Request) -> web.Response:
    user = current_user(request)
    assert user is not None
    body = await _json_body(request)
    reason: str = body.get("reason", "")
    api = request.app[API_KEY]
    row = await _row_for(request, user, "hold")
    await asyncio.to_thread(api.store.set_hold, row["id"], body["hold"], reason)
    await asyncio.to_thread(
        api.store.audit, row, login=user.login, role=user.role,
        action="hold" if body["hold"] else "release", detail=reason,
    )  # fmt: skip
    return web.json_response({"id": row["id"], "legal_hold": body["hold"], "reason": reason})


@require_roles("agent", "supervisor", "admin")
async def criteria(request: web.Request) -> web.Response:
    items = request.app[API_KEY].settings.recordings.qa_criteria
    return web.json_response(
        [
            {"key": c.key, "name_zh": c.name_zh, "name_en": c.name_en, "max_points": c.max_points}
            for c in items
        ]
    )


@require_roles("supervisor", "admin")
async def score(request: web.Request) -> web.Response:
    user = current_user(request)
    assert user is not None
    api = request.app[API_KEY]
    body = await _json_body(request)
    items = api.settings.recordings.qa_criteria
    try:
        scores = check_scores(items, body["scores"])
    except QaError as exc:
        raise ApiError(400, "qa_refused", exc.zh, exc.en) from None
    row = await _row_for(request, user, "qa")
    if not row["agent"]:  # QA scores an agent's handling: a call nobody answered has none
        raise ApiError(409, "qa_no_agent", "这通录音没有接听坐席，无法质检评分",
                       "No agent answered this recording's call: there is nothing to score")  # fmt: skip
    total = total_percent(items, scores)
    await asyncio.to_thread(
        api.store.save_qa, row["id"], reviewer=user.login, agent=row["agent"],
        scores=json.dumps(scores), total=total, comment=body.get("comment", ""),
    )  # fmt: skip
    return web.json_response({"id": row["id"], "scores": scores, "total": total})


def _qa_query(request: web.Request) -> tuple[RecordingsApi, dict[str, Any], str | None]:
    """The QA reports' dependencies, query and the agent whose sheets they cover (None:
    everyone's); an agent's reports cover their own sheets only."""
    user = current_user(request)
    assert user is not None
    query = query_values(request)
    return request.app[API_KEY], query, _visible_agent(user, query.get("agent"))


@require_roles("agent", "supervisor", "admin")
async def rollup(request: web.Request) -> web.Response:
    """Mean QA score per agent and month (of the call); an agent sees their own line."""
    api, query, agent = _qa_query(request)
    rows = await asyncio.to_thread(api.store.qa_rows, query["since"], query["until"])
    rows = [r for r in rows if agent is None or r["agent"] == agent]
    lines = roll_up(((r["agent"], r["recorded_at"], r["total"]) for r in rows), api.settings.zone)
    return web.json_response(
        [
            {
                "agent": m.agent,
                "month": m.month,
                "sheets": m.sheets,
                "mean": m.mean,
                "lowest": m.lowest,
                "highest": m.highest,
            }
            for m in lines
        ]
    )


@require_roles("agent", "supervisor", "admin")
async def qa_history(request: web.Request) -> web.Response:
    """QA per agent and criterion and the sheets themselves; an agent gets their own."""
    api, query, agent = _qa_query(request)
    sheets = await asyncio.to_thread(api.store.qa_sheets, query["since"], query["until"], agent)
    summary = per_agent_and_criterion(sheets, api.settings.recordings.qa_criteria)
    return _json({"agents": [asdict(a) for a in summary], "sheets": [asdict(s) for s in sheets]})


@require_roles("supervisor", "admin")
async def qa_calibration(request: web.Request) -> web.Response:
    api = request.app[API_KEY]
    query = query_values(request)
    sheets = await asyncio.to_thread(api.store.qa_sheets, query["since"], query["until"])
    recordings, reviewers = calibration(sheets)
    return _json(
        {
            "recordings": [{**asdict(r), "spread": r.spread} for r in recordings],
            "reviewers": [asdict(b) for b in reviewers],
        }
    )


def _json(body: dict[str, Any]) -> web.Response:
    """Names stay readable: Chinese is not escaped."""
    return web.json_response(body, dumps=lambda d: json.dumps(d, ensure_ascii=False))
