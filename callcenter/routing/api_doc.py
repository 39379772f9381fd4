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
    nullable,
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
SEAT_FIELDS: dict[str, Schema] = {"interface": SEAT_INTERFACE, "label": STR}
ZONE_FIELDS: dict[str, Schema] = {
    "name_zh": STR,
    "name_en": STR,
    "buildings": array(STR),
    "housekeeper": STR,
    "queue": STR,
}

# a staffing gap: fewer agents on duty (``have``) than a minimum rule asks (``need``)
GAP_FIELDS: dict[str, Schema] = {
    "rule": STR,
    "start": STR,
    "end": STR,
    "have": INT,
    "need": INT,
    "message": ZH_EN,
}


def _add(summary: str, body: Schema, result: Schema) -> Operation:
    """A directory entry added: written back to its file unless the id is taken."""
    return Operation(
        summary, ok=201, body=body, result=result, errors=(409,), refused_when=DIRECTORY_RULES
    )


def _change(summary: str, body: Schema, result: Schema) -> Operation:
    """A directory entry changed by id: the fields given replace the ones held."""
    return Operation(
        summary,
        params=(path("id", ANY_ID),),
        body=body,
        result=result,
        errors=(404,),
        refused_when=DIRECTORY_RULES,
    )


OPERATIONS: Operations = {
    # -- routing
    ("GET", "/api/routing/agents"): Operation("Agents", result=array(AGENT)),
    ("POST", "/api/routing/agents"): _add(
        "Add an agent (written back to the agents file)",
        {
            **AGENT_BODY,
            "required": ["id", "name"],
            "properties": {"id": ANY_ID, **AGENT_BODY["properties"]},
        },
        AGENT,
    ),
    ("PUT", "/api/routing/agents/{id}"): _change(
        "Change an agent (fields not given stay)", AGENT_BODY, AGENT
    ),
    ("GET", "/api/routing/seats"): Operation("Seats", result=array(SEAT)),
    ("POST", "/api/routing/seats"): _add(
        "Add a seat", obj(["id", "interface"], id=ANY_ID, **SEAT_FIELDS), SEAT
    ),
    ("PUT", "/api/routing/seats/{id}"): _change("Change a seat", obj(**SEAT_FIELDS), SEAT),
    ("GET", "/api/routing/zones"): Operation("Zones and their housekeepers", result=array(ZONE)),
    ("POST", "/api/routing/zones"): _add("Add a zone", obj(["id"], id=ANY_ID, **ZONE_FIELDS), ZONE),
    ("PUT", "/api/routing/zones/{id}"): _change("Change a zone", obj(**ZONE_FIELDS), ZONE),
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
        result=array(obj(["rule", "day", "have", "need"], day=STR, **GAP_FIELDS)),
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

NAME = {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[^\\r\\n]*$"}
ROSTER_EDIT = obj(
    leave=array(obj(["agent"], agent=NAME, reason={**NAME, "minLength": 0}) | {"additionalProperties": False}),
    swaps=array(obj(["agent", "with"], agent=NAME, **{"with": NAME}) | {"additionalProperties": False}),
    extra=array(obj(["agent", "shift"], agent=NAME, shift=NAME, team={**NAME, "minLength": 0})
                | {"additionalProperties": False}),
) | {"additionalProperties": False}  # fmt: skip
ROSTER_DAY = obj(
    ["day", "shifts", "leave", "gaps", "edit"], day=DATE, weekday=INT, holiday=nullable(STR),
    shifts=array(obj(["agent", "shift", "start", "end"], agent=STR, name=STR, shift=STR, label=ZH_EN,
                     team=STR, start=STR, end=STR, origin={"enum": ["rotation", "swap", "extra"]})),
    leave=array(obj(["agent", "from", "to"], agent=STR, name=STR, reason=STR, **{"from": DATE, "to": DATE})),
    gaps=array(obj(["rule", "have", "need"], **GAP_FIELDS)),
    # gaps that follow each other as one stretch, at worst ``short`` people missing, the
    # rules named by their titles (what the roster screen shows)
    gap_ranges=array(obj(["start", "end", "short", "rules"], start=STR, end=STR, short=INT,
                         rules=obj(["zh", "en"], zh=array(STR), en=array(STR)))),
    edit=ROSTER_EDIT,
)  # fmt: skip
OPERATIONS[("GET", "/api/routing/roster/week")] = Operation(
    "The roster's week (Monday first): shifts, leave, gaps against the minimums and each "
    "day's own exceptions",
    params=(Param("from", DATE, "a day of the week (default: today)"),),
    result=obj(
        ["from", "days"],
        **{"from": DATE},
        today=DATE,
        days=array(ROSTER_DAY),
        agents=array(obj(["agent"], agent=STR, name=STR)),
        shifts=array(obj(["shift"], shift=STR, label=ZH_EN)),
        editable=BOOL,
    ),
    refused_when="from is not a date in the years 1971-8999",
)
OPERATIONS[("PUT", "/api/routing/roster/days/{day}")] = Operation(
    "Replace one day's leave, swaps and extra shifts; written to the roster file",
    params=(path("day", DATE),),
    body=ROSTER_EDIT,
    result=ROSTER_DAY,
    errors=(409,),
    refused_when="the edit makes no sense for the day (an agent on no roster, an unknown "
    "shift, a swap where neither works, an extra shift overlapping one the agent already "
    "works: the reasons in both languages), the roster file would not load (the detail "
    "goes to the log), or the day is not a date in the years 1971-8999",
)

PART = ApiPart(OPERATIONS)
