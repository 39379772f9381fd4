"""The wallboard: a page for supervisors, a websocket pushing the live counters, and live
monitoring (listen / whisper / barge) of an agent's call.

``WallboardHub.on_event`` is a synchronous ``Service.event_listeners`` entry placed after
``LiveCounters.apply``: it only schedules a push. Pushes are coalesced: the first event
after a push arms a timer (``push_delay_s``, 0.1 s by default), and every event until it
fires rides along, so a burst of events costs one snapshot, sent within half a second.
While a browser is connected it also gets a fresh snapshot every ``refresh_s`` seconds,
so waits keep growing on screen when no event comes.

Staffing alerts: a ``StaffingBelowMinimum`` event (routing's live watch) puts an alert in
the snapshot's ``alerts`` (kind ``staffing``) and a banner on the page; the same event
with ``below`` false, sent when the rule is met again, takes it away.

Wiring: ``setup(app, hub, ami=..., audit=...)`` after the sign-in middleware.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, Protocol

import structlog
from aiohttp import web

from callcenter.core.contracts import QueueNames
from callcenter.core.errors import ApiError
from callcenter.core.events import Event, StaffingBelowMinimum
from callcenter.core.i18n import remember_lang, request_lang
from callcenter.metrics import api_doc as metrics_doc
from callcenter.metrics.agent_board import AgentBoard
from callcenter.metrics.i18n import TEXT
from callcenter.metrics.kpis import Thresholds
from callcenter.metrics.live import LiveCounters
from callcenter.metrics.monitor import (
    MonitorError,
    chanspy_originate,
    check_phone_is_seat,
    parse_request,
)
from callcenter.metrics.wallboard_page import render_wallboard
from callcenter.telephony.ami import AmiActionError, AmiNotConnected
from callcenter.web.openapi import describe
from callcenter.web.outbox import SocketOutbox
from callcenter.web.page_frame import NavLink, add_page, nav_bar
from callcenter.web.security import csrf_token, current_user, page_roles, require_roles, same_origin
from callcenter.web.validation import InvalidInput, read_object

__all__ = ["WallboardHub", "levels", "setup"]

log = structlog.get_logger(__name__)

SOCKET_BACKLOG = 32
Audit = Callable[[str, str, "int | None", str], None]  # CtiRecords.audit


class AmiActions(Protocol):
    async def send_action(
        self, fields: Mapping[str, str | Sequence[str]], timeout: float | None = None
    ) -> dict[str, str]: ...


def levels(snapshot: dict[str, Any], thresholds: Thresholds) -> dict[str, str]:
    """Each figure's colour against the targets: ``ok``, ``warn`` or ``alert``.

    Lines: warn from the high level (80 % of capacity), alert when every line is taken.
    Answer rate and service level: alert under target, warn within 5 points above it.
    Waits: warn past the service-level seconds, alert past twice that.
    """

    def rate(value: float | None, target: float) -> str:
        if value is None:
            return "ok"
        if value < target:
            return "alert"
        return "warn" if value < min(1.0, target + 0.05) - 1e-9 else "ok"

    lines = snapshot["lines_in_use"]
    out = {
        "lines": "alert"
        if lines >= thresholds.line_capacity
        else "warn"
        if lines >= thresholds.high_lines
        else "ok",
        "answer_rate_today": rate(snapshot["today"]["answer_rate"], thresholds.answer_rate_target),
        "answer_rate_hour": rate(snapshot["hour"]["answer_rate"], thresholds.answer_rate_target),
        "service_level_today": rate(
            snapshot["today"]["service_level"], thresholds.service_level_target
        ),
    }
    sl = thresholds.service_level_s
    for queue, slot in snapshot["waiting"].items():
        wait = slot["longest_wait_s"]
        out[f"wait:{queue}"] = "alert" if wait > 2 * sl else "warn" if wait > sl else "ok"
    return out


class WallboardHub:
    """The connected wallboards and the coalesced pushes of ``live.snapshot(now)``."""

    def __init__(
        self,
        live: LiveCounters,
        *,
        clock: Callable[[], float] = time.time,
        push_delay_s: float = 0.1,
        refresh_s: float = 5.0,
        names: Callable[[], Mapping[str, str]] = dict,
        queue_names: QueueNames = lambda _lang: {},
    ) -> None:
        """``names()``: each seat's agent as the directory names them (interface -> name);
        ``queue_names(lang)``: each queue's name in a language (repair -> 报修)."""
        self.live = live
        self.names = names
        self.queue_names = queue_names
        self.board = AgentBoard()
        self.clock = clock
        self.push_delay_s = push_delay_s
        self.refresh_s = refresh_s
        # A snapshot unsent this long drops the socket (a slow one keeps only the newest).
        self.send_timeout_s = 10.0
        self._sockets: set[SocketOutbox] = set()
        self._armed: asyncio.TimerHandle | None = None
        self.pushes = 0  # snapshots sent since start (for tests and /metrics)
        self._understaffed: dict[tuple[str, str], StaffingBelowMinimum] = {}  # (pbx, rule)
        self._below_since: dict[tuple[str, str], float] = {}
        # Alerts other features raise for supervisors (e.g. an agent past the owner-read
        # limit), shown for ``notice_keep_s`` after they were raised; newest last.
        self.notice_keep_s = 3600.0
        self._notices: deque[dict[str, Any]] = deque(maxlen=20)

    @property
    def connected(self) -> int:
        return len(self._sockets)

    def frame(self) -> dict[str, Any]:
        """What a wallboard receives: the snapshot, each seat's state and the colours."""
        body = self.live.snapshot(self.clock())
        seats = self.live.seats()
        body["seats"] = [{"interface": i, "state": s} for i, s in seats.items()]
        body["agent_rows"] = self.board.rows(seats, self.names())
        body["alerts"] = body["alerts"] + self.staffing_alerts() + self.notices()
        body["levels"] = levels(body, self.live.thresholds)
        body["service_level_target"] = self.live.thresholds.service_level_target
        body["service_level_s"] = self.live.thresholds.service_level_s
        # read each time: a name edited in the directory shows without a reload
        body["queue_names"] = {lang: dict(self.queue_names(lang)) for lang in ("zh", "en")}
        return body

    def staffing_alerts(self) -> list[dict[str, Any]]:
        """One alert per staffing rule below its minimum now, oldest first, named as people
        call the rule, with the seats working as last counted."""
        return [
            {
                "kind": "staffing", "rule": e.rule, "have": e.have, "need": e.need,
                "since": self._below_since[key],
                "zh": f"人手不足：{e.title_zh or e.rule} 需要至少 {e.need} 个坐席在线，当前 {e.have} 个",
                "en": f"Understaffed: {e.title_en or e.rule} needs {e.need} seats online, {e.have} now",
            }
            for key, e in sorted(self._understaffed.items(),
                                 key=lambda item: (self._below_since[item[0]], item[1].rule))
        ]  # fmt: skip

    def notices(self) -> list[dict[str, Any]]:
        """The alerts raised through ``notice`` lately, oldest first."""
        horizon = self.clock() - self.notice_keep_s
        return [dict(n) for n in self._notices if float(n.get("since", 0.0)) >= horizon]

    def notice(self, alert: dict[str, Any]) -> None:
        """Show supervisors an alert (``kind``, ``zh``, ``en``, ``since``) on every
        wallboard, at once."""
        self._notices.append({**alert, "since": alert.get("since", self.clock())})
        self._arm()

    def on_event(self, event: Event) -> None:
        """A ``Service.event_listeners`` entry (after ``live.apply``): schedule a push."""
        self.board.apply(event)
        if isinstance(event, StaffingBelowMinimum):
            key = (event.pbx, event.rule)
            if event.below:  # first, or the count moved: the newest count, the first time
                self._understaffed[key] = event
                self._below_since.setdefault(key, event.at)
            else:
                self._understaffed.pop(key, None)
                self._below_since.pop(key, None)
        self._arm()

    def _arm(self) -> None:
        if not self._sockets or self._armed is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # fed outside the event loop (a script): nobody to push to
            return
        self._armed = loop.call_later(self.push_delay_s, self._push)

    def _push(self) -> None:
        self._armed = None
        if not self._sockets:
            return
        text = json.dumps(self.frame(), ensure_ascii=False, default=str)
        self.pushes += 1
        for socket in self._sockets:
            socket.push(text)

    async def serve(
        self, ws: web.WebSocketResponse, transport: asyncio.Transport | None = None
    ) -> None:
        """Run one connected wallboard until it closes: a snapshot now, then pushes.
        ``transport`` (the request's) is cut off when a dropped browser reads nothing."""
        socket = SocketOutbox(
            ws, name="wallboard", limit=SOCKET_BACKLOG, transport=transport, coalesce=True,
            send_timeout_s=self.send_timeout_s,
        )  # fmt: skip
        socket.push(json.dumps(self.frame(), ensure_ascii=False, default=str))
        self._sockets.add(socket)
        pump = asyncio.get_running_loop().create_task(
            socket.run(
                idle_s=self.refresh_s,
                on_idle=lambda: json.dumps(self.frame(), ensure_ascii=False, default=str),
            )
        )
        try:
            async for _message in ws:  # the page sends nothing; pings are automatic
                pass
        finally:
            self._sockets.discard(socket)
            pump.cancel()
            await asyncio.gather(pump, return_exceptions=True)
            await socket.closed()

    def close(self) -> None:
        if self._armed is not None:
            self._armed.cancel()
            self._armed = None


