"""The metrics routes' OpenAPI description: the wallboard and live monitoring
(``metrics/wallboard.py``), reports and live counters (``metrics/http.py``)."""

from __future__ import annotations

from callcenter.web.openapi_schema import (
    DATE,
    EPOCH,
    INT,
    NUM,
    OBJECT,
    PBX_DOWN,
    STR,
    ApiPart,
    Operation,
    Operations,
    Param,
    Schema,
    array,
    obj,
)

# the phone a supervisor listens from and the one listened to (what ChanSpy can dial)
PHONE: Schema = {
    "type": "string",
    "pattern": "^[A-Za-z][A-Za-z0-9]{1,15}/[A-Za-z0-9_.@+-]{1,64}$",
    "description": "a phone such as PJSIP/1001",
    "examples": ["PJSIP/1001"],
}
LIVE = obj(
    ["at", "lines_in_use", "line_capacity", "waiting", "agents", "hour", "today", "alerts"],
    at=EPOCH, lines_in_use=INT, line_capacity=INT, lines_high=NUM, calls_in_ivr=INT,
    waiting=OBJECT, agents=OBJECT, hour=OBJECT, today=OBJECT, answer_rate_target=NUM,
    alerts=array(OBJECT),
)  # fmt: skip

OPERATIONS: Operations = {
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
    ("GET", "/api/reports/agents"): Operation(
        "Per agent: calls offered (rung), answered, ring-no-answer, AHT, occupancy, pause "
        "time and QA average",
        params=(
            Param("from", DATE, required=True),
            Param("to", DATE, required=True, description="at most 400 days after from"),
            Param("format", {"enum": ["json", "csv", "xlsx"]}),
            Param("lang", {"enum": ["zh", "en"]}, "column titles of csv and xlsx"),
        ),
        result=obj(["from", "to", "agents"], agents=array(OBJECT)),
        content={
            "text/csv": STR,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                "type": "string",
                "contentEncoding": "binary",
            },
        },
        refused_when="to is before from or more than 400 days after it",
    ),
    ("GET", "/api/live"): Operation(
        "Live counters: lines, queues, agents, answer rate", result=LIVE
    ),
}

PART = ApiPart(OPERATIONS)
