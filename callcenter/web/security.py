"""Who is asking: the signed-in user on a request, and role checks for handlers.

The sign-in middleware puts a ``User`` on ``request[USER_KEY]``; handlers declare the roles
they admit with ``@require_roles(...)``. A request without a user gets 401, a user whose
role is not admitted gets 403, and then a request its OpenAPI description does not admit
gets 400 naming the field (``callcenter.web.validation``): the role check comes first, so
that nobody learns more than "sign in first" from a malformed request.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote

from aiohttp import web

from callcenter.core.errors import ApiError
from callcenter.web.validation import InvalidInput, check_request

Role = Literal["agent", "supervisor", "admin"]
ROLES: tuple[Role, ...] = ("agent", "supervisor", "admin")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class User:
    id: int
    login: str
    role: Role
    display_name: str = ""
    agent: str = ""  # the queue member name this user answers calls as ("Agent 1001")
    interface: str = ""  # their seat, e.g. PJSIP/1001

    def can(self, *roles: Role) -> bool:
        return self.role in roles


USER_KEY: web.RequestKey[User] = web.RequestKey("user", User)
# The signed-in session's CSRF token, for pages that post back (set by the sign-in middleware).
CSRF_TOKEN_KEY: web.RequestKey[str] = web.RequestKey("csrf_token", str)
# Whether a request comes from our own site (the sign-in's Origin rule), for websockets.
SameOrigin = Callable[[web.Request], bool]
SAME_ORIGIN_KEY: web.AppKey[SameOrigin] = web.AppKey("same_origin")


def current_user(request: web.Request) -> User | None:
    user = request.get(USER_KEY)
    return user if isinstance(user, User) else None


def bearer_token(request: web.Request) -> str | None:
    """The token of ``Authorization: Bearer <token>``; None when the request has no such
    header (another system calling the API instead of a browser session)."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip()


def route_of(request: web.Request) -> str:
    """The route's template (``/api/calls/{pbx}/{call_id}``), else the path: what an
    audit line names without the ids in it."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else request.path


def csrf_token(request: web.Request) -> str:
    """The signed-in session's CSRF token, "" without a session."""
    token = request.get(CSRF_TOKEN_KEY)
    return token if isinstance(token, str) else ""


def same_origin(request: web.Request) -> bool:
    """The sign-in's Origin rule; True when the app has no sign-in."""
    check = request.app.get(SAME_ORIGIN_KEY)
    return True if check is None else check(request)


def require_roles(*roles: Role) -> Callable[[Handler], Handler]:
    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def guarded(request: web.Request) -> web.StreamResponse:
            user = current_user(request)
            if user is None:
                raise ApiError(401, "sign_in_first", "请先登录", "sign in first")
            if not user.can(*roles):
                raise ApiError(
                    403,
                    "role_forbidden",
                    "您的角色无权执行此操作。",
                    "Your role is not allowed to do this.",
                )
            try:
                await check_request(request)
            except InvalidInput as exc:
                raise exc.error() from None
            return await handler(request)

        guarded.allowed_roles = roles  # type: ignore[attr-defined]
        return guarded

    return decorate


def page_roles(*roles: Role) -> Callable[[Handler], Handler]:
    """Like ``require_roles`` for HTML pages: anonymous visitors go to the sign-in page."""

    def decorate(handler: Handler) -> Handler:
        guarded_api = require_roles(*roles)(handler)

        @functools.wraps(handler)
        async def guarded(request: web.Request) -> web.StreamResponse:
            if current_user(request) is None:
                raise web.HTTPSeeOther(f"/login?next={quote(request.path_qs, safe='')}")
            return await guarded_api(request)

        guarded.allowed_roles = roles  # type: ignore[attr-defined]
        return guarded

    return decorate
