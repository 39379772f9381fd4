"""Sign-in: the session middleware, CSRF and Origin checks, and the sign-in pages.

- A session is a random id in an HttpOnly, SameSite=Lax cookie (Secure over HTTPS, or
  always/never by setting); the database holds its digest, user, CSRF token and expiry
  (absolute lifetime and idle timeout).
- Every state-changing request (POST, PUT, PATCH, DELETE) must come from our own origin
  (Origin, else Referer, when the browser sends one) and, once signed in, carry the
  session's CSRF token in ``X-CSRF-Token`` or the ``csrf_token`` form field. The sign-in
  form itself uses a double-submit token (a cookie and the same value in the form).
- Wrong passwords are throttled per (login, client address) and per login over all
  addresses (429 + Retry-After; ``callcenter.cti.login_throttle``). A failure is counted
  before the password is checked, so a concurrent burst cannot slip past the limit.
- Password checks run on their own bounded pool (``password_pool``), so a burst of them
  does not slow anybody's signed-in requests.
- Another system calls /api routes with ``Authorization: Bearer <token>`` (an API
  token, ``callcenter.cti.tokens``): no cookie, so no CSRF or Origin check (a browser
  never sends that header across sites on its own); an unknown, revoked or expired token
  is a 401, a change outside the token's scopes a 403, every use audited.
- The client address comes from X-Forwarded-For only when the peer is a trusted proxy
  (``client_address``); where to go after sign-in is checked by ``redirects.safe_next``.

Wiring: ``setup(app, store, settings, trusted_proxies=...)`` adds the middleware and the
routes below.
"""

from __future__ import annotations

import asyncio
import hmac
import html
import math
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import structlog
from aiohttp import web

from callcenter.core.errors import ApiError
from callcenter.core.i18n import Lang, remember_lang, request_lang
from callcenter.cti import api_doc as cti_doc
from callcenter.cti.accounts import AccountError, AccountStore, Session, default_agent_name
from callcenter.cti.admin_http import users_changed
from callcenter.cti.i18n import t
from callcenter.cti.login_throttle import LoginThrottle, Refused
from callcenter.cti.settings import CtiSettings
from callcenter.cti.tokens import TokenAudit, TokenStore
from callcenter.web.client_address import (
    IpNetwork,
    client_address,
    parse_networks,
    throttle_key,
)
from callcenter.web.openapi import describe
from callcenter.web.page_frame import home_of
from callcenter.web.password_pool import PasswordPool
from callcenter.web.redirects import safe_next
from callcenter.web.security import (
    CSRF_TOKEN_KEY,
    SAME_ORIGIN_KEY,
    USER_KEY,
    Handler,
    User,
    bearer_token,
    current_user,
    require_roles,
    route_of,
)
from callcenter.web.validation import InvalidInput, read_object

log = structlog.get_logger(__name__)

SESSION_COOKIE = "cc_session"
LOGIN_CSRF_COOKIE = "cc_login_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


@dataclass
class Auth:
    store: AccountStore
    settings: CtiSettings = field(default_factory=CtiSettings)
    clock: Callable[[], float] = time.time
    trusted_proxies: tuple[IpNetwork, ...] = ()
    tokens: TokenStore | None = None  # None: the API admits no tokens
    # (login, action, owner_id, detail): where token uses are written down
    audit: Callable[[str, str, int | None, str], None] | None = None
    token_audit: TokenAudit = field(default_factory=TokenAudit)
    throttle: LoginThrottle = field(init=False)
    passwords: PasswordPool = field(init=False)

    def __post_init__(self) -> None:
        self.throttle = LoginThrottle(
            max_failures=self.settings.login_max_failures,
            lockout_s=self.settings.login_lockout_s,
            guess_burst=self.settings.login_guess_burst,
            guess_interval_s=self.settings.login_guess_interval_s,
        )
        self.passwords = PasswordPool(workers=self.settings.password_workers)

    def client_address(self, request: web.Request) -> str:
        forwarded = request.headers.getall("X-Forwarded-For", [])
        return client_address(request.remote, forwarded, self.trusted_proxies)

    def cookie_secure(self, request: web.Request) -> bool:
        mode = self.settings.cookie_secure
        if mode != "auto":
            return mode == "always"
        return request.secure or request.headers.get("X-Forwarded-Proto", "") == "https"

    def set_cookie(
        self,
        request: web.Request,
        response: web.StreamResponse,
        name: str,
        value: str,
        *,
        path: str,
        max_age: int,
    ) -> None:
        """A cookie scripts cannot read, sent back on same-site navigation only."""
        response.set_cookie(
            name,
            value,
            httponly=True,
            samesite="Lax",
            secure=self.cookie_secure(request),
            path=path,
            max_age=max_age,
        )

    def same_origin(self, request: web.Request) -> bool:
        """True unless the browser says the request comes from another site."""
        origin = request.headers.get("Origin")
        if origin is None or origin == "":
            referer = request.headers.get("Referer")
            if not referer:
                return True  # not a browser, or one that sends neither: the token decides
            parts = urlsplit(referer)
            origin = f"{parts.scheme}://{parts.netloc}"
        if origin in self.settings.allowed_origins:
            return True
        return urlsplit(origin).netloc.lower() == request.host.lower()


