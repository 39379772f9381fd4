"""The admin's API of the CTI feature: changing users (role, seat, disabling) and the API
tokens other systems call with. Admins only; a browser's changes carry the CSRF token
(the sign-in middleware), a token's changes need its ``write`` scope.

``setup(app, accounts, tokens)`` adds the routes; ``signin.setup`` has added
``GET/POST /api/users`` already.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from aiohttp import web

from callcenter.core.errors import ApiError
from callcenter.cti.accounts import AccountError, AccountStore
from callcenter.cti.tokens import TokenError, TokenStore
from callcenter.web.security import current_user, require_roles
from callcenter.web.validation import InvalidInput, read_object

log = structlog.get_logger(__name__)

ACCOUNTS_KEY: web.AppKey[AccountStore] = web.AppKey("cti_admin_accounts", AccountStore)
# Told after a user is added or changed (the housekeepers' seats are read from the users).
UsersChanged = Callable[[], Awaitable[None]]
USERS_CHANGED_KEY: web.AppKey[UsersChanged] = web.AppKey("cti_users_changed")


async def users_changed(request: web.Request) -> None:
    follow = request.app.get(USERS_CHANGED_KEY)
    if follow is not None:
        await follow()


TOKENS_KEY: web.AppKey[TokenStore] = web.AppKey("cti_admin_tokens", TokenStore)


async def _body(request: web.Request) -> dict[str, Any]:
    try:  # checked against the OpenAPI description by @require_roles
        return dict(await read_object(request))
    except InvalidInput as exc:
        raise exc.error() from None


def _by(request: web.Request) -> str:
    user = current_user(request)
    return user.login if user is not None else ""


@require_roles("admin")
async def change_user(request: web.Request) -> web.Response:
    fields = ("role", "active", "display_name", "agent", "interface")
    given = await _body(request)
    body = {k: v for k, v in given.items() if k in fields}
    password = given.get("password")
    login = request.match_info["login"]
    if login == _by(request) and (
        body.get("active") is False or body.get("role", "admin") != "admin"
    ):
        raise ApiError(
            400,
            "own_account",
            "不能停用自己的账号或取消自己的管理员角色",
            "you may not disable your own account or take away your own admin role",
        )
    accounts = request.app[ACCOUNTS_KEY]
    try:
        user = await asyncio.to_thread(accounts.change_user, login, **body)
        if password is not None:  # a new password signs the user out everywhere
            await asyncio.to_thread(accounts.set_password, login, str(password))
    except AccountError as exc:
        status = 404 if str(exc).startswith("no user") else 400
        raise ApiError(status, "account_refused", f"无法修改用户：{exc}", str(exc)) from None
    await users_changed(request)
    changed = sorted(body) + (["password"] if password is not None else [])
    log.info("user changed", login=login, fields=changed, by=_by(request))
    return web.json_response(
        {"id": user.id, "login": user.login, "role": user.role, "display_name": user.display_name,
         "agent": user.agent, "interface": user.interface, "active": body.get("active", True)}
    )  # fmt: skip


@require_roles("admin")
async def list_tokens(request: web.Request) -> web.Response:
    tokens = await asyncio.to_thread(request.app[TOKENS_KEY].list)
    return web.json_response({"tokens": [t.as_dict() for t in tokens]})


@require_roles("admin")
async def create_token(request: web.Request) -> web.Response:
    body = await _body(request)
    days = body.get("expires_in_days")
    try:
        token, made = await asyncio.to_thread(
            request.app[TOKENS_KEY].create,
            body["name"],
            body["role"],
            body.get("scopes") or ["read"],
            created_by=_by(request),
            lifetime_s=None if days is None else float(days) * 86400,
        )
    except TokenError as exc:
        raise ApiError(400, "token_refused", f"无法创建令牌：{exc}", str(exc)) from None
    log.info("API token created", name=made.name, role=made.role, by=_by(request))
    return web.json_response({**made.as_dict(), "token": token}, status=201)


@require_roles("admin")
async def revoke_token(request: web.Request) -> web.Response:
    try:
        revoked = await asyncio.to_thread(
            request.app[TOKENS_KEY].revoke, int(request.match_info["token_id"])
        )
    except TokenError as exc:
        raise ApiError(404, "no_such_token", "没有这个令牌", str(exc)) from None
    log.info("API token revoked", name=revoked.name, by=_by(request))
    return web.json_response(revoked.as_dict())


def setup(
    app: web.Application,
    accounts: AccountStore,
    tokens: TokenStore,
    on_users_changed: UsersChanged | None = None,
) -> None:
    app[ACCOUNTS_KEY] = accounts
    if on_users_changed is not None:
        app[USERS_CHANGED_KEY] = on_users_changed
    app[TOKENS_KEY] = tokens
    app.router.add_patch("/api/users/{login}", change_user)
    app.router.add_get("/api/tokens", list_tokens)
    app.router.add_post("/api/tokens", create_token)
    app.router.add_delete("/api/tokens/{token_id}", revoke_token)
