"""The CTI routes' OpenAPI description (``cti/http.py``, ``cti/signin.py``): signing in and
users, the seat, owners, the audit trail and work orders."""

from __future__ import annotations

from callcenter.web.openapi_schema import (
    ANY_ID,
    BOOL,
    EPOCH,
    INT,
    INTERFACE,
    MAX_ROW_ID,
    NUM,
    OBJECT,
    ONE_LINE_TEXT,
    PBX_DOWN,
    ROLE,
    STR,
    ApiPart,
    Operation,
    Operations,
    Param,
    array,
    nullable,
    obj,
    path,
)

USER = obj(
    ["id", "login", "role"], id=INT, login=STR, role=ROLE, display_name=STR, agent=STR,
    interface=STR,
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
SEAT_PARAM = Param(
    "interface", INTERFACE, "supervisors and admins: another seat; agents always act on their own"
)
REASON = Param(
    "reason",
    {"type": "string", "maxLength": 200},
    "why an agent reads an owner outside the calls at their seat (kept in the audit trail)",
)
NEED_TO_KNOW = (
    "An agent reads owners of the calls in hand at their seat (ringing, talking, or in "
    "wrap-up after answering) freely; any other owner needs `reason` (403 without) and "
    "counts against `cti.owner_reads_limit` per `cti.owner_reads_window_s` (429 with "
    "Retry-After past it; supervisors are alerted). Supervisors and admins read any owner. "
    "Every read is audited with its basis."
)
ORDER_ID = path("order_id", {"type": "integer", "minimum": 1, "maximum": MAX_ROW_ID})

OPERATIONS: Operations = {
    # -- sign-in and users
    ("GET", "/api/me"): Operation(
        "The signed-in user and the session's CSRF token",
        result=obj(
            ["login", "role", "csrf_token"],
            **USER["properties"],
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
    # -- the seat (CTI)
    ("GET", "/api/seat/pops"): Operation(
        "Screen-pops showing on a seat now",
        params=(SEAT_PARAM,),
        result=obj(["pops"], pops=array(OBJECT)),
        errors=(409,),
    ),
    ("POST", "/api/seat/pops/close"): Operation(
        "Close an ended call's card on the seat (it stays after the hangup until closed)",
        params=(SEAT_PARAM,),
        body=obj(["pbx", "call_id"], pbx=ANY_ID, call_id=ANY_ID),
        result=obj(["closed"], closed=BOOL),
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
        "How a call ended for the agent (wrap-up; callback: 需回电), stored on the call named: "
        "one that popped on the agent's seat or that they took (supervisors, admins: any)",
        body=obj(
            ["disposition", "pbx", "call_id"],
            disposition={"enum": ["resolved", "work_order", "callback", "wrong_number", "other"]},
            pbx=ANY_ID,
            call_id=ANY_ID,
            note={"type": "string", "maxLength": 2000},
        ),
        result=obj(["saved", "pbx", "call_id"], saved=BOOL, pbx=STR, call_id=STR, disposition=STR),
        errors=(404,),
    ),
    ("GET", "/api/seat/calls/today"): Operation(
        "Today's calls of an agent (supervisors and admins may name one)",
        params=(Param("agent", STR, "queue member name"),),
        result=obj(["agent", "since", "calls"], agent=STR, since=EPOCH, calls=array(OBJECT)),
    ),
    ("POST", "/api/seat/transfer"): Operation(
        "Transfer the named call from this seat: blind (BlindTransfer) or attended (Atxfer) "
        "to another seat's extension, a queue, or the caller's housekeeper",
        ok=202,
        params=(SEAT_PARAM,),
        body=obj(
            ["pbx", "call_id", "mode", "to"],
            pbx=ANY_ID,
            call_id=ANY_ID,
            mode={"enum": ["blind", "attended"]},
            to={"enum": ["seat", "queue", "housekeeper"]},
            target={**ONE_LINE_TEXT, "maxLength": 64},
        ),
        result=obj(
            ["pbx", "call_id", "mode", "to", "target"],
            pbx=STR,
            call_id=STR,
            mode=STR,
            to=STR,
            target=STR,
            target_label=STR,
        ),
        errors=(404, 409, *PBX_DOWN),
        refused_when="target is not a seat extension or queue name, or names the agent's own seat",
    ),
    ("GET", "/api/seat/day"): Operation(
        "The agent's own day: calls taken, talk time, average handling (talk + wrap-up), "
        "pause time by reason, the seat's state now and since when",
        params=(SEAT_PARAM, Param("agent", STR, "queue member name")),
        result=obj(
            ["agent", "interface", "since", "paused", "calls_taken", "talk_s", "pause_s", "state"],
            agent=STR,
            interface=STR,
            since=EPOCH,
            paused=BOOL,
            calls_taken=INT,
            talk_s=INT,
            handle_avg_s=nullable(INT),
            pause_s=OBJECT,
            state=STR,
            state_reason=STR,
            state_since=nullable(NUM),
            state_s=nullable(INT),
        ),
        errors=(409,),
    ),
    ("GET", "/api/owners/lookup"): Operation(
        "Owners whose phone matches a number (audited)",
        params=(Param("number", STR, "a phone number in any common form"), REASON),
        result=obj(["owners"], owners=array(OWNER)),
        errors=(429,),
        description=NEED_TO_KNOW,
    ),
    ("GET", "/api/owners/{owner_id}"): Operation(
        "An owner's record with their work orders (audited)",
        params=(
            path("owner_id", {"type": "integer", "minimum": 1, "maximum": MAX_ROW_ID}),
            REASON,
        ),
        result=obj(["owner", "work_orders"], owner=OWNER, work_orders=array(WORK_ORDER)),
        errors=(404, 429),
        description=NEED_TO_KNOW,
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
        "Raise a work order; with pbx and call_id, on that call (one the agent may write on, "
        "as for a wrap-up), its caller and one of the caller's owners",
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
        errors=(404,),
        refused_when="owner_id names no owner, or due_at is not in the future, or pbx and "
        "call_id come one without the other, or caller_number or owner_id are not the named "
        "call's",
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
        refused_when="the work order's caller number is not a phone number",
    ),
}

PART = ApiPart(OPERATIONS, schemas={"WorkOrder": WORK_ORDER})