HUB_KEY = web.AppKey("wallboard_hub", WallboardHub)
AMI_KEY: web.AppKey[AmiActions | None] = web.AppKey("wallboard_ami")
AUDIT_KEY: web.AppKey[Audit | None] = web.AppKey("wallboard_audit")
Seats = Callable[[], Collection[str]]  # the interfaces of the routing directory's seats
SEATS_KEY: web.AppKey[Seats] = web.AppKey("wallboard_seats")
WALLBOARD_PAGE = NavLink("/wallboard", *TEXT["nav_wallboard"], ("supervisor", "admin"), order=20)


@page_roles("supervisor", "admin")
async def wallboard_page(request: web.Request) -> web.Response:
    lang = request_lang(request)
    user = current_user(request)
    assert user is not None
    csrf = csrf_token(request)
    tv = request.query.get("tv") in ("1", "true")  # a wall screen: large, no controls
    nav = nav_bar(request, WALLBOARD_PAGE.path)
    html = render_wallboard(lang, user, csrf, request.app[SEATS_KEY](), nav=nav, tv=tv)
    response = web.Response(text=html, content_type="text/html")
    remember_lang(request, response)
    return response


@require_roles("supervisor", "admin")
async def wallboard_socket(request: web.Request) -> web.StreamResponse:
    if not same_origin(request):
        raise ApiError(403, "cross_site", "拒绝跨站连接", "cross-site websocket refused")
    ws = web.WebSocketResponse(heartbeat=20.0)
    await ws.prepare(request)
    await request.app[HUB_KEY].serve(ws, request.transport)
    return ws


