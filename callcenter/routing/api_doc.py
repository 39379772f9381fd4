"""The routing routes' OpenAPI description (``routing/http.py``): the agent, seat and
zone directory, who is on duty, staffing gaps and occupancy."""

from __future__ import annotations

from callcenter.web.openapi_schema import (
    ANY_ID,
    BOOL,
    DATE,
    INT,
    INTERFACE,
    OBJECT,
    STR,
    ZH_EN,
    ApiPart,
    Operation,
    Operations,
    Param,
    Schema,
    array,
    obj,
    path,
)

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
MOMENT: Schema = {
    "type": "string",
    "description": "a local date (its midnight) or date and time, ISO 8601",
    "examples": ["2026-12-01T08:00", "2026-12-01"],
}

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

OPERATIONS: Operations = {
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

PART = ApiPart(OPERATIONS)
