"""The recordings routes' OpenAPI description (``recordings/http.py``): search, QA
scoring, playback links and legal hold."""

from __future__ import annotations

from callcenter.web.openapi_schema import (
    BOOL,
    EPOCH,
    INT,
    MAX_ROW_ID,
    NUM,
    OBJECT,
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

RECORDING = obj(
    ["id", "path", "pbx", "call_id"], id=INT, path=STR, pbx=STR, call_id=STR,
    caller_number=nullable(STR), agent=nullable(STR), queue=nullable(STR),
    work_order=nullable(STR), recorded_at=nullable(NUM), duration_s=nullable(NUM),
    container=nullable(STR), codec=nullable(STR), size=nullable(INT), sha256=nullable(STR),
    qa_score=nullable(NUM), legal_hold=BOOL, hold_reason=nullable(STR),
    probe_error=nullable(STR), part=nullable(INT),
)  # fmt: skip
RID = path("rid", {"type": "integer", "minimum": 0, "maximum": MAX_ROW_ID}, "recording id")

OPERATIONS: Operations = {
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
            *page_params(minimum=1, maximum=500, default=50),
        ),
        result=page_of("recordings", RECORDING),
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
    ("GET", "/api/recordings/qa/history"): Operation(
        "QA per agent and criterion (percent of the maximum) and the score sheets, newest "
        "call first; an agent gets their own only",
        params=(*SINCE_UNTIL, Param("agent", STR, "only this agent's sheets")),
        result=obj(
            ["agents", "sheets"],
            agents=array(
                obj(
                    ["agent", "sheets", "mean", "by_criterion"],
                    agent=STR,
                    sheets=INT,
                    mean=NUM,
                    by_criterion=OBJECT,
                )
            ),
            sheets=array(
                obj(
                    ["recording_id", "reviewer", "agent", "total", "scores"],
                    recording_id=INT,
                    reviewer=STR,
                    agent=STR,
                    recorded_at=NUM,
                    scored_at=NUM,
                    total=NUM,
                    scores=OBJECT,
                    comment=STR,
                )
            ),
        ),
    ),
    ("GET", "/api/recordings/qa/calibration"): Operation(
        "Recordings scored by several reviewers: each one's total and the spread, and each "
        "reviewer's mean offset from the others",
        params=SINCE_UNTIL,
        result=obj(
            ["recordings", "reviewers"],
            recordings=array(
                obj(
                    ["recording_id", "totals", "spread"],
                    recording_id=INT,
                    agent=STR,
                    recorded_at=NUM,
                    totals=OBJECT,
                    spread=NUM,
                )
            ),
            reviewers=array(
                obj(
                    ["reviewer", "sheets", "mean_offset"], reviewer=STR, sheets=INT, mean_offset=NUM
                )
            ),
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
        errors=(404, 409),
        refused_when="a score names no QA criterion or exceeds its points",
        description="409 `qa_no_agent`: no agent answered the recorded call, so there is "
        "no handling to score.",
    ),
    ("POST", "/api/recordings/{rid}/hold"): Operation(
        "Put a recording on legal hold (kept past retention) or release it",
        params=(RID,),
        body=obj(["hold"], hold=BOOL, reason={"type": "string", "maxLength": 200}),
        result=obj(["id", "legal_hold"], id=INT, legal_hold=BOOL, reason=STR),
        errors=(404,),
    ),
}

PART = ApiPart(OPERATIONS)
