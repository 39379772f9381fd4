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
    Schema,
    array,
    nullable,
    obj,
    path,
)

USER = obj(
    ["id", "login", "role"], id=INT, login=STR, role=ROLE, display_name=STR, agent=STR,
    interface=STR, active=BOOL,
)  # fmt: skip
SCOPE: Schema = {"type": "string", "enum": ["read", "write"]}
API_TOKEN = obj(
    ["id", "name", "role", "scopes"], id=INT, name=STR, role=ROLE, scopes=array(SCOPE),
    hint={**STR, "description": "the token's first characters, to tell tokens apart"},
    created_by=STR, created_at=EPOCH, expires_at=nullable(EPOCH), revoked_at=nullable(EPOCH),
    last_used_at=nullable(EPOCH),
)  # fmt: skip
IMPORT_JOB = obj(
    ["id", "file", "state"], id=INT, file=STR, by=STR, dry_run=BOOL,
    state={"enum": ["checking", "writing", "done", "refused", "failed"]}, rows=INT, done=INT,
    total=INT, created=INT, updated=INT, problem_count=INT,
    problems=array({**STR, "description": "row N, column C: what is wrong (the first 200)"}),
)  # fmt: skip
ROW_ID: Schema = {"type": "integer", "minimum": 1, "maximum": MAX_ROW_ID}
TOKEN_ID = path("token_id", ROW_ID)
OWNER_ID = path("owner_id", ROW_ID)
LOGIN = path("login", {"type": "string", "pattern": "^[A-Za-z0-9._@-]{1,64}$"})

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
CALLBACK = obj(
    ["id", "kind", "state", "number", "due_at", "assignee", "standing"],
    id=INT, kind={"enum": ["callback", "satisfaction"]},
    state={"enum": ["due", "done", "failed", "cancelled"]}, number=STR, due_at=EPOCH,
    assignee=STR, created_by=STR, created_at=EPOCH, updated_at=EPOCH, reason=STR,
    owner_id=nullable(INT), owner_name=STR, owner_unit=STR, pbx=STR, call_id=STR,
    work_order_id=nullable(INT), attempts=INT, last_result=STR, score=nullable(INT),
    dial_pbx=STR, dial_call_id=STR,
    standing={"enum": ["upcoming", "due", "overdue", "closed"]},
)  # fmt: skip
CALLBACK_ID = path("callback_id", ROW_ID)
OWNER_SUMMARY = obj(
    ["id", "name"], id=INT, name=STR, zone=STR, vip=BOOL, units=array(STR), phones=array(STR)
)
ORDER_ID = path("order_id", ROW_ID)

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
    ("PATCH", "/api/users/{login}"): Operation(
        "Change a user: role, names, seat, a new password, or disable (a new password "
        "or disabling signs them out everywhere)",
        params=(LOGIN,),
        body=obj(
            role=ROLE,
            active=BOOL,
            display_name={**ONE_LINE_TEXT, "maxLength": 100},
            agent={**ONE_LINE_TEXT, "maxLength": 100},
            interface=INTERFACE,
            password={"type": "string", "minLength": 8},
        ),
        result=USER,
        errors=(404,),
        refused_when="an admin would disable their own account or drop their own admin role",
    ),
    # -- API tokens (service accounts of other systems)
    ("GET", "/api/tokens"): Operation(
        "API tokens (never the tokens themselves: only their first characters)",
        result=obj(["tokens"], tokens=array(API_TOKEN)),
    ),
    ("POST", "/api/tokens"): Operation(
        "Make an API token; the answer holds the token, shown this once",
        ok=201,
        body=obj(
            ["name", "role"],
            name={"type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$"},
            role=ROLE,
            scopes={**array(SCOPE), "description": "read (GET) and/or write; default: read"},
            expires_in_days={"type": "number", "minimum": 0.001, "maximum": 3650},
        ),
        result=obj(["token"], **API_TOKEN["properties"], token=STR),
        refused_when="the name is taken",
    ),
    ("DELETE", "/api/tokens/{token_id}"): Operation(
        "Revoke an API token: its next request gets 401",
        params=(TOKEN_ID,),
        result=API_TOKEN,
        errors=(404,),
    ),
    # -- owners imported from the admin screen
    ("POST", "/api/owners/import"): Operation(
        "Import owners from a .csv (UTF-8 or GB18030) or .xlsx file sent as the body "
        "(application/octet-stream, at most 32 MiB): checked whole (all rows or none), then "
        "written in the background; follow it with GET /api/owners/import/{job_id}",
        ok=202,
        params=(
            Param(
                "name",
                {"type": "string", "pattern": "^[^/\\\\\\r\\n]{1,128}\\.(csv|CSV|xlsx|XLSX)$"},
                "the file's name (its ending says how to read it)",
                required=True,
            ),
            Param(
                "dry_run",
                {"enum": ["true", "false"], "default": "false"},
                "check and count only, write nothing",
            ),
        ),
        result=IMPORT_JOB,
        errors=(413,),
    ),
    ("GET", "/api/owners/import/{job_id}"): Operation(
        "How far an owner import has come",
        params=(path("job_id", ROW_ID),),
        result=IMPORT_JOB,
        errors=(404,),
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
            OWNER_ID,
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
            owner_id=nullable(ROW_ID),
            caller_number={"type": "string", "maxLength": 32},
            pbx=STR,
            call_id=STR,
            category=STR,
            department=STR,
            description={"type": "string", "maxLength": 4000},
        ),
        result=WORK_ORDER,
        errors=(404,),
        refused_when="department is not one of /api/workorders/departments, or owner_id "
        "names no owner, or due_at is not in the future, or pbx and "
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
        refused_when="department is not one of /api/workorders/departments",
    ),
    ("POST", "/api/workorders/{order_id}/callback"): Operation(
        "回访: ring the seat, then the work order's caller",
        ok=202,
        params=(ORDER_ID, SEAT_PARAM),
        result=obj(["work_order", "number"], work_order=INT, number=STR),
        errors=(404, 409, *PBX_DOWN),
        refused_when="the work order's caller number is not a phone number",
    ),
    ("GET", "/api/workorders/departments"): Operation(
        "The departments a work order is dispatched to (cti.departments)",
        result=obj(["departments"], departments=array(STR)),
    ),
    # -- owners: search and linking
    ("GET", "/api/owners/search"): Operation(
        "Owners by name, unit, owner code or number (a summary of each; audited)",
        params=(
            Param(
                "q",
                {"type": "string", "maxLength": 64},
                "what to look for",
                required=True,
            ),
            REASON,
        ),
        result=obj(["owners", "more"], owners=array(OWNER_SUMMARY), more=BOOL),
        errors=(429,),
        refused_when="q is empty, or one letter or digit, once spaces are dropped (one "
        "Chinese character, a surname, is searched)",
        description="A search is a deliberate lookup: an agent gives `reason` (403 without) "
        "and each search counts as one owner read against `cti.owner_reads_limit`; at most "
        "`cti.owner_search_max` owners come back (`more` says there were others), without "
        "arrears or notes, numbers cut to their last four digits. One audit line per search "
        "(the query, numbers masked, and the ids found).",
    ),
    ("POST", "/api/owners/{owner_id}/numbers"): Operation(
        "Link a caller's number to an owner: the next call from it pops as them (audited)",
        params=(OWNER_ID,),
        body=obj(pbx=ANY_ID, call_id=ANY_ID, number={"type": "string", "maxLength": 32}),
        result=obj(["owner", "number"], owner=OWNER_SUMMARY, number=STR),
        errors=(404,),
        refused_when="no call is named (agents link the caller of a call of theirs; "
        "supervisors and admins may give number instead), or the number is not one",
    ),
    # -- callbacks (回电, 回访)
    ("GET", "/api/callbacks"): Operation(
        "Callbacks: an agent's own; supervisors and admins everyone's with scope=team",
        params=(
            Param("scope", {"enum": ["mine", "team"]}, "team: everyone's (supervisors, admins)"),
            Param("open", {"enum": ["1", "0"]}, "0: closed ones too"),
            Param("due", {"enum": ["1", "0"]}, "1: only those due within cti.callback_due_ahead_s"),
        ),
        result=obj(["callbacks"], callbacks=array(CALLBACK)),
    ),
    ("POST", "/api/callbacks"): Operation(
        "Schedule a callback on a call (its caller is rung back) or a work order; "
        "kind satisfaction (回访) moves a done work order to callback_scheduled",
        ok=201,
        body=obj(
            ["due_at", "reason"],
            kind={"enum": ["callback", "satisfaction"]},
            due_at=EPOCH,
            reason={"type": "string", "minLength": 1, "maxLength": 500},
            pbx=ANY_ID,
            call_id=ANY_ID,
            work_order_id=nullable(ROW_ID),
            owner_id=nullable(ROW_ID),
            assignee=STR,
        ),
        result=CALLBACK,
        errors=(404, 409),
        refused_when="neither a call nor a work order is named, the due time is past, or "
        "the owner is not the call's",
    ),
    ("GET", "/api/callbacks/{callback_id}"): Operation(
        "A callback with its attempts",
        params=(CALLBACK_ID,),
        result={**CALLBACK, "required": [*CALLBACK["required"], "attempts"]},
        errors=(404,),
    ),
    ("POST", "/api/callbacks/{callback_id}/dial"): Operation(
        "Ring the seat, then the callback's number (the dialling policy applies)",
        ok=202,
        params=(CALLBACK_ID, SEAT_PARAM),
        result=obj(
            ["callback", "number", "pbx", "call_id"],
            callback=INT,
            number=STR,
            pbx=STR,
            call_id=STR,
        ),
        description="The seat's channel is created with `ChannelId` set, so the call's id "
        "is known at once: the next result recorded goes on that call too (as the agent's "
        "wrap-up `callback_<result>`).",
        errors=(404, 409, *PBX_DOWN),
        refused_when="the number may not be dialled from a seat",
    ),
    ("POST", "/api/callbacks/{callback_id}/result"): Operation(
        "Record an attempt: reached (a 回访 with its 1-5 score), no_answer (tried again "
        "after cti.callback_retry_delay_s, up to cti.callback_max_attempts), wrong_number, "
        "retry (at retry_at)",
        params=(CALLBACK_ID,),
        body=obj(
            ["result"],
            result={"enum": ["reached", "no_answer", "wrong_number", "retry"]},
            retry_at=nullable(EPOCH),
            score=nullable({"type": "integer", "minimum": 1, "maximum": 5}),
            note={"type": "string", "maxLength": 2000},
        ),
        result={**CALLBACK, "properties": {**CALLBACK["properties"], "work_order": OBJECT}},
        errors=(404, 409),
    ),
    ("POST", "/api/callbacks/{callback_id}/cancel"): Operation(
        "Cancel a callback that is still due",
        params=(CALLBACK_ID,),
        result=CALLBACK,
        errors=(404, 409),
    ),
}

PART = ApiPart(
    OPERATIONS, schemas={"WorkOrder": WORK_ORDER, "ApiToken": API_TOKEN, "Callback": CALLBACK}
)
