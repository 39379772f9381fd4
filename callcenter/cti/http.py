"""The seat's HTTP side: page, websocket, seat actions, owners, work orders, audit.

Every route declares its roles. An agent works on their own seat (``User.interface``),
sees their own work orders (raised by or assigned to them) and cannot read the audit
trail; supervisors and admins may name another seat or agent. A wrap-up or work order is
stored on the call it names, which must be one the user may write on
(``callcenter.cti.call_access``). An agent reads owners of the calls in hand at their
seat, any other only with a reason and within a rate limit
(``callcenter.cti.owner_access``); every owner read is audited. Wiring:
``setup(app, CtiDeps(...))`` after ``callcenter.cti.signin.setup``.
"""

from __future__ import annotations

import asyncio
import secrets
import time
import zoneinfo
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import structlog
from aiohttp import web

from callcenter.core.call_record import CallRecord
from callcenter.core.contracts import SeatFacts
from callcenter.core.errors import ApiError
from callcenter.core.i18n import remember_lang, request_lang
from callcenter.core.webhook import WebhookQueue
from callcenter.cti import api_doc as cti_doc
from callcenter.cti.agent_day import agent_day
from callcenter.cti.call_access import (
    CallRefused,
    CallTarget,
    check_work_order_caller,
    open_call_facts,
    resolve_call,
)
from callcenter.cti.callback_store import CallbackRecords
from callcenter.cti.callbacks import CallbackError, RetryPolicy, cancel, dialled, new_callback
from callcenter.cti.dialling import DialRefused, check_dial
from callcenter.cti.i18n import TEXT, catalogue
from callcenter.cti.lookup import OwnerDirectory
from callcenter.cti.owner_access import (
    REASON_MAX,
    Basis,
    OwnerReadLimiter,
    OwnerReadRefused,
    limit_alert,
    limit_refusal,
    owners_in_hand,
    read_basis,
)
from callcenter.cti.owner_search import SearchRefused, clean_query, search_owners, summary
from callcenter.cti.phones import PhoneError, normalize
from callcenter.cti.records import CtiRecords
from callcenter.cti.screenpop import SeatHub
from callcenter.cti.seat_page import render_seat_page
from callcenter.cti.settings import CtiSettings, DiallingSettings
from callcenter.cti.signin import AUTH_KEY, current_session
from callcenter.cti.transfers import TransferRefused, agent_channel, plan_transfer
from callcenter.cti.workorders import WorkOrder, WorkOrderError, timer, validate_new
from callcenter.log import mask_number, mask_numbers_in
from callcenter.telephony.ami import AmiActionError, AmiNotConnected
from callcenter.web.openapi import describe
from callcenter.web.page_frame import NavLink, add_page, nav_bar
from callcenter.web.security import ROLES, Role, User, current_user, page_roles, require_roles
from callcenter.web.validation import InvalidInput, query_values, read_object

log = structlog.get_logger(__name__)

ANY: tuple[Role, ...] = ROLES
SEAT_PAGE = NavLink("/seat", *TEXT["seat"], ANY, order=10, needs_seat=True)


class AmiActions(Protocol):
    """What the seat needs of ``callcenter.telephony.ami.AmiClient``."""

    async def send_action(
        self, fields: Mapping[str, str | Sequence[str]], timeout: float | None = None
    ) -> dict[str, str]: ...


@dataclass
class CtiDeps:
    records: CtiRecords
    directory: OwnerDirectory
    hub: SeatHub
    ami: AmiActions | None = None
    webhook: WebhookQueue | None = None
    settings: CtiSettings = field(default_factory=CtiSettings)
    dialling: DiallingSettings = field(default_factory=DiallingSettings)
    zone: zoneinfo.ZoneInfo = field(default_factory=lambda: zoneinfo.ZoneInfo("Asia/Shanghai"))
    clock: Callable[[], float] = time.time
    # The PBX's now (the simulator's in the demo): an agent's day is the calls and states
    # the PBX reported, so "today" is the PBX's today.
    pbx_now: Callable[[], float] = time.time
    # A call still in progress as the tracker has it, by (pbx, call id): None when none.
    open_call: Callable[[str, str], CallRecord | None] = lambda pbx, call_id: None
    # Owner reads outside an agent's calls in hand, per user (cti.owner_reads_*).
    owner_reads: OwnerReadLimiter = field(default_factory=lambda: OwnerReadLimiter(20, 600.0))
    # Tells supervisors (the wallboard's alerts) that an agent reached the owner-read limit.
    alert: Callable[[dict[str, Any]], None] = lambda alert: None
    # Callbacks (回电, 回访); None: the routes answer 503 (a test app without them)
    callbacks: CallbackRecords | None = None
    # The PBX that serves a seat's phone (the one its Originate goes to)
    pbx_of_seat: Callable[[str], str] = lambda seat: ""
    # Seat labels, zone names and agent-state time (routing's), when routing runs.
    seat_facts: SeatFacts | None = None
    # Other features' pieces of the seat page (trusted HTML and script; seat_page.py).
    page_parts: list[str] = field(default_factory=list)
    # A housekeeper's name -> their seat's interface ("" when they have none).
    housekeeper_seat: Callable[[str], str] = lambda name: ""

    @property
    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(
            self.settings.callback_max_attempts,
            self.settings.callback_retry_delay_s,
            self.settings.callback_overdue_after_s,
        )


