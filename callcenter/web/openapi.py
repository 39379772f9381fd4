"""The OpenAPI 3.1 description of the HTTP API (every ``/api/...`` route), served at
``GET /api/openapi.json`` to anyone: it names routes and fields, never data or secrets.

Paths, methods and roles come from the running application's router and each handler's
``@require_roles``, so the document cannot list a route the service does not have or
admit a role the handler refuses. What each operation takes and gives back is written
by the feature that serves it, in its ``api_doc.py`` (``callcenter.web.api_doc`` for the
core routes), with the building blocks of ``callcenter.web.openapi_schema``; each part is
handed to the application with ``describe`` (by whoever mounts the routes), and
``operations_of`` is what the application was given. A route missing there still appears,
marked ``x-undescribed``, and the test suite refuses that (and any description left over
from a removed route). The same descriptions are what the routes accept:
``callcenter.web.validation`` refuses, with a 400, any parameter or body they do not admit,
so the schemas must say exactly what passes.

Signing in is a browser form (``GET /login`` then ``POST /login``), described in the
security schemes: a session cookie, and for every state-changing request the session's
CSRF token in ``X-CSRF-Token`` (from ``GET /api/me``) plus, from a browser, our own Origin.
"""

from __future__ import annotations

import importlib.metadata
from typing import Any

from aiohttp import web

from callcenter.web.openapi_schema import (
    ERROR,
    JSON,
    OBJECT,
    OPENAPI_PATH,
    ApiPart,
    Operation,
    Operations,
    Param,
    Schema,
)

__all__ = [
    "OPENAPI_PATH",
    "ApiPart",
    "Operation",
    "Param",
    "Schema",
    "api_routes",
    "build_document",
    "describe",
    "openapi_document",
    "operations_of",
]


class _Described:
    """The parts an application was given, merged: one description per route."""

    def __init__(self) -> None:
        self.operations: Operations = {}
        self.schemas: dict[str, Schema] = {}

    def add(self, part: ApiPart) -> None:
        # The same part may come twice (a feature's setup and the composition root);
        # a route described two different ways is a mistake.
        twice = [k for k, op in part.operations.items() if self.operations.get(k, op) != op]
        if twice:
            raise ValueError(f"described twice: {sorted(twice)}")
        self.operations.update(part.operations)
        self.schemas.update(part.schemas)


_DESCRIBED: web.AppKey[_Described] = web.AppKey("openapi_parts", _Described)


def describe(app: web.Application, *parts: ApiPart) -> None:
    """Hand ``app`` the descriptions of routes it serves (before it starts)."""
    described = app.get(_DESCRIBED)
    if described is None:
        described = app[_DESCRIBED] = _Described()
    for part in parts:
        described.add(part)


def operations_of(app: web.Application) -> Operations:
    """Every operation ``app`` was given, by (method, path)."""
    described = app.get(_DESCRIBED)
    return described.operations if described is not None else {}


# --- the document ---------------------------------------------------------------------------

_STATUS_TEXT = {
    200: "OK", 201: "Created", 202: "Accepted: under way (the PBX was asked, or a job started)",
    400: "Bad request: the message names the parameter or field and the problem",
    401: "Not signed in", 403: "Your role may not do this, or the CSRF token or Origin is wrong",
    404: "No such thing (or not one of yours)",
    409: "Conflicts with the current state (or the PBX refused the action)",
    413: "The body is too large",
    429: "Too many requests of this kind lately: try again after Retry-After seconds",
    502: "The PBX did not answer", 503: "Not available now (no PBX connection)",
}  # fmt: skip
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


def _error(status: int) -> dict[str, Any]:
    return {"description": _STATUS_TEXT[status], "content": {JSON: {"schema": ERROR}}}


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
        responses[str(status)] = _error(status)
    if has_path and "404" not in responses:
        responses["404"] = _error(404)
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
        session: list[dict[str, list[str]]] = (
            [{"session": []}] if method in _SAFE else [{"session": [], "csrf": []}]
        )
        out["security"] = [*session, {"bearer": []}]
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
        op = operations_of(app).get((method, route_path))
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
                "and, from a browser, our own Origin. Other systems send an API token instead: "
                "Authorization: Bearer <token>, without cookie or CSRF token. Errors are JSON with an 'error' field "
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
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API token (callcenter tokens create, or POST "
                    "/api/tokens): Authorization: Bearer <token>; no CSRF token needed.",
                },
                "csrf": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-CSRF-Token",
                    "description": "The session's csrf_token (GET /api/me), on every "
                    "POST, PUT, PATCH and DELETE.",
                },
            },
            "schemas": {"Error": ERROR, **_schemas_of(app)},
        },
    }


def _schemas_of(app: web.Application) -> dict[str, Schema]:
    described = app.get(_DESCRIBED)
    return dict(described.schemas) if described is not None else {}


def _version() -> str:
    try:
        return importlib.metadata.version("callcenter")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree
        return "0"


async def openapi_document(request: web.Request) -> web.Response:
    return web.json_response(build_document(request.app))
