"""The building blocks of the OpenAPI description: JSON Schema shorthands, the shapes
every feature shares, and ``Param`` / ``Operation``, what one route takes and gives back.

Each feature describes its own routes with these, next to its ``http.py`` (an
``api_doc.py`` with an ``OPERATIONS`` table, handed over as an ``ApiPart``);
``callcenter.web.openapi`` merges the parts an application is given into the document, and
``callcenter.web.validation`` enforces them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

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
ZH_EN: Schema = obj(["zh", "en"], zh=STR, en=STR)
# Every error answer (``callcenter.core.errors.ApiError``): nothing more, nothing less.
ERROR: Schema = {
    "type": "object",
    "required": ["error"],
    "additionalProperties": False,
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "zh", "en"],
            "additionalProperties": False,
            "properties": {
                "code": {"type": "string", "description": "what went wrong, for programs"},
                "zh": {"type": "string", "description": "what went wrong, in Chinese"},
                "en": {"type": "string", "description": "what went wrong, in English"},
            },
        }
    },
}
DATE: Schema = {"type": "string", "format": "date", "examples": ["2026-12-01"]}

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


def page_params(*, minimum: int, maximum: int, default: int) -> tuple[Param, Param]:
    """``limit`` within these bounds and ``offset``: how a long list is read a page at a time."""
    return (
        Param(
            "limit", {"type": "integer", "minimum": minimum, "maximum": maximum, "default": default}
        ),
        Param("offset", {"type": "integer", "minimum": 0, "maximum": 10_000_000}),
    )


def page_of(key: str, items: Schema) -> Schema:
    """One page of a list under ``key``, with the page asked for and the whole list's size."""
    return obj(
        ["total", "limit", "offset", key], total=INT, limit=INT, offset=INT, **{key: array(items)}
    )


# what a feature's api_doc.py exports: (method, path) -> its description
Operations = dict[tuple[str, str], Operation]


@dataclass(frozen=True)
class ApiPart:
    """One feature's share of the document: its operations and the named schemas it adds
    to ``components``."""

    operations: Operations
    schemas: Mapping[str, Schema] = field(default_factory=dict)