DEPS_KEY: web.AppKey[CtiDeps] = web.AppKey("cti_deps", CtiDeps)


def _refused(exc: CallRefused) -> ApiError:
    return ApiError(exc.status, "call_refused", exc.zh, exc.en)


async def _body(request: web.Request) -> dict[str, Any]:
    """The JSON body, which ``@require_roles`` has checked against the OpenAPI description."""
    try:
        return await read_object(request)
    except InvalidInput as exc:
        raise exc.error() from None


def _user(request: web.Request) -> User:
    user = current_user(request)
    assert user is not None  # require_roles ran first
    return user


def _seat(request: web.Request) -> str:
    """The agent's own seat; supervisors and admins may name one with ``?interface=``."""
    user = _user(request)
    asked = request.query.get("interface", "")
    if asked and user.role in ("supervisor", "admin"):
        return asked
    if not user.interface:
        raise ApiError(
            409, "no_seat", "此账号没有绑定坐席分机", "this account has no seat phone (interface)"
        )
    return user.interface


def _pbx_failed(exc: Exception) -> ApiError:
    """The PBX said no (409: e.g. a seat in no queue), the request cannot go to it as it is
    (400: a line break in a field), or the link is down (503) or failed (502)."""
    if isinstance(exc, AmiActionError):
        return ApiError(409, "pbx_refused", f"交换机拒绝：{exc}", f"the PBX refused: {exc}")
    if isinstance(exc, ValueError):
        return ApiError(
            400, "pbx_unsendable", f"无法发送给交换机：{exc}", f"cannot be sent to the PBX: {exc}"
        )
    if isinstance(exc, AmiNotConnected):
        return ApiError(503, "no_pbx", f"未连接交换机：{exc}", f"no PBX connection: {exc}")
    return ApiError(
        502, "pbx_no_answer", f"交换机没有应答：{exc}", f"the PBX did not answer: {exc}"
    )


def _ami(request: web.Request) -> AmiActions:
    ami = request.app[DEPS_KEY].ami
    if ami is None:
        raise ApiError(503, "no_pbx", "未连接交换机", "no PBX connection")
    return ami


# --- page and websocket ---------------------------------------------------------------------


@page_roles(*ANY)
async def seat_page(request: web.Request) -> web.Response:
    lang = request_lang(request)
    user = _user(request)
    session = current_session(request)
    assert session is not None
    deps = request.app[DEPS_KEY]
    facts = deps.seat_facts
    label = facts.seat_label(user.interface) if facts and user.interface else ""
    zones = dict(facts.zone_names(lang)) if facts else {}
    html = render_seat_page(
        lang,
        user,
        session.csrf_token,
        catalogue(lang),
        nav_bar(request, SEAT_PAGE.path),
        label,
        zones,
        deps.page_parts,
        follow_up_after_s=deps.settings.satisfaction_followup_after_s,
        time_zone=deps.zone.key,
        transfer_targets=_transfer_targets(facts, lang, user.interface),
    )
    response = web.Response(text=html, content_type="text/html")
    remember_lang(request, response)
    return response


def _transfer_targets(
    facts: SeatFacts | None, lang: str, own_seat: str
) -> dict[str, list[tuple[str, str]]]:
    """What the transfer form offers: the other seats by label, the queues by name (each
    with the value the API takes: the seat's interface, the queue's code)."""
    if facts is None:
        return {}
    seats = [(i, label) for i, label in facts.seat_labels().items() if i != own_seat]
    queues = list(facts.queue_names(lang).items())
    return {"seat": sorted(seats, key=lambda s: s[1]), "queue": sorted(queues, key=lambda q: q[1])}


@require_roles(*ANY)
async def seat_socket(request: web.Request) -> web.StreamResponse:
    if not request.app[AUTH_KEY].same_origin(request):
        raise ApiError(403, "cross_site", "拒绝跨站连接", "cross-site websocket refused")
    seat = _seat(request)
    ws = web.WebSocketResponse(heartbeat=20.0)
    await ws.prepare(request)
    await request.app[DEPS_KEY].hub.serve(seat, ws, request.transport)
    return ws


@require_roles(*ANY)
async def current_pops(request: web.Request) -> web.Response:
    return web.json_response({"pops": request.app[DEPS_KEY].hub.current(_seat(request))})


@require_roles(*ANY)
async def close_pop(request: web.Request) -> web.Response:
    """The agent is done with an ended call: its card leaves the seat's screens."""
    body = await _body(request)
    closed = request.app[DEPS_KEY].hub.close(_seat(request), body["pbx"], body["call_id"])
    return web.json_response({"closed": closed})


# --- the call an action is for ---------------------------------------------------------------