@require_roles("supervisor", "admin")
async def wallboard_snapshot(request: web.Request) -> web.Response:
    body = request.app[HUB_KEY].frame()
    return web.json_response(body, dumps=lambda d: json.dumps(d, ensure_ascii=False))


@require_roles("supervisor")
async def start_monitor(request: web.Request) -> web.Response:
    """POST /api/monitor {interface, mode: listen|whisper|barge, phone}: ring the
    supervisor's phone into ChanSpy on the agent's call. Supervisors only; audited."""
    user = current_user(request)
    assert user is not None
    try:  # the body has been checked against the OpenAPI description by @require_roles
        body = await read_object(request)
    except InvalidInput as exc:
        raise exc.error() from None
    try:
        wanted = parse_request(body, default_phone=user.interface)
        check_phone_is_seat(wanted, request.app[SEATS_KEY]())
    except MonitorError as exc:
        raise ApiError(400, "monitor_refused", exc.zh, exc.en) from None
    ami = request.app[AMI_KEY]
    if ami is None:
        raise ApiError(503, "no_pbx", "未连接交换机", "no PBX connection")
    resource = wanted.agent_interface.split("/", 1)[1]
    fields = chanspy_originate(wanted, f'"{wanted.mode} {resource}" <{resource}>')
    audit = request.app[AUDIT_KEY]
    detail = f"{wanted.mode} {wanted.agent_interface} from {wanted.phone}"
    try:
        await ami.send_action(fields)
    except Exception as exc:  # an AmiError of any kind: the PBX said no or is gone
        if audit is not None:
            await asyncio.to_thread(audit, user.login, "monitor_refused", None, detail)
        # the PBX said no (409), the link is down (503) or did not answer (502)
        status = 502
        if isinstance(exc, AmiActionError):
            status = 409
        elif isinstance(exc, AmiNotConnected):
            status = 503
        raise ApiError(
            status, "pbx_refused", f"交换机拒绝：{exc}", f"the PBX refused: {exc}"
        ) from None
    if audit is not None:
        await asyncio.to_thread(audit, user.login, f"monitor_{wanted.mode}", None, detail)
    log.info("live monitoring", supervisor=user.login, mode=wanted.mode,
             agent=wanted.agent_interface, phone=wanted.phone)  # fmt: skip
    return web.json_response(
        {"interface": wanted.agent_interface, "mode": wanted.mode, "phone": wanted.phone,
         "status": "calling"},
        status=202,
    )  # fmt: skip


def setup(
    app: web.Application,
    hub: WallboardHub,
    *,
    ami: AmiActions | None = None,
    audit: Audit | None = None,
    seats: Seats = frozenset,
) -> None:
    """``/wallboard`` (page), ``/ws/wallboard``, ``/api/wallboard`` and ``/api/monitor``.

    ``ami``: an object with ``AmiClient.send_action``; ``audit(login, action, owner_id,
    detail)``: ``CtiRecords.audit`` (rows in ``cti_audit``, read at ``/api/audit``);
    ``seats()``: the seats a supervisor may be rung on (none: monitoring is refused).
    """
    describe(app, metrics_doc.PART)
    app[SEATS_KEY] = seats
    app[HUB_KEY] = hub
    app[AMI_KEY] = ami
    app[AUDIT_KEY] = audit
    app.router.add_get("/wallboard", wallboard_page)
    add_page(app, WALLBOARD_PAGE)
    app.router.add_get("/ws/wallboard", wallboard_socket)
    app.router.add_get("/api/wallboard", wallboard_snapshot)
    app.router.add_post("/api/monitor", start_monitor)

    async def on_cleanup(_app: web.Application) -> None:
        hub.close()

    app.on_cleanup.append(on_cleanup)
