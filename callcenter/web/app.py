"""The aiohttp application: thin handlers over the call records and the live service
state; the features add their routes and hand over their OpenAPI parts."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from typing import Any, Protocol, Unpack

from aiohttp import web

from callcenter.core.call_record import CallFilter
from callcenter.core.errors import ApiError
from callcenter.core.errors import install as install_error_pages
from callcenter.web import api_doc as core_doc
from callcenter.web.admin_page import TIME_ZONE_KEY, add_admin_screens
from callcenter.web.headers import install as install_security_headers
from callcenter.web.openapi import OPENAPI_PATH, ApiPart, describe, openapi_document
from callcenter.web.page_frame import framed_error
from callcenter.web.page_frame import setup as setup_page_frame
from callcenter.web.security import current_user, require_roles
from callcenter.web.validation import query_values


class CallRecordView(Protocol):
    @property
    def agent(self) -> str: ...

    def to_dict(self) -> dict[str, Any]: ...


class CallListing(Protocol):
    """Where the call records are read (the call store)."""

    def list_calls(
        self, *, limit: int = 100, offset: int = 0, **filters: Unpack[CallFilter]
    ) -> Sequence[CallRecordView]: ...

    def count_calls(self, **filters: Unpack[CallFilter]) -> int: ...

    def get_call(self, pbx: str, call_id: str) -> CallRecordView | None: ...


class ServiceView(Protocol):
    @property
    def store(self) -> CallListing: ...

    def ready(self) -> dict[str, bool]: ...


SERVICE_KEY: web.AppKey[ServiceView] = web.AppKey("service")


def _own_calls_only(request: web.Request) -> str | None:
    """An agent sees the calls they answered; supervisors and admins see every call."""
    user = current_user(request)
    if user is not None and user.role == "agent":
        return user.agent or user.login
    return None


@require_roles("agent", "supervisor", "admin")
async def list_calls(request: web.Request) -> web.Response:
    service = request.app[SERVICE_KEY]
    query = query_values(request)  # checked against the OpenAPI description already
    filters: CallFilter = {
        "since": query["since"],
        "until": query["until"],
        "outcome": query["outcome"],
        "queue": query["queue"] or None,
        "pbx": query["pbx"] or None,
        "agent": _own_calls_only(request) or query["agent"] or None,
    }
    limit, offset = query["limit"], query["offset"] or 0
    records = await asyncio.to_thread(
        service.store.list_calls, **filters, limit=limit, offset=offset
    )
    total = await asyncio.to_thread(service.store.count_calls, **filters)
    return web.json_response(
        {"total": total, "limit": limit, "offset": offset, "calls": [r.to_dict() for r in records]}
    )


@require_roles("agent", "supervisor", "admin")
async def get_call(request: web.Request) -> web.Response:
    service = request.app[SERVICE_KEY]
    record = await asyncio.to_thread(
        service.store.get_call, request.match_info["pbx"], request.match_info["call_id"]
    )
    own = _own_calls_only(request)
    if record is None or (own is not None and record.agent != own):
        raise ApiError(404, "no_such_call", "没有这个通话", "no such call")
    return web.json_response(record.to_dict())


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    parts = request.app[SERVICE_KEY].ready()
    ready = bool(parts) and all(parts.values())
    return web.json_response({"ready": ready, "parts": parts}, status=200 if ready else 503)


def build_app(
    service: ServiceView, parts: Iterable[ApiPart] = (), *, time_zone: str = "UTC"
) -> web.Application:
    """The core routes; ``parts``: the OpenAPI parts of the routes the features add;
    ``time_zone``: the zone the admin screens show times in (``timezone`` in the settings)."""
    app = web.Application(client_max_size=1024 * 1024)
    app[TIME_ZONE_KEY] = time_zone
    install_error_pages(app, framed_error)
    install_security_headers(app)
    app[SERVICE_KEY] = service
    describe(app, core_doc.PART, *parts)
    app.router.add_get("/api/calls", list_calls)
    app.router.add_get("/api/calls/{pbx}/{call_id}", get_call)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    setup_page_frame(app)  # "/" (each role's home), /admin, the navigation bar
    add_admin_screens(app)  # the features' /admin/... screens, listed on the admin home
    app.router.add_get(OPENAPI_PATH, openapi_document)  # describes whatever is added later too
    return app