async def _call_target(request: web.Request, pbx: str, call_id: str) -> CallTarget:
    """The call named by the form, if this user may write on it (else 400/403/404)."""
    deps = request.app[DEPS_KEY]
    popped = deps.hub.recent.seats_of(pbx, call_id) if pbx else []
    stored = await asyncio.to_thread(deps.records.stored_call, pbx, call_id) if pbx else None
    if stored is None and pbx:
        in_progress = deps.open_call(pbx, call_id)
        stored = open_call_facts(in_progress) if in_progress is not None else None
    try:
        return resolve_call(_user(request), pbx, call_id, popped, stored)
    except CallRefused as exc:
        log.info("action refused on a call", call_id=call_id, status=exc.status, reason=exc.en)
        raise _refused(exc) from None


# --- seat actions ---------------------------------------------------------------------------


@require_roles("agent", "supervisor", "admin")
async def pause(request: web.Request) -> web.Response:
    body = await _body(request)
    seat = _seat(request)
    paused: bool = body.get("paused", False)
    reason: str = body.get("reason", "")
    fields = {"Action": "QueuePause", "Interface": seat, "Paused": "true" if paused else "false"}
    if paused and reason:
        fields["Reason"] = reason
    if body.get("queue"):
        fields["Queue"] = body["queue"]
    ami = _ami(request)
    try:
        await ami.send_action(fields)
    except Exception as exc:  # an AmiError of any kind: the PBX said no or is gone
        raise _pbx_failed(exc) from None
    log.info("seat paused" if paused else "seat ready", seat=seat, reason=reason)
    return web.json_response({"interface": seat, "paused": paused, "reason": reason})


async def _originate(
    request: web.Request, seat: str, number: str, caller_id: str, channel_id: str = ""
) -> str:
    """Ring ``seat``, then ``number``; ``channel_id``: the Uniqueid the seat's channel takes
    (and so the call's id), for an action that must find its call again."""
    deps = request.app[DEPS_KEY]
    try:
        phone = normalize(number, default_area_code=deps.settings.default_area_code)
    except PhoneError as exc:
        raise ApiError(400, "bad_number", exc.zh, exc.en) from None
    try:
        dial = check_dial(number, phone, deps.dialling)
    except DialRefused as exc:
        log.info("dial refused", seat=seat, number=mask_number(phone.key), reason=exc.en)
        raise ApiError(400, "dial_refused", f"号码：{exc.zh}", f"number: {exc.en}") from None
    fields = {
        "Action": "Originate",
        "Channel": seat,
        "Context": deps.settings.originate_context,
        "Exten": dial,
        "Priority": "1",
        "CallerID": caller_id,
        "Async": "true",
        "Timeout": "30000",
    }
    if channel_id:
        fields["ChannelId"] = channel_id
    ami = _ami(request)
    try:
        await ami.send_action(fields)
    except Exception as exc:
        raise _pbx_failed(exc) from None
    log.info("click-to-call", seat=seat, number=mask_number(dial))
    return dial


@require_roles(*ANY)
async def click_to_call(request: web.Request) -> web.Response:
    body = await _body(request)
    user = _user(request)
    seat = _seat(request)
    dial = await _originate(request, seat, body["number"], user.display_name)
    return web.json_response({"interface": seat, "number": dial, "status": "calling"}, status=202)


@require_roles(*ANY)
async def disposition(request: web.Request) -> web.Response:
    """The wrap-up of the call the form names (需回电 is the ``callback`` disposition)."""
    body = await _body(request)
    records = request.app[DEPS_KEY].records
    call = await _call_target(request, body["pbx"], body["call_id"])
    await asyncio.to_thread(
        records.save_disposition,
        call.pbx,
        call.call_id,
        _user(request).login,
        body["disposition"],
        body.get("note", ""),
    )
    return web.json_response(
        {
            "saved": True,
            "pbx": call.pbx,
            "call_id": call.call_id,
            "disposition": body["disposition"],
        }
    )


@require_roles(*ANY)
async def transfer(request: web.Request) -> web.Response:
    """Blind or attended transfer of the named call from this seat to another seat, a queue
    or the caller's housekeeper (``BlindTransfer`` / ``Atxfer``); kept in the call's history
    (the audit trail names the call, the mode and the target)."""
    body = await _body(request)
    deps = request.app[DEPS_KEY]
    user, seat = _user(request), _seat(request)
    call = await _call_target(request, body["pbx"], body["call_id"])
    channel = agent_channel(deps.open_call(call.pbx, call.call_id), seat)
    if channel is None:
        raise ApiError(
            409, "not_talking", "该来电不在您的座席通话中", "the call is not up at your seat"
        )
    seen = deps.hub.recent.at_seat(seat, call.pbx, call.call_id)
    owners = [deps.directory.index.owner(i) for i in (seen.owner_ids if seen else ())]
    keepers = [deps.housekeeper_seat(o.housekeeper) for o in owners if o and o.housekeeper]
    try:
        plan = plan_transfer(
            body["mode"], body["to"], body.get("target", ""), channel=channel, seat=seat,
            context=deps.settings.transfer_context, housekeeper_seats=keepers,
        )  # fmt: skip
    except TransferRefused as exc:
        raise ApiError(exc.status, "transfer_refused", exc.zh, exc.en) from None
    try:
        await _ami(request).send_action(plan.fields)
    except Exception as exc:  # an AmiError of any kind: the PBX said no or is gone
        raise _pbx_failed(exc) from None
    detail = f"{call.pbx}/{call.call_id} {body['mode']} -> {body['to']} {plan.target}"
    owner_id = owners[0].id if owners and owners[0] else None
    await asyncio.to_thread(deps.records.audit, user.login, "transfer", owner_id, detail)
    log.info("transfer", seat=seat, call_id=call.call_id, mode=body["mode"], target=plan.target)
    facts = deps.seat_facts
    label = facts.seat_label(plan.interface) if facts and plan.interface else ""
    if facts and body["to"] == "queue":  # the queue as the agent knows it (报修, not repair)
        label = facts.queue_names(request_lang(request)).get(plan.target, "")
    return web.json_response(
        {"pbx": call.pbx, "call_id": call.call_id, "mode": body["mode"], "to": body["to"],
         "target": plan.exten, "target_label": label or plan.target},
        status=202,
    )  # fmt: skip