AUTH_KEY: web.AppKey[Auth] = web.AppKey("cti_auth", Auth)
SESSION_KEY: web.RequestKey[Session] = web.RequestKey("cti_session", Session)
NEXT_KEY: web.RequestKey[str] = web.RequestKey("cti_next", str)


def current_session(request: web.Request) -> Session | None:
    session = request.get(SESSION_KEY)
    return session if isinstance(session, Session) else None


def _refused(code: str, key: str) -> ApiError:
    """403 with the sign-in texts of ``key`` in both languages."""
    return ApiError(403, code, t("zh", key), t("en", key))


async def _submitted_csrf(request: web.Request) -> str:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    if request.content_type in FORM_TYPES:
        form = await request.post()  # aiohttp keeps it: the handler reads it again for free
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else ""
    return ""


async def _token_request(auth: Auth, request: web.Request, presented: str) -> None:
    """Puts the API token's caller on the request, or refuses it."""
    found = None
    if auth.tokens is not None and presented:
        found = await asyncio.to_thread(auth.tokens.authenticate, presented)
    if found is None:
        log.warning("API token refused", path=request.path)
        raise ApiError(
            401,
            "bad_token",
            "API 令牌无效、已吊销或已过期",
            "the API token is unknown, revoked or expired",
        )
    user = found.as_user()
    request[USER_KEY] = user
    route = route_of(request)
    if auth.audit is not None and auth.token_audit.due(
        found.id, request.method, route, auth.clock()
    ):
        await asyncio.to_thread(
            auth.audit, user.login, "api_token", None, f"{request.method} {route}"
        )
    if not found.admits(request.method):
        raise ApiError(
            403, "token_scope", "该 API 令牌无权修改数据", "this API token may not change anything"
        )


