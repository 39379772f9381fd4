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


def current_user(request: web.Request) -> User | None:
    user = request.get(USER_KEY)
    return user if isinstance(user, User) else None


def require_roles(*roles: Role) -> Callable[[Handler], Handler]:
    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def guarded(request: web.Request) -> web.StreamResponse:
            user = current_user(request)
            if user is None:
                raise ApiError(401, "sign_in_first", "请先登录", "sign in first")
            if not user.can(*roles):
                raise ApiError(
                    403, "role_forbidden", "您的角色无权执行此操作", "your role may not do this"
                )
            try:
                await check_request(request)
            except InvalidInput as exc:
                raise exc.error() from None
            return await handler(request)

        guarded.allowed_roles = roles  # type: ignore[attr-defined]
        return guarded

    return decorate