def _agent_asked(request: web.Request) -> str:
    """The agent's own queue-member name; supervisors and admins may name one (``?agent=``)."""
    user = _user(request)
    if user.role in ("supervisor", "admin") and request.query.get("agent"):
        return request.query["agent"]
    return user.agent


def _midnight(deps: CtiDeps) -> float:
    """The start of the PBX's today, for the seat's own calls and day."""
    now = datetime.fromtimestamp(deps.pbx_now(), deps.zone)
    return now.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


@require_roles(*ANY)
async def today_calls(request: web.Request) -> web.Response:
    deps = request.app[DEPS_KEY]
    agent, midnight = _agent_asked(request), _midnight(deps)
    calls = await asyncio.to_thread(deps.records.calls_of_agent, agent, midnight) if agent else []
    return web.json_response({"agent": agent, "since": midnight, "calls": calls})


@require_roles(*ANY)
async def my_day(request: web.Request) -> web.Response:
    """The agent's own day: calls taken, talk time, average handling, pause time by reason,
    the seat's state now and since when."""
    deps = request.app[DEPS_KEY]
    seat, midnight, now = _seat(request), _midnight(deps), deps.pbx_now()
    agent = _agent_asked(request)
    calls = await asyncio.to_thread(deps.records.calls_of_agent, agent, midnight) if agent else []
    facts = deps.seat_facts
    spans = await facts.state_spans(seat, midnight, now) if facts is not None else []
    day = agent_day(calls, spans)
    paused = facts.seat_paused(seat) if facts is not None else False
    return web.json_response(
        {"agent": agent, "interface": seat, "since": midnight, "paused": paused, **day}
    )


# --- owners and audit -----------------------------------------------------------------------


def _owner_refused(exc: OwnerReadRefused) -> ApiError:
    if exc.status == 429:
        retry = str(max(1, round(exc.retry_after_s)))
        return ApiError(429, "owner_reads_limit", exc.zh, exc.en, headers={"Retry-After": retry})
    return ApiError(403, "owner_read_refused", exc.zh, exc.en)


async def _limit_reached(deps: CtiDeps, login: str, count: int, now: float) -> None:
    """Supervisors hear of it once per crossing: a log line, an audit row, the
    wallboard's alerts and the webhook."""
    window = deps.settings.owner_reads_window_s
    log.warning("owner_reads_limit_exceeded", login=login, count=count, window_s=window)
    await asyncio.to_thread(
        deps.records.audit, login, "owner_reads_limit", None, f"{count} reads in {window:g} s"
    )
    alert = limit_alert(login, count, window, now)
    deps.alert(alert)
    if deps.webhook is not None:
        deps.webhook.send("owner_reads.limit", alert)


async def _read_basis(
    request: web.Request, wanted: Collection[int], action: str, owner_id: int | None
) -> tuple[Basis, str]:
    """Whether this user may read the owners ``wanted`` now (else 403 or 429, audited),
    and the audit detail saying on what basis."""
    deps = request.app[DEPS_KEY]
    user = _user(request)
    reason = " ".join(request.query.get("reason", "").split())[:REASON_MAX]
    now = deps.clock()
    calls = deps.hub.recent.calls_at(user.interface) if user.interface else []
    in_hand = owners_in_hand(calls, now, deps.settings.wrapup_s)
    detail = f"reason: {mask_numbers_in(reason)}" if reason else ""
    try:
        basis = read_basis(user, wanted, in_hand, reason)
        if basis == "reason":
            deps.owner_reads.forget_idle(now)
            verdict = deps.owner_reads.take(user.login, now)
            if not verdict.allowed:
                if verdict.alert:
                    await _limit_reached(deps, user.login, verdict.count, now)
                raise limit_refusal(verdict, deps.settings.owner_reads_window_s)
    except OwnerReadRefused as exc:
        refused = f"refused {exc.status}" + (f"; {detail}" if detail else "")
        await asyncio.to_thread(deps.records.audit, user.login, action, owner_id, refused)
        raise _owner_refused(exc) from None
    if basis == "own_call":
        detail = "own call"
    return basis, detail