def auth_middleware(auth: Auth) -> Any:
    """Puts the signed-in ``User`` on ``request[USER_KEY]`` and guards state changes."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        presented = bearer_token(request)
        if presented is not None and request.path.startswith("/api/"):
            await _token_request(auth, request, presented)
            return await handler(request)
        token = request.cookies.get(SESSION_COOKIE, "")
        session = None
        if token:
            session = await asyncio.to_thread(
                auth.store.load_session, token, auth.settings.session_idle_s
            )
        if session is not None:
            request[USER_KEY] = session.user
            request[SESSION_KEY] = session
            request[CSRF_TOKEN_KEY] = session.csrf_token
        if request.method not in SAFE_METHODS:
            if not auth.same_origin(request):
                log.warning("cross-site request refused", path=request.path)
                raise _refused("cross_site", "cross_site")
            if session is not None:
                submitted = await _submitted_csrf(request)
                if not hmac.compare_digest(submitted.encode(), session.csrf_token.encode()):
                    log.warning("request without a valid CSRF token", path=request.path)
                    raise _refused("csrf", "csrf")
        response = await handler(request)
        if token and session is None and not response.prepared:
            response.del_cookie(SESSION_COOKIE, path="/")
        return response

    return middleware


# --- pages ------------------------------------------------------------------------------

_PAGE = """<!doctype html>
<html lang="{html_lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body{{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;background:#f4f6f8;margin:0}}
form{{max-width:320px;margin:12vh auto;background:#fff;padding:24px;border-radius:8px;
box-shadow:0 1px 4px #0002}} label{{display:block;margin:12px 0 4px}}
input{{width:100%;padding:8px;box-sizing:border-box}} button{{margin-top:16px;width:100%;padding:10px}}
.error{{color:#b00020}} .lang{{text-align:right;font-size:90%}}
</style></head><body>
<form method="post" action="/login">
<div class="lang"><a href="/login?lang={other}&amp;next={next_q}">{other_label}</a></div>
<h1>{title}</h1>
<p class="error" role="alert">{error}</p>
<input type="hidden" name="csrf_token" value="{csrf}">
<input type="hidden" name="next" value="{next}">
<label for="login">{login_label}</label>
<input id="login" name="login" autocomplete="username" required value="{login}">
<label for="password">{password_label}</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">{submit}</button>
</form></body></html>"""


def _login_page(
    request: web.Request, auth: Auth, *, error: str = "", status: int = 200, login: str = ""
) -> web.Response:
    lang: Lang = request_lang(request)
    csrf = secrets.token_urlsafe(24)
    # "/": no page asked for, the user's home once known
    next_path = safe_next(request.query.get("next", "") or request.get(NEXT_KEY, ""), "/")
    body = _PAGE.format(
        html_lang="en" if lang == "en" else "zh-CN",
        title=html.escape(f"{t(lang, 'app')} · {t(lang, 'sign_in')}"),
        other="zh" if lang == "en" else "en",
        other_label=t(lang, "other_lang"),
        next_q=quote(next_path, safe=""),
        error=html.escape(error),
        csrf=csrf,
        next=html.escape(next_path),
        login=html.escape(login),
        login_label=t(lang, "login"),
        password_label=t(lang, "password"),
        submit=t(lang, "sign_in"),
    )
    response = web.Response(text=body, content_type="text/html", status=status)
    auth.set_cookie(request, response, LOGIN_CSRF_COOKIE, csrf, path="/login", max_age=3600)
    remember_lang(request, response)
    return response


def _onward(next_path: str, user: User) -> str:
    """The page asked for when it is ours, else (or for "/") the user's home."""
    path = safe_next(next_path, "/")
    return home_of(user) if path == "/" else path


async def login_page(request: web.Request) -> web.StreamResponse:
    user = current_user(request)
    if user is not None:
        raise web.HTTPSeeOther(_onward(request.query.get("next", ""), user))
    return _login_page(request, request.app[AUTH_KEY])


def _retry_later(
    request: web.Request, auth: Auth, login: str, wait_s: float, *, status: int, reason: str
) -> web.Response:
    seconds = max(1, math.ceil(wait_s))
    error = t(request_lang(request), reason, seconds=seconds)
    response = _login_page(request, auth, error=error, status=status, login=login)
    response.headers["Retry-After"] = str(seconds)
    return response


async def login_submit(request: web.Request) -> web.StreamResponse:
    auth = request.app[AUTH_KEY]
    lang = request_lang(request)
    form = await request.post()
    login = str(form.get("login", ""))[:64]
    password = str(form.get("password", ""))
    request[NEXT_KEY] = str(form.get("next", ""))
    cookie_token = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    form_token = str(form.get(CSRF_FIELD, ""))
    if not cookie_token or not hmac.compare_digest(cookie_token.encode(), form_token.encode()):
        return _login_page(request, auth, error=t(lang, "form_expired"), status=403, login=login)
    if auth.passwords.full:
        log.warning("sign-in deferred: password checks are all busy", login=login)
        return _retry_later(request, auth, login, 1.0, status=503, reason="sign_in_busy")
    # From here to the submit nothing awaits: the failure is reserved before any other
    # attempt can look at the throttle, and released only if the password is right.
    attempt = auth.throttle.reserve(login, throttle_key(auth.client_address(request)), auth.clock())
    if isinstance(attempt, Refused):
        log.warning(
            "sign-in throttled",
            login=login,
            limit=attempt.reason,
            retry_after_s=round(attempt.retry_after_s),
        )
        wait_s = attempt.retry_after_s
        return _retry_later(request, auth, login, wait_s, status=429, reason="throttled")
    try:
        user = await auth.passwords.submit(auth.store.authenticate, login, password)
    except Exception:
        auth.throttle.withdraw(attempt)  # no answer about the password: not a guess
        raise
    if user is None:
        log.info("sign-in refused", login=login)
        return _login_page(request, auth, error=t(lang, "bad_credentials"), status=401, login=login)
    auth.throttle.release(attempt)
    token, _session = await asyncio.to_thread(
        auth.store.create_session, user, auth.settings.session_lifetime_s
    )
    log.info("signed in", login=user.login, role=user.role)
    # no page asked for: the role's home (agent: seat, supervisor: wallboard, admin: admin)
    response = web.HTTPSeeOther(_onward(request[NEXT_KEY], user))
    lifetime_s = int(auth.settings.session_lifetime_s)
    auth.set_cookie(request, response, SESSION_COOKIE, token, path="/", max_age=lifetime_s)
    response.del_cookie(LOGIN_CSRF_COOKIE, path="/login")
    raise response


@require_roles("agent", "supervisor", "admin")
async def logout(request: web.Request) -> web.StreamResponse:
    auth = request.app[AUTH_KEY]
    token = request.cookies.get(SESSION_COOKIE, "")
    await asyncio.to_thread(auth.store.delete_session, token)
    user = current_user(request)
    log.info("signed out", login=user.login if user else "")
    response = web.HTTPSeeOther("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


@require_roles("agent", "supervisor", "admin")
async def me(request: web.Request) -> web.Response:
    user = current_user(request)
    session = current_session(request)
    assert user is not None and session is not None
    return web.json_response(
        {
            "id": user.id,
            "login": user.login,
            "role": user.role,
            "display_name": user.display_name,
            "agent": user.agent,
            "interface": user.interface,
            "csrf_token": session.csrf_token,
            "expires_at": session.expires_at,
        }
    )


@require_roles("admin")
async def list_users(request: web.Request) -> web.Response:
    accounts = await asyncio.to_thread(request.app[AUTH_KEY].store.accounts)
    return web.json_response(
        {
            "users": [
                {
                    "id": u.id,
                    "login": u.login,
                    "role": u.role,
                    "display_name": u.display_name,
                    "agent": u.agent,
                    "interface": u.interface,
                    "active": active,
                }
                for u, active in accounts
            ]
        }
    )


@require_roles("admin")
async def add_user(request: web.Request) -> web.Response:
    try:  # the body has been checked against the OpenAPI description by @require_roles
        body = await read_object(request)
    except InvalidInput as exc:
        raise exc.error() from None
    fields = {k: body.get(k, "") for k in ("display_name", "agent", "interface")}
    fields["agent"] = fields["agent"] or default_agent_name(fields["interface"])
    try:
        user = await asyncio.to_thread(
            request.app[AUTH_KEY].store.add_user,
            body["login"],
            body["role"],
            body["password"],
            **fields,
        )
    except AccountError as exc:
        raise ApiError(400, "account_refused", f"无法添加用户：{exc}", str(exc)) from None
    await users_changed(request)
    log.info("user added", login=user.login, role=user.role, by=current_user(request).login)  # type: ignore[union-attr]
    return web.json_response({"id": user.id, "login": user.login, "role": user.role}, status=201)


def setup(
    app: web.Application,
    store: AccountStore,
    settings: CtiSettings | None = None,
    *,
    clock: Callable[[], float] = time.time,
    trusted_proxies: Sequence[str] = (),
    tokens: TokenStore | None = None,
    audit: Callable[[str, str, int | None, str], None] | None = None,
) -> Auth:
    """Adds the session middleware (innermost so far) and the sign-in routes.
    ``trusted_proxies``: ``web.trusted_proxies``, the reverse proxies whose
    X-Forwarded-For names the client; ``tokens``: the API tokens admitted, their uses
    written to ``audit``."""
    auth = Auth(
        store, settings or CtiSettings(), clock, parse_networks(trusted_proxies), tokens, audit
    )
    describe(app, cti_doc.PART)
    app[AUTH_KEY] = auth
    app[SAME_ORIGIN_KEY] = auth.same_origin

    async def close_password_pool(_app: web.Application) -> None:
        auth.passwords.close()

    app.on_cleanup.append(close_password_pool)
    app.middlewares.append(auth_middleware(auth))
    app.router.add_get("/login", login_page)
    app.router.add_post("/login", login_submit)
    app.router.add_post("/logout", logout)
    app.router.add_get("/api/me", me)
    app.router.add_get("/api/users", list_users)
    app.router.add_post("/api/users", add_user)
    return auth
