"""The IVR routes' OpenAPI description (``ivr/http.py``): the flows, read, checked and
put in place."""

from __future__ import annotations

from callcenter.ivr.flow_files import MAX_FLOW_CHARS
from callcenter.web.openapi_schema import (
    BOOL,
    INT,
    OBJECT,
    STR,
    ApiPart,
    Operation,
    Operations,
    Schema,
    array,
    obj,
    path,
)

FILE = path(
    "file", {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}\\.ya?ml$"}, "e.g. hotline.yaml"
)
PROBLEM = obj(
    ["file", "line", "column", "reason", "text"], file=STR, line=INT, column=INT, reason=STR,
    text={**STR, "description": "file:line:column: reason"},
    message={**obj(["zh", "en"], zh=STR, en=STR),
             "description": "the text for a Chinese or English page (YAML mistakes in Chinese too)"},
)  # fmt: skip
CHECKED = obj(["file", "ok", "problems"], file=STR, ok=BOOL, problems=array(PROBLEM))
# at most 64 Ki characters: even escaped in JSON (12 bytes a character at worst) the body
# stays under the service's 1 MiB limit
FLOW_TEXT: Schema = obj(["text"], text={"type": "string", "maxLength": MAX_FLOW_CHARS}) | {
    "additionalProperties": False
}


def _checked(summary: str, refused_when: str = "") -> Operation:
    """A flow file's text sent to be checked with the other flows: its problems come back."""
    return Operation(
        summary, params=(FILE,), body=FLOW_TEXT, result=CHECKED, refused_when=refused_when
    )


OPERATIONS: Operations = {
    ("GET", "/api/ivr/flows"): Operation(
        "The flow files, the flows being served (their nodes) and why the last reload was "
        "refused, if it was",
        result=obj(
            ["files", "flows", "refused"],
            files=array(obj(["file"], file=STR, bytes=INT)),
            flows=array(
                obj(
                    ["name", "file", "start", "nodes"],
                    name=STR,
                    file=STR,
                    start=STR,
                    description=STR,
                    languages=array(STR),
                    nodes=array(obj(["id", "type"], id=STR, type=STR, fields=OBJECT)),
                )
            ),
            refused=array(STR),
        ),
    ),
    ("GET", "/api/ivr/flows/{file}"): Operation(
        "A flow file's text",
        params=(FILE,),
        result=obj(["file", "text"], file=STR, text=STR),
        errors=(404,),
    ),
    ("POST", "/api/ivr/flows/{file}/check"): _checked(
        "Check a flow file's text together with the other flows; nothing is written"
    ),
    ("PUT", "/api/ivr/flows/{file}"): _checked(
        "Put a flow file in place once it checks out with the other flows; the flows reload",
        refused_when="the flows would not load: every problem as file:line:column: reason",
    ),
}

PART = ApiPart(OPERATIONS)