@require_roles(*ANY)
async def owner_lookup(request: web.Request) -> web.Response:
    deps = request.app[DEPS_KEY]
    number = request.query.get("number", "")
    owners = deps.directory.find(number)
    _basis, detail = await _read_basis(request, [o.id for o in owners], "lookup", None)
    detail = "; ".join(d for d in (mask_number(number), detail) if d)
    for owner in owners:
        await asyncio.to_thread(
            deps.records.audit, _user(request).login, "lookup", owner.id, detail
        )
    return web.json_response({"owners": [o.to_dict() for o in owners]})


@require_roles(*ANY)
async def owner_record(request: web.Request) -> web.Response:
    deps = request.app[DEPS_KEY]
    owner_id = int(request.match_info["owner_id"])  # whole digits: checked by @require_roles
    user = _user(request)
    # the read is checked (and counted) first: probing ids does not tell an agent which exist
    _basis, detail = await _read_basis(request, [owner_id], "open", owner_id)
    owner = deps.directory.index.owner(owner_id)
    if owner is None:
        raise ApiError(404, "no_such_owner", "没有这位业主", "no such owner")
    await asyncio.to_thread(deps.records.audit, user.login, "open", owner_id, detail)
    involving = None if user.role in ("supervisor", "admin") else user.login
    orders = await asyncio.to_thread(
        deps.records.list_orders, owner_ids=[owner_id], involving=involving
    )
    now = deps.clock()
    return web.json_response(
        {"owner": owner.to_dict(), "work_orders": [o.to_dict(now) for o in orders]}
    )


@require_roles("supervisor", "admin")
async def audit_trail(request: web.Request) -> web.Response:
    records = request.app[DEPS_KEY].records
    query = query_values(request)
    rows = await asyncio.to_thread(
        records.audit_trail, owner_id=query["owner_id"], login=query["login"] or None
    )
    return web.json_response({"audit": rows})


# --- work orders ----------------------------------------------------------------------------


def _may_see(user: User, order: WorkOrder) -> bool:
    return user.role in ("supervisor", "admin") or user.login in (order.created_by, order.assignee)


async def _load_order(request: web.Request) -> WorkOrder:
    deps = request.app[DEPS_KEY]
    wanted = int(request.match_info["order_id"])  # 1..2**31-1: checked by @require_roles
    order = await asyncio.to_thread(deps.records.get_order, wanted)
    if order is None or not _may_see(_user(request), order):
        raise ApiError(
            404, "no_such_work_order", "没有这张工单", "no such work order"
        )  # another agent's looks absent
    return order


async def _with_trail(
    data: dict[str, Any], name: str, trail: Callable[[int], Sequence[Any]], item_id: int
) -> web.Response:
    """``data`` answered with the item's trail (a work order's history, a callback's
    attempts) under ``name``, read off the event loop."""
    data[name] = [entry.__dict__ for entry in await asyncio.to_thread(trail, item_id)]
    return web.json_response(data)


def _notify(deps: CtiDeps, kind: str, order: WorkOrder) -> None:
    if deps.webhook is not None:
        deps.webhook.send(kind, order.to_dict())


@require_roles(*ANY)
async def list_orders(request: web.Request) -> web.Response:
    deps = request.app[DEPS_KEY]
    user = _user(request)
    involving = None if user.role in ("supervisor", "admin") else user.login
    open_only = query_values(request)["open"] == "1"
    orders = await asyncio.to_thread(
        deps.records.list_orders, involving=involving, open_only=open_only
    )
    now = deps.clock()
    return web.json_response({"work_orders": [o.to_dict(now) for o in orders]})


def _check_department(deps: CtiDeps, department: str) -> None:
    """A work order names one of the configured departments (dispatch matches on the
    code), or none."""
    if department and department not in deps.settings.departments:
        known = ", ".join(deps.settings.departments)
        raise ApiError(
            400, "no_such_department", f"没有这个部门（可选：{known}）",
            f"no such department (known: {known})",
        )  # fmt: skip


@require_roles(*ANY)
async def create_order(request: web.Request) -> web.Response:
    deps = request.app[DEPS_KEY]
    body = await _body(request)
    now = deps.clock()
    # types, enums and lengths: checked against the OpenAPI description by @require_roles
    due_at = float(body["due_at"]) if body.get("due_at") is not None else None
    owner_id: int | None = body.get("owner_id")
    priority: str = body.get("priority", "normal")
    try:
        validate_new(body["kind"], priority, due_at, now)
    except WorkOrderError as exc:
        raise ApiError(400, "work_order_refused", f"工单有误：{exc.zh}", exc.en) from None
    _check_department(deps, body.get("department", ""))
    if owner_id is not None and deps.directory.index.owner(owner_id) is None:
        raise ApiError(
            400, "no_such_owner", "所选业主已不在业主资料中", "owner_id names no owner"
        )  # fmt: skip
    caller_number: str = body.get("caller_number", "")
    pbx, call_id = body.get("pbx", ""), body.get("call_id", "")
    if call_id:
        call = await _call_target(request, pbx, call_id)
        callers_owners = [o.id for o in deps.directory.find(call.caller_number)]
        try:
            check_work_order_caller(call, caller_number, owner_id, callers_owners)
        except CallRefused as exc:
            raise _refused(exc) from None
        caller_number = call.caller_number
    elif pbx:
        raise ApiError(400, "pbx_without_call", "pbx：缺少 call_id", "pbx: given without call_id")
    order = WorkOrder(
        id=0,
        kind=body["kind"],
        priority=priority,
        state="new",
        created_by=_user(request).login,
        created_at=now,
        updated_at=now,
        owner_id=owner_id,
        caller_number=caller_number,
        pbx=pbx,
        call_id=call_id,
        category=body.get("category", "")[:64],
        department=body.get("department", "")[:64],
        description=body.get("description", ""),
        due_at=due_at,
    )
    order = await asyncio.to_thread(deps.records.create_order, order)
    _notify(deps, "work_order.created", order)
    return web.json_response(order.to_dict(now), status=201)


