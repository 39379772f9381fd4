"""The OpenAPI 3.1 description of the HTTP API (every ``/api/...`` route), served at
``GET /api/openapi.json`` to anyone: it names routes and fields, never data or secrets.

Paths, methods and roles come from the running application's router and each handler's
``@require_roles``, so the document cannot list a route the service does not have or
admit a role the handler refuses. What each operation takes and gives back is written
in ``OPERATIONS``; a route missing there still appears, marked ``x-undescribed``, and the
test suite refuses that (and any description left over from a removed route). The same
descriptions are what the routes accept: ``callcenter.web.validation`` refuses, with a 400,
any parameter or body they do not admit, so the schemas here must say exactly what passes.

Signing in is a browser form (``GET /login`` then ``POST /login``), described in the
security schemes: a session cookie, and for every state-changing request the session's
CSRF token in ``X-CSRF-Token`` (from ``GET /api/me``) plus, from a browser, our own Origin.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

OPENAPI_PATH = "/api/openapi.json"
JSON = "application/json"
Schema = dict[str, Any]

# --- schema helpers -------------------------------------------------------------------------


def obj(required: Iterable[str] = (), **properties: Schema) -> Schema:
    """An object with these properties; others may appear too (the service adds fields)."""
    schema: Schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


def array(items: Schema) -> Schema:
    return {"type": "array", "items": items}


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


STR: Schema = {"type": "string"}
INT: Schema = {"type": "integer"}
NUM: Schema = {"type": "number"}
BOOL: Schema = {"type": "boolean"}
OBJECT: Schema = {"type": "object"}
EPOCH: Schema = {"type": "number", "description": "epoch seconds"}
ANY_ID: Schema = {"type": "string", "minLength": 1}
MAX_ROW_ID = 2**31 - 1  # row ids are INTEGER columns: 4 bytes in PostgreSQL
ONE_LINE = "^[^\\r\\n]*$"  # goes into an AMI header, where a line break ends the field
ONE_LINE_TEXT: Schema = {"type": "string", "pattern": ONE_LINE, "description": "one line"}
ROLE: Schema = {"type": "string", "enum": ["agent", "supervisor", "admin"]}
INTERFACE: Schema = {
    "type": "string",
    "pattern": ONE_LINE,
    "description": "an Asterisk interface such as PJSIP/1001",
    "examples": ["PJSIP/1001"],
}
# the phone a supervisor listens from and the one listened to (what ChanSpy can dial)
PHONE: Schema = {
    "type": "string",
    "pattern": "^[A-Za-z][A-Za-z0-9]{1,15}/[A-Za-z0-9_.@+-]{1,64}$",
    "description": "a phone such as PJSIP/1001",
    "examples": ["PJSIP/1001"],
}
ZH_EN: Schema = obj(["zh", "en"], zh=STR, en=STR)
ERROR: Schema = obj(
    ["error"],
    error={"anyOf": [STR, ZH_EN], "description": "what was wrong (English, or zh and en)"},
    error_zh={"type": "string", "description": "the same in Chinese, where given"},
)

CALL_RECORD = obj(
    ["pbx", "call_id", "kind", "outcome", "started_at", "legs"],
    pbx=STR, call_id=STR, kind={"type": "string", "enum": ["inbound", "internal", "spy"]},
    hotline=STR, caller_number=STR, caller_name=STR, started_at=EPOCH, queue=STR,
    queue_joined_at=nullable(NUM), queue_left_at=nullable(NUM), agent=STR,
    agent_interface=STR, ring_started_at=nullable(NUM), answered_at=nullable(NUM),
    ended_at=nullable(NUM),
    outcome={"type": "string", "enum": [
        "in_progress", "answered", "abandoned", "short_abandon", "ivr_only", "blocked",
        "voicemail",
    ]},
    hangup_cause=nullable(INT), wait_s=nullable(NUM), talk_s=nullable(NUM),
    ring_s=nullable(NUM), ivr_s=nullable(NUM), dtmf=STR, recorded=BOOL,
    origin={"type": "string", "enum": ["live", "recovered"]},
    legs=array(obj(["channel_id", "channel", "started_at"], channel_id=STR, channel=STR,
                   started_at=NUM, answered_at=nullable(NUM), ended_at=nullable(NUM),
                   cause=nullable(INT))),
)  # fmt: skip
WORK_ORDER_KINDS = ["repair", "complaint", "enquiry", "fee"]
WORK_ORDER_PRIORITIES = ["low", "normal", "high", "urgent"]
WORK_ORDER = obj(
    ["id", "kind", "priority", "state", "created_by", "created_at"],
    id=INT, kind=STR, priority=STR, state=STR, created_by=STR, created_at=EPOCH,
    updated_at=EPOCH, owner_id=nullable(INT), caller_number=STR, pbx=STR, call_id=STR,
    category=STR, department=STR, description=STR, assignee=STR, due_at=nullable(NUM),
    callback_at=nullable(NUM), satisfaction=nullable(INT), dispatch_count=INT, timer=OBJECT,
)  # fmt: skip
OWNER = obj(
    ["id", "name"], id=INT, code=STR, name=STR, zone=STR, housekeeper=STR, vip=BOOL,
    arrears=NUM, notes=STR, units=array(STR), phones=array(STR),
)  # fmt: skip
USER = obj(
    ["id", "login", "role"], id=INT, login=STR, role=ROLE, display_name=STR, agent=STR,
    interface=STR,
)  # fmt: skip
RECORDING = obj(
    ["id", "path", "pbx", "call_id"], id=INT, path=STR, pbx=STR, call_id=STR,
    caller_number=nullable(STR), agent=nullable(STR), queue=nullable(STR),
    work_order=nullable(STR), recorded_at=nullable(NUM), duration_s=nullable(NUM),
    container=nullable(STR), codec=nullable(STR), size=nullable(INT), sha256=nullable(STR),
    qa_score=nullable(NUM), legal_hold=BOOL, hold_reason=nullable(STR),
    probe_error=nullable(STR), part=nullable(INT),
)  # fmt: skip
AGENT = obj(
    ["id", "name"], id=STR, name=STR, seat=STR, team=STR,
    queues={"type": "object", "additionalProperties": INT}, language={"enum": ["zh", "en"]},
    skills=array(STR), roles=array(STR), vip_handler=BOOL, interface=STR,
)  # fmt: skip
SEAT = obj(["id", "interface"], id=STR, interface=STR, label=STR)
ZONE = obj(
    ["id", "name_zh"], id=STR, name_zh=STR, name_en=STR, buildings=array(STR),
    housekeeper=STR, queue=STR,
)  # fmt: skip
LIVE = obj(
    ["at", "lines_in_use", "line_capacity", "waiting", "agents", "hour", "today", "alerts"],
    at=EPOCH, lines_in_use=INT, line_capacity=INT, lines_high=NUM, calls_in_ivr=INT,
    waiting=OBJECT, agents=OBJECT, hour=OBJECT, today=OBJECT, answer_rate_target=NUM,
    alerts=array(OBJECT),
)  # fmt: skip
DATE: Schema = {"type": "string", "format": "date", "examples": ["2026-12-01"]}
MOMENT: Schema = {
    "type": "string",
    "description": "a local date (its midnight) or date and time, ISO 8601",
    "examples": ["2026-12-01T08:00", "2026-12-01"],
}

# --- operations -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    name: str
    schema: Schema
    description: str = ""
    required: bool = False
    where: str = "query"
    repeat: bool = False  # ?team=a&team=b

    def as_dict(self) -> dict[str, Any]:
        schema = array(self.schema) if self.repeat else self.schema
        out: dict[str, Any] = {
            "name": self.name,
            "in": self.where,
            "required": self.required or self.where == "path",
            "schema": schema,
        }
        if self.description:
            out["description"] = self.description
        if self.repeat:
            out.update(style="form", explode=True)
        return out


def path(name: str, schema: Schema, description: str = "") -> Param:
    return Param(name, schema, description, where="path")


@dataclass(frozen=True)
class Operation:
    summary: str
    ok: int = 200
    result: Schema | None = None  # JSON body of the success response
    params: tuple[Param, ...] = ()
    body: Schema | None = None  # JSON request body
    errors: tuple[int, ...] = ()  # beyond 401/403 (and 400 when anything is read)
    # Rules the schema cannot state (across fields, against the data held now), whose
    # breach is a 400 too: in the 400's description and in ``x-400-when``.
    refused_when: str = ""
    content: Mapping[str, Schema] | None = None  # success media types other than JSON
    description: str = ""


PBX_DOWN = (502, 503)  # the PBX link is down, or did not answer in time
SINCE_UNTIL = (
    Param("since", NUM, "from this time (epoch seconds)"),
    Param("until", NUM, "before this time (epoch seconds)"),
)
SEAT_PARAM = Param(
    "interface", INTERFACE, "supervisors and admins: another seat; agents always act on their own"
)
ORDER_ID = path("order_id", {"type": "integer", "minimum": 1, "maximum": MAX_ROW_ID})
RID = path("rid", {"type": "integer", "minimum": 0, "maximum": MAX_ROW_ID}, "recording id")
AGENT_BODY = obj(
    name=ANY_ID, seat=STR, team=STR,
    queues={"type": "object", "additionalProperties": {"type": "integer", "minimum": 0},
            "description": "queue -> penalty (lower rings first)"},
    language={"enum": ["zh", "en"]}, skills=array(STR), roles=array(STR), vip_handler=BOOL,
) | {"additionalProperties": False}  # fmt: skip
DIRECTORY_RULES = (
    "the directory would not hold together (an unknown seat or housekeeper, a seat "
    "taken by another agent)"
)
SEAT_INTERFACE: Schema = {**INTERFACE, "pattern": "^[^/\\r\\n]+/[^\\r\\n]+$"}

OPERATIONS: dict[tuple[str, str], Operation] = {
    ("GET", OPENAPI_PATH): Operation("This description of the HTTP API", result=OBJECT),
    # -- sign-in and users
    ("GET", "/api/me"): Operation(
        "The signed-in user and the session's CSRF token",
        result=obj(
            ["login", "role", "csrf_token"],
            id=INT,
            login=STR,
            role=ROLE,
            display_name=STR,
            agent=STR,
            interface=STR,
            csrf_token=STR,
            expires_at=EPOCH,
        ),
    ),
    ("GET", "/api/users"): Operation(
        "Everyone who may sign in", result=obj(["users"], users=array(USER))
    ),
    ("POST", "/api/users"): Operation(
        "Add a person who signs in",
        ok=201,
        body=obj(
            ["login", "role", "password"],
            login={"type": "string", "pattern": "^[A-Za-z0-9._@-]{1,64}$"},
            role=ROLE,
            password={"type": "string", "minLength": 8},
            display_name=STR,
            agent=STR,
            interface=INTERFACE,
        ),
        result=obj(["id", "login", "role"], id=INT, login=STR, role=ROLE),
        refused_when="the login is taken",
    ),
    # -- call records
    ("GET", "/api/calls"): Operation(
        "Call records, newest first (an agent sees the calls they answered)",
        params=(
            *SINCE_UNTIL,
            Param(
                "outcome",
                {
                    "type": "string",
                    "enum": sorted(
                        [
                            "in_progress",
                            "answered",
                            "abandoned",
                            "short_abandon",
                            "ivr_only",
                            "blocked",
                            "voicemail",
                        ]
                    ),
                },
            ),
            Param("queue", STR),
            Param("pbx", STR),
            Param("agent", STR, "queue member name"),
            Param("limit", {"type": "integer", "minimum": 0, "maximum": 1000, "default": 100}),
            Param("offset", {"type": "integer", "minimum": 0, "maximum": 10_000_000}),
        ),
        result=obj(
            ["total", "limit", "offset", "calls"],
            total=INT,
            limit=INT,
            offset=INT,
            calls=array(CALL_RECORD),
        ),
    ),
    ("GET", "/api/calls/{pbx}/{call_id}"): Operation(
        "One call record with its legs",
        params=(path("pbx", ANY_ID), path("call_id", ANY_ID, "Asterisk's Linkedid")),
        result=CALL_RECORD,
        errors=(404,),
    ),
    # -- the seat (CTI)
    ("GET", "/api/seat/pops"): Operation(
        "Screen-pops showing on a seat now",
        params=(SEAT_PARAM,),
        result=obj(["pops"], pops=array(OBJECT)),
        errors=(409,),
    ),
    ("POST", "/api/seat/pause"): Operation(
        "Pause the seat in its queues (or make it ready)",
        params=(SEAT_PARAM,),
        body=obj(
            paused=BOOL,
            reason={**ONE_LINE_TEXT, "maxLength": 64},
            queue=ONE_LINE_TEXT,
        ),
        result=obj(["interface", "paused"], interface=STR, paused=BOOL, reason=STR),
        errors=(409, *PBX_DOWN),
    ),
    ("POST", "/api/seat/call"): Operation(
        "Click-to-call: ring the seat, then the number",
        ok=202,
        params=(SEAT_PARAM,),
        body=obj(["number"], number={"type": "string", "examples": ["13800138000"]}),
        result=obj(["interface", "number", "status"], interface=STR, number=STR, status=STR),
        errors=(409, *PBX_DOWN),
        refused_when="number is not a phone number",
    ),
    ("POST", "/api/seat/disposition"): Operation(
        "How a call ended for the agent (wrap-up)",
        body=obj(
            ["disposition", "pbx", "call_id"],
            disposition={"enum": ["resolved", "work_order", "callback", "wrong_number", "other"]},
            pbx=ANY_ID,
            call_id=ANY_ID,
            note={"type": "string", "maxLength": 2000},
        ),
        result=obj(["saved"], saved=BOOL),
    ),
    ("GET", "/api/seat/calls/today"): Operation(
        "Today's calls of an agent (supervisors and admins may name one)",
        params=(Param("agent", STR, "queue member name"),),
        result=obj(["agent", "since", "calls"], agent=STR, since=EPOCH, calls=array(OBJECT)),
    ),
    ("GET", "/api/owners/lookup"): Operation(
        "Owners whose phone matches a number (audited)",
        params=(Param("number", STR, "a phone number in any common form"),),
        result=obj(["owners"], owners=array(OWNER)),
    ),
    ("GET", "/api/owners/{owner_id}"): Operation(
        "An owner's record with their work orders (audited)",
        params=(path("owner_id", {"type": "integer", "minimum": 1, "maximum": MAX_ROW_ID}),),
        result=obj(["owner", "work_orders"], owner=OWNER, work_orders=array(WORK_ORDER)),
        errors=(404,),
    ),
    ("GET", "/api/audit"): Operation(
        "Who opened which owner record, and other audited actions",
        params=(
            Param("owner_id", {"type": "integer", "minimum": 0, "maximum": MAX_ROW_ID}),
            Param("login", STR),
        ),
        result=obj(["audit"], audit=array(OBJECT)),
    ),
    # -- work orders
    ("GET", "/api/workorders"): Operation(
        "Work orders (an agent sees the ones they raised or hold)",
        params=(Param("open", {"enum": ["1", "0"]}, "1: open ones only"),),
        result=obj(["work_orders"], work_orders=array(WORK_ORDER)),
    ),
    ("POST", "/api/workorders"): Operation(
        "Raise a work order",
        ok=201,
        body=obj(
            ["kind"],
            kind={"enum": WORK_ORDER_KINDS},
            priority={"enum": WORK_ORDER_PRIORITIES},
            due_at=nullable(EPOCH),
            owner_id=nullable({"type": "integer", "minimum": 1, "maximum": MAX_ROW_ID}),
            caller_number={"type": "string", "maxLength": 32},
            pbx=STR,
            call_id=STR,
            category=STR,
            department=STR,
            description={"type": "string", "maxLength": 4000},
        ),
        result=WORK_ORDER,
        refused_when="owner_id names no owner, or due_at is not in the future",
    ),
    ("GET", "/api/workorders/due"): Operation(
        "Open work orders overdue or due soon",
        result=obj(["work_orders"], work_orders=array(WORK_ORDER)),
    ),
    ("GET", "/api/workorders/{order_id}"): Operation(
        "A work order with its history",
        params=(ORDER_ID,),
        result={**WORK_ORDER, "required": [*WORK_ORDER["required"], "history"]},
        errors=(404,),
    ),
    ("POST", "/api/workorders/{order_id}/actions"): Operation(
        "Move a work order on: dispatch, start, finish, schedule_callback, "
        "record_satisfaction, close, reopen",
        params=(ORDER_ID,),
        body=obj(
            ["action"],
            action={
                "enum": [
                    "dispatch",
                    "start",
                    "finish",
                    "schedule_callback",
                    "record_satisfaction",
                    "close",
                    "reopen",
                ]
            },
            assignee=STR,
            department=STR,
            note=STR,
            callback_at=nullable(EPOCH),
            satisfaction=nullable({"type": "integer", "minimum": 1, "maximum": 5}),
        ),
        result=WORK_ORDER,
        errors=(404, 409),
    ),
    ("POST", "/api/workorders/{order_id}/callback"): Operation(
        "回访: ring the seat, then the work order's caller",
        ok=202,
        params=(ORDER_ID, SEAT_PARAM),
        result=obj(["work_order", "number"], work_order=INT, number=STR),
        errors=(404, 409, *PBX_DOWN),
    ),
    # -- wallboard and live monitoring
    ("GET", "/api/wallboard"): Operation(
        "The wallboard's frame: live counters, seats, alerts, colours",
        result={
            **LIVE,
            "properties": {**LIVE["properties"], "seats": array(OBJECT), "levels": OBJECT},
        },
    ),
    ("POST", "/api/monitor"): Operation(
        "Listen to, whisper to or barge into an agent's call (rings the supervisor's phone)",
        ok=202,
        body=obj(
            ["interface", "mode"],
            interface=PHONE,
            mode={"enum": ["listen", "whisper", "barge"]},
            phone={
                **PHONE,
                "pattern": f"^({PHONE['pattern'].strip('^$')})?$",
                "description": "the supervisor's phone; empty or left out: their seat",
            },
        ),
        result=obj(
            ["interface", "mode", "phone", "status"], interface=STR, mode=STR, phone=STR, status=STR
        ),
        errors=(409, *PBX_DOWN),
        refused_when="phone is the agent's interface, or is left out by a supervisor "
        "without a seat",
    ),
    # -- recordings
    ("GET", "/api/recordings"): Operation(
        "Search recordings (an agent finds those of calls they answered)",
        params=(
            *SINCE_UNTIL,
            Param(
                "caller",
                {"type": "string", "pattern": "^[0-9]*$", "description": "digits only"},
                "digits anywhere in the number",
            ),
            Param("agent", STR),
            Param("queue", STR),
            Param("work_order", STR),
            Param("min_duration", NUM),
            Param("max_duration", NUM),
            Param("min_score", NUM),
            Param("max_score", NUM),
            Param("call_id", STR),
            Param("limit", {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}),
            Param("offset", {"type": "integer", "minimum": 0, "maximum": 10_000_000}),
        ),
        result=obj(
            ["total", "limit", "offset", "recordings"],
            total=INT,
            limit=INT,
            offset=INT,
            recordings=array(RECORDING),
        ),
    ),
    ("GET", "/api/recordings/qa/criteria"): Operation(
        "What recorded calls are scored on",
        result=array(obj(["key", "max_points"], key=STR, name_zh=STR, name_en=STR, max_points=INT)),
    ),
    ("GET", "/api/recordings/qa/rollup"): Operation(
        "Mean QA score per agent and month",
        params=SINCE_UNTIL,
        result=array(
            obj(
                ["agent", "month", "sheets"],
                agent=STR,
                month=STR,
                sheets=INT,
                mean=NUM,
                lowest=NUM,
                highest=NUM,
            )
        ),
    ),
    ("GET", "/api/recordings/{rid}"): Operation(
        "A recording with its QA sheets",
        params=(RID,),
        result={**RECORDING, "properties": {**RECORDING["properties"], "qa": array(OBJECT)}},
        errors=(404,),
    ),
    ("POST", "/api/recordings/{rid}/link"): Operation(
        "A signed, short-lived playback link for this user (audited)",
        params=(RID,),
        result=obj(["url", "expires_at"], url=STR, expires_at=EPOCH),
        errors=(404,),
    ),
    ("POST", "/api/recordings/{rid}/qa"): Operation(
        "Score a recorded call against the QA criteria",
        params=(RID,),
        body=obj(
            ["scores"],
            scores={"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}},
            comment={"type": "string", "maxLength": 2000},
        ),
        result=obj(["id", "scores", "total"], id=INT, scores=OBJECT, total=NUM),
        errors=(404,),
        refused_when="a score names no QA criterion or exceeds its points",
    ),
    ("POST", "/api/recordings/{rid}/hold"): Operation(
        "Put a recording on legal hold (kept past retention) or release it",
        params=(RID,),
        body=obj(["hold"], hold=BOOL, reason={"type": "string", "maxLength": 200}),
        result=obj(["id", "legal_hold"], id=INT, legal_hold=BOOL, reason=STR),
        errors=(404,),
    ),
    # -- metrics
    ("GET", "/api/reports"): Operation(
        "Answer rate, service level, abandons, AHT and lines, by interval, shift, queue...",
        params=(
            Param("from", DATE, required=True),
            Param("to", DATE, required=True, description="at most 400 days after from"),
            Param("by", {"enum": ["interval", "day", "shift", "queue", "hotline", "agent"]}),
            Param("interval", {"enum": ["15", "30", "60"]}, "minutes"),
            Param("format", {"enum": ["json", "csv", "xlsx"]}),
            Param("lang", {"enum": ["zh", "en"]}, "column titles of csv and xlsx"),
        ),
        result=OBJECT,
        content={
            "text/csv": STR,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                "type": "string",
                "contentEncoding": "binary",
            },
        },
        refused_when="to is before from or more than 400 days after it, or a date lies "
        "outside 1970-01-02..9999-12-30",
    ),
    ("GET", "/api/live"): Operation(
        "Live counters: lines, queues, agents, answer rate", result=LIVE
    ),
    # -- routing
    ("GET", "/api/routing/agents"): Operation("Agents", result=array(AGENT)),
    ("POST", "/api/routing/agents"): Operation(
        "Add an agent (written back to the agents file)",
        ok=201,
        body={
            **AGENT_BODY,
            "required": ["id", "name"],
            "properties": {"id": ANY_ID, **AGENT_BODY["properties"]},
        },
        result=AGENT,
        errors=(409,),
        refused_when=DIRECTORY_RULES,
    ),
    ("PUT", "/api/routing/agents/{id}"): Operation(
        "Change an agent (fields not given stay)",
        params=(path("id", ANY_ID),),
        body=AGENT_BODY,
        result=AGENT,
        errors=(404,),
        refused_when=DIRECTORY_RULES,
    ),
    ("GET", "/api/routing/seats"): Operation("Seats", result=array(SEAT)),
    ("POST", "/api/routing/seats"): Operation(
        "Add a seat",
        ok=201,
        body=obj(["id", "interface"], id=ANY_ID, interface=SEAT_INTERFACE, label=STR),
        result=SEAT,
        errors=(409,),
        refused_when=DIRECTORY_RULES,
    ),
    ("PUT", "/api/routing/seats/{id}"): Operation(
        "Change a seat",
        params=(path("id", ANY_ID),),
        body=obj(interface=SEAT_INTERFACE, label=STR),
        result=SEAT,
        errors=(404,),
        refused_when=DIRECTORY_RULES,
    ),
    ("GET", "/api/routing/zones"): Operation("Zones and their housekeepers", result=array(ZONE)),
    ("POST", "/api/routing/zones"): Operation(
        "Add a zone",
        ok=201,
        body=obj(
            ["id"],
            id=ANY_ID,
            name_zh=STR,
            name_en=STR,
            buildings=array(STR),
            housekeeper=STR,
            queue=STR,
        ),
        result=ZONE,
        errors=(409,),
        refused_when=DIRECTORY_RULES,
    ),
    ("PUT", "/api/routing/zones/{id}"): Operation(
        "Change a zone",
        params=(path("id", ANY_ID),),
        body=obj(name_zh=STR, name_en=STR, buildings=array(STR), housekeeper=STR, queue=STR),
        result=ZONE,
        errors=(404,),
        refused_when=DIRECTORY_RULES,
    ),
    ("GET", "/api/routing/duty"): Operation(
        "Who is on duty (now, or at a time)",
        params=(
            Param("at", MOMENT, "default: now"),
            Param("team", STR, "only these teams", repeat=True),
        ),
        result=obj(["at", "on_duty"], at=STR, on_duty=array(OBJECT)),
        refused_when="at is not an ISO 8601 date or time in the years 1971-8999",
    ),
    ("GET", "/api/routing/gaps"): Operation(
        "Staffing below the minimums in the days ahead",
        params=(
            Param("from", DATE, "default: today"),
            Param("days", {"type": "integer", "minimum": 1, "maximum": 366, "default": 14}),
        ),
        result=array(
            obj(
                ["rule", "day", "have", "need"],
                rule=STR,
                day=STR,
                start=STR,
                end=STR,
                have=INT,
                need=INT,
                message=ZH_EN,
            )
        ),
        refused_when="from lies outside the years 1971-8999",
    ),
    ("GET", "/api/routing/occupancy"): Operation(
        "Time each agent spent per state, and occupancy",
        params=(
            Param("from", MOMENT, "default: today's midnight"),
            Param("to", MOMENT, "default: now"),
            Param("agent", STR, "only these agents", repeat=True),
        ),
        result=obj(
            ["from", "to", "agents", "total"],
            agents=array(OBJECT),
            total=OBJECT,
            definition={},  # how occupancy is computed, in words
            **{"from": STR, "to": STR},  # "from" is a Python keyword
        ),
        errors=(503,),
        description="503 when agent state time is not kept by this service.",
        refused_when="from or to is not an ISO 8601 date or time, to is not after from, the "
        "range is longer than 366 days, or lies outside the years 1971-8999",
    ),
}

# --- the document ---------------------------------------------------------------------------

_STATUS_TEXT = {
    200: "OK", 201: "Created", 202: "Accepted: the PBX was asked",
    400: "Bad request: the message names the parameter or field and the problem",
    401: "Not signed in", 403: "Your role may not do this, or the CSRF token or Origin is wrong",
    404: "No such thing (or not one of yours)",
    409: "Conflicts with the current state (or the PBX refused the action)",
    502: "The PBX did not answer", 503: "Not available now (no PBX connection)",
}  # fmt: skip
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


def _error(status: int, *, plain: bool = False) -> dict[str, Any]:
    content: dict[str, Any] = {JSON: {"schema": ERROR}}
    if plain:  # the router's own answer when a path parameter does not match its pattern
        content["text/plain"] = {"schema": STR}
    return {"description": _STATUS_TEXT[status], "content": content}


def _operation(
    method: str, route_path: str, op: Operation | None, roles: tuple[str, ...]
) -> Schema:
    if op is None:
        return {
            "summary": "(not described)",
            "x-undescribed": True,
            "responses": {"default": {"description": "not described"}},
        }
    ok_content: dict[str, Any] = {JSON: {"schema": op.result if op.result is not None else OBJECT}}
    for media, schema in (op.content or {}).items():
        ok_content[media] = {"schema": schema}
    responses: dict[str, Any] = {
        str(op.ok): {"description": _STATUS_TEXT[op.ok], "content": ok_content}
    }
    has_path = any(p.where == "path" for p in op.params)
    if op.params or op.body is not None:
        responses["400"] = _error(400)
        if op.refused_when:
            responses["400"]["description"] += "; also when " + op.refused_when
    if roles:
        responses["401"] = _error(401)
        responses["403"] = _error(403)
    for status in op.errors:
        responses[str(status)] = _error(status, plain=status == 404 and has_path)
    if has_path and "404" not in responses:
        responses["404"] = _error(404, plain=True)
    out: Schema = {
        "operationId": _operation_id(method, route_path),
        "summary": op.summary,
        "responses": responses,
    }
    if op.description:
        out["description"] = op.description
    if op.refused_when:
        out["x-400-when"] = op.refused_when
    if roles:
        out["x-roles"] = list(roles)
        who = ", ".join(roles)
        out["description"] = (f"Roles: {who}. " + op.description).strip()
        out["security"] = [{"session": []}] if method in _SAFE else [{"session": [], "csrf": []}]
    else:
        out["security"] = []
    if op.params:
        out["parameters"] = [p.as_dict() for p in op.params]
    if op.body is not None:
        out["requestBody"] = {"required": True, "content": {JSON: {"schema": op.body}}}
    return out


def _operation_id(method: str, route_path: str) -> str:
    words = [w.strip("{}") for w in route_path.split("/") if w and w != "api"]
    return method.lower() + "_" + "_".join(w.replace(".", "_").replace("-", "_") for w in words)


def api_routes(app: web.Application) -> list[tuple[str, str, tuple[str, ...]]]:
    """(method, path, roles) of every ``/api/...`` route of ``app``, in registration order."""
    found = []
    for route in app.router.routes():
        resource = route.resource
        if route.method == "HEAD" or resource is None:
            continue
        if not resource.canonical.startswith("/api/"):
            continue
        roles = tuple(getattr(route.handler, "allowed_roles", ()) or ())
        found.append((route.method, resource.canonical, roles))
    return found


def build_document(app: web.Application) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for method, route_path, roles in api_routes(app):
        op = OPERATIONS.get((method, route_path))
        paths.setdefault(route_path, {})[method.lower()] = _operation(method, route_path, op, roles)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "callcenter",
            "version": _version(),
            "description": (
                "Call records, the agent's seat (screen-pops, pause, click-to-call), work "
                "orders, recordings, live counters, reports and routing of the hotline. "
                "Sign in with the form at /login (POST login, password and the csrf_token "
                "of the sign-in page); the session cookie then identifies you. Every POST "
                "and PUT also carries the session's CSRF token (GET /api/me) in X-CSRF-Token "
                "and, from a browser, our own Origin. Errors are JSON with an 'error' field "
                "naming the problem."
            ),
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "session": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "cc_session",
                    "description": "Set by POST /login; HttpOnly, SameSite=Lax.",
                },
                "csrf": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-CSRF-Token",
                    "description": "The session's csrf_token (GET /api/me), on every "
                    "POST, PUT, PATCH and DELETE.",
                },
            },
            "schemas": {"Error": ERROR, "CallRecord": CALL_RECORD, "WorkOrder": WORK_ORDER},
        },
    }


def _version() -> str:
    try:
        return importlib.metadata.version("callcenter")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree
        return "0"


async def openapi_document(request: web.Request) -> web.Response:
    return web.json_response(build_document(request.app))
