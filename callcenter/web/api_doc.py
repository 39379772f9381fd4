"""The core routes' OpenAPI description: this document and call records (``web/app.py``)."""

from __future__ import annotations

from callcenter.web.openapi_schema import (
    ANY_ID,
    BOOL,
    EPOCH,
    INT,
    NUM,
    OBJECT,
    OPENAPI_PATH,
    SINCE_UNTIL,
    STR,
    ApiPart,
    Operation,
    Operations,
    Param,
    array,
    nullable,
    obj,
    page_of,
    page_params,
    path,
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
OPERATIONS: Operations = {
    ("GET", OPENAPI_PATH): Operation("This description of the HTTP API", result=OBJECT),
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
            *page_params(minimum=0, maximum=1000, default=100),
        ),
        result=page_of("calls", CALL_RECORD),
    ),
    ("GET", "/api/calls/{pbx}/{call_id}"): Operation(
        "One call record with its legs",
        params=(path("pbx", ANY_ID), path("call_id", ANY_ID, "Asterisk's Linkedid")),
        result=CALL_RECORD,
        errors=(404,),
    ),
}

PART = ApiPart(OPERATIONS, schemas={"CallRecord": CALL_RECORD})