@require_roles(*ANY)
async def get_order(request: web.Request) -> web.Response:
    deps = request.app[DEPS_KEY]
    order = await _load_order(request)
    return await _with_trail(order.to_dict(deps.clock()), "history", deps.records.history, order.id)


@require_roles(*ANY)
async def order_action(request: web.Request) -> web.Response:
    deps = request.app[DEPS_KEY]
    order = await _load_order(request)
    body = await _body(request)
    _check_department(deps, body.get("department", ""))
    kwargs: dict[str, Any] = {
        "actor": _user(request).login,
        "assignee": body.get("assignee", "")[:64],
        "department": body.get("department", "")[:64],
        "note": body.get("note", "")[:2000],
    }
    if body.get("callback_at") is not None:  # a number or null: checked already
        kwargs["callback_at"] = float(body["callback_at"])
    if body.get("satisfaction") is not None:
        kwargs["satisfaction"] = body["satisfaction"]
    try:
        changed, _entry = await asyncio.to_thread(
            deps.records.apply, order.id, body["action"], **kwargs
        )
    except WorkOrderError as exc:  # not from this state, or missing what the move needs
        raise ApiError(409, "work_order_state", exc.zh, exc.en) from None
    _notify(deps, "work_order.changed", changed)
    return web.json_response(changed.to_dict(deps.clock()))


@require_roles(*ANY)
async def place_callback(request: web.Request) -> web.Response:
    """回访: ring the agent's seat, then the owner; the attempt goes into the history."""
    deps = request.app[DEPS_KEY]
    order = await _load_order(request)
    if not order.caller_number:
        raise ApiError(
            409,
            "no_callback_number",
            "这张工单没有回拨号码",
            "this work order has no number to call back",
        )
    seat = _seat(request)
    dial = await _originate(request, seat, order.caller_number, f"WO{order.id}")
    await asyncio.to_thread(
        deps.records.audit,
        _user(request).login,
        "callback",
        order.owner_id,
        f"work order {order.id}",
    )
    return web.json_response({"work_order": order.id, "number": mask_number(dial)}, status=202)


@require_roles(*ANY)
async def due_timers(request: web.Request) -> web.Response:
    deps = request.app[DEPS_KEY]
    user = _user(request)
    involving = None if user.role in ("supervisor", "admin") else user.login
    orders = await asyncio.to_thread(deps.records.list_orders, involving=involving, open_only=True)
    now = deps.clock()
    late = [o.to_dict(now) for o in orders if timer(o, now)["state"] in ("overdue", "due_soon")]
    return web.json_response({"work_orders": late})


# --- owners: search and linking a number -------------------------------------------------------


@require_roles(*ANY)
async def owner_search(request: web.Request) -> web.Response:
    """A deliberate look into the directory: an agent states why and it counts as one owner
    read outside their calls (decision 0036); the search itself is audited once."""
    deps = request.app[DEPS_KEY]
    try:
        query = clean_query(request.query.get("q", ""))
    except SearchRefused as exc:
        raise ApiError(400, "bad_search", exc.zh, exc.en) from None
    _basis, detail = await _read_basis(request, [], "search", None)
    index = deps.directory.index
    found = await asyncio.to_thread(  # a walk of every owner: off the event loop
        search_owners, list(index.owners()), query, limit=deps.settings.owner_search_max,
        default_area_code=deps.settings.default_area_code, by_number=index.find,
    )  # fmt: skip
    ids = ",".join(str(o.id) for o in found.owners) or "-"
    detail = "; ".join(d for d in (f"q: {mask_numbers_in(query)}", f"found: {ids}", detail) if d)
    await asyncio.to_thread(deps.records.audit, _user(request).login, "search", None, detail)
    return web.json_response({"owners": [summary(o) for o in found.owners], "more": found.more})


@require_roles(*ANY)
async def link_number(request: web.Request) -> web.Response:
    """An unknown caller said who they are: their number becomes one of the owner's, so
    the next call from it pops as them. An agent links the caller of their own call only."""
    deps = request.app[DEPS_KEY]
    owner_id = int(request.match_info["owner_id"])
    body = await _body(request)
    user = _user(request)
    pbx, call_id = body.get("pbx", ""), body.get("call_id", "")
    if call_id:
        number = (await _call_target(request, pbx, call_id)).caller_number
    elif user.role in ("supervisor", "admin") and body.get("number"):
        number = body["number"]
    else:
        raise ApiError(
            400,
            "link_needs_call",
            "请指明来电（pbx 与 call_id）",
            "name the call (pbx and call_id)",
        )
    try:
        key = normalize(number, default_area_code=deps.settings.default_area_code).key
    except PhoneError as exc:
        raise ApiError(400, "bad_number", exc.zh, exc.en) from None
    owner = await deps.directory.link_number(owner_id, key, user.login, pbx, call_id)
    if owner is None:
        raise ApiError(404, "no_such_owner", "没有这位业主", "no such owner")
    where = f"; call {pbx}/{call_id}" if call_id else ""
    await asyncio.to_thread(
        deps.records.audit, user.login, "link_number", owner_id, mask_number(key) + where
    )
    log.info("number linked to owner", owner_id=owner_id, number=mask_number(key))
    return web.json_response({"owner": summary(owner), "number": mask_number(key)})


# --- callbacks (回电, 回访) ----------------------------------------------------------------------


def _callbacks(request: web.Request) -> CallbackRecords:
    callbacks = request.app[DEPS_KEY].callbacks
    if callbacks is None:
        raise ApiError(503, "no_callbacks", "回电功能未启用", "callbacks are not set up")
    return callbacks


def _callback_refused(exc: CallbackError) -> ApiError:
    return ApiError(409, "callback_refused", exc.zh, exc.en)


def _callback_view(deps: CtiDeps, callback: Any) -> dict[str, Any]:
    """A callback as the page shows it: the number masked (it is rung from the server), the
    owner named (the assignee is the one who rings them)."""
    data: dict[str, Any] = callback.to_dict(deps.clock(), deps.retry_policy)
    data["number"] = mask_number(callback.number)
    owner = deps.directory.index.owner(callback.owner_id) if callback.owner_id else None
    data["owner_name"] = owner.name if owner is not None else ""
    data["owner_unit"] = owner.units[0].label() if owner is not None and owner.units else ""
    return data


async def _load_callback(request: web.Request) -> Any:
    wanted = int(request.match_info["callback_id"])
    callback = await asyncio.to_thread(_callbacks(request).get, wanted)
    user = _user(request)
    mine = callback is not None and user.login in (callback.assignee, callback.created_by)
    if callback is None or not (mine or user.role in ("supervisor", "admin")):
        raise ApiError(404, "no_such_callback", "没有这个回电", "no such callback")
    return callback


@require_roles(*ANY)
async def list_callbacks(request: web.Request) -> web.Response:
    """An agent's own callbacks; a supervisor's team (everyone's) with ``scope=team``.
    ``due=1``: the due list (falling due within ``cti.callback_due_ahead_s``)."""
    deps = request.app[DEPS_KEY]
    user = _user(request)
    query = query_values(request)
    team = query["scope"] == "team" and user.role in ("supervisor", "admin")
    found = await asyncio.to_thread(
        _callbacks(request).find, assignee=None if team else user.login,
        open_only=query["open"] != "0",
    )  # fmt: skip
    if query["due"] == "1":
        horizon = deps.clock() + deps.settings.callback_due_ahead_s
        found = [c for c in found if c.state == "due" and c.due_at <= horizon]
    return web.json_response({"callbacks": [_callback_view(deps, c) for c in found]})


@require_roles(*ANY)
async def schedule_callback(request: web.Request) -> web.Response:
    """From a call (pbx, call_id: one the user may write on; its caller is rung back) or a
    work order (its caller); ``kind: satisfaction`` (回访) needs a work order that is done."""
    deps = request.app[DEPS_KEY]
    body = await _body(request)
    user = _user(request)
    pbx, call_id = body.get("pbx", ""), body.get("call_id", "")
    owner_id: int | None = body.get("owner_id")
    order_id: int | None = body.get("work_order_id")
    number = ""
    if order_id is not None:
        order = await asyncio.to_thread(deps.records.get_order, order_id)
        if order is None or not _may_see(user, order):
            raise ApiError(404, "no_such_work_order", "没有这张工单", "no such work order")
        number, owner_id = order.caller_number, order.owner_id
        pbx, call_id = pbx or order.pbx, call_id or order.call_id
    elif call_id:
        call = await _call_target(request, pbx, call_id)
        callers_owners = [o.id for o in deps.directory.find(call.caller_number)]
        try:
            check_work_order_caller(call, "", owner_id, callers_owners)
        except CallRefused as exc:
            raise _refused(exc) from None
        number = call.caller_number
    else:
        raise ApiError(
            400,
            "callback_needs_call",
            "回电需关联来电或工单",
            "a callback needs a call or a work order",
        )
    assignee = user.login
    if body.get("assignee") and user.role in ("supervisor", "admin"):
        assignee = body["assignee"]
    now = deps.clock()
    try:
        callback = new_callback(
            kind=body.get("kind", "callback"), number=number, due_at=float(body["due_at"]),
            reason=body.get("reason", ""), assignee=assignee, actor=user.login, now=now,
            owner_id=owner_id, pbx=pbx, call_id=call_id, work_order_id=order_id,
        )  # fmt: skip
        callback = await asyncio.to_thread(_callbacks(request).create, callback)
    except CallbackError as exc:
        raise ApiError(400, "callback_refused", exc.zh, exc.en) from None
    except WorkOrderError as exc:  # a 回访 on an order that is not done
        raise ApiError(409, "work_order_state", exc.zh, exc.en) from None
    log.info("callback scheduled", callback=callback.id, kind=callback.kind, number=number)
    return web.json_response(_callback_view(deps, callback), status=201)


@require_roles(*ANY)
async def get_callback(request: web.Request) -> web.Response:
    deps = request.app[DEPS_KEY]
    callback = await _load_callback(request)
    attempts = _callbacks(request).attempts
    return await _with_trail(_callback_view(deps, callback), "attempts", attempts, callback.id)


@require_roles(*ANY)
async def dial_callback(request: web.Request) -> web.Response:
    """Ring the seat, then the owner (as click-to-call: the dialling policy applies)."""
    deps = request.app[DEPS_KEY]
    callback = await _load_callback(request)
    if callback.state != "due":
        raise ApiError(409, "callback_closed", "此回电已结束", "this callback is closed")
    seat = _seat(request)
    # The call gets an id of our choosing, so the result recorded next goes on it too.
    call_id = f"cb{callback.id}-{secrets.token_hex(6)}"
    dial = await _originate(request, seat, callback.number, f"CB{callback.id}", call_id)
    pbx = deps.pbx_of_seat(seat)
    await asyncio.to_thread(
        _callbacks(request).change, callback.id, lambda c: dialled(c, pbx, call_id, deps.clock())
    )
    await asyncio.to_thread(
        deps.records.audit, _user(request).login, "callback", callback.owner_id,
        f"callback {callback.id}",
    )  # fmt: skip
    return web.json_response(
        {"callback": callback.id, "number": mask_number(dial), "pbx": pbx, "call_id": call_id},
        status=202,
    )


@require_roles(*ANY)
async def callback_result(request: web.Request) -> web.Response:
    deps = request.app[DEPS_KEY]
    callback = await _load_callback(request)
    body = await _body(request)
    retry_at = float(body["retry_at"]) if body.get("retry_at") is not None else None
    try:
        changed, order = await asyncio.to_thread(
            _callbacks(request).record, callback.id, body["result"], actor=_user(request).login,
            policy=deps.retry_policy, retry_at=retry_at, score=body.get("score"),
            note=body.get("note", ""),
        )  # fmt: skip
    except CallbackError as exc:
        raise _callback_refused(exc) from None
    if order is not None:
        _notify(deps, "work_order.changed", order)
    data = _callback_view(deps, changed)
    data["work_order"] = order.to_dict(deps.clock()) if order is not None else None
    return web.json_response(data)


@require_roles(*ANY)
async def cancel_callback(request: web.Request) -> web.Response:
    deps = request.app[DEPS_KEY]
    callback = await _load_callback(request)
    try:
        changed = await asyncio.to_thread(
            _callbacks(request).change, callback.id, lambda c: cancel(c, deps.clock())
        )
    except CallbackError as exc:
        raise _callback_refused(exc) from None
    return web.json_response(_callback_view(deps, changed))


@require_roles(*ANY)
async def departments(request: web.Request) -> web.Response:
    return web.json_response({"departments": request.app[DEPS_KEY].settings.departments})


def setup(app: web.Application, deps: CtiDeps) -> None:
    describe(app, cti_doc.PART)
    app[DEPS_KEY] = deps
    app.router.add_get("/seat", seat_page)
    add_page(app, SEAT_PAGE)
    app.router.add_get("/ws/seat", seat_socket)
    app.router.add_get("/api/seat/pops", current_pops)
    app.router.add_post("/api/seat/pops/close", close_pop)
    app.router.add_post("/api/seat/pause", pause)
    app.router.add_post("/api/seat/call", click_to_call)
    app.router.add_post("/api/seat/disposition", disposition)
    app.router.add_get("/api/seat/calls/today", today_calls)
    app.router.add_get("/api/seat/day", my_day)
    app.router.add_post("/api/seat/transfer", transfer)
    app.router.add_get("/api/owners/lookup", owner_lookup)
    app.router.add_get("/api/owners/search", owner_search)
    app.router.add_get("/api/owners/{owner_id}", owner_record)
    app.router.add_get("/api/audit", audit_trail)
    app.router.add_get("/api/workorders", list_orders)
    app.router.add_post("/api/workorders", create_order)
    app.router.add_get("/api/workorders/due", due_timers)
    app.router.add_get("/api/workorders/departments", departments)
    app.router.add_get("/api/workorders/{order_id}", get_order)
    app.router.add_post("/api/workorders/{order_id}/actions", order_action)
    app.router.add_post("/api/workorders/{order_id}/callback", place_callback)
    app.router.add_post("/api/owners/{owner_id}/numbers", link_number)
    app.router.add_get("/api/callbacks", list_callbacks)
    app.router.add_post("/api/callbacks", schedule_callback)
    app.router.add_get("/api/callbacks/{callback_id}", get_callback)
    app.router.add_post("/api/callbacks/{callback_id}/dial", dial_callback)
    app.router.add_post("/api/callbacks/{callback_id}/result", callback_result)
    app.router.add_post("/api/callbacks/{callback_id}/cancel", cancel_callback)
