"""The one shape of an error answer, and the page a browser gets instead.

A handler raises ``ApiError(status, code, zh, en)``; the answer is
``{"error": {"code": ..., "zh": ..., "en": ...}}`` with that status (and headers such as
Retry-After). ``code`` is for programs, ``zh`` and ``en`` for people.

``error_middleware`` renders the same error as a small HTML page, in the user's language,
when the request prefers HTML (a browser opening a page it may not see), and gives
aiohttp's own refusals (no such route, method not allowed, body too large) the same body.
``/api/...`` answers are always JSON. ``install(app, render)`` takes the page renderer
(``web.page_frame.framed_error`` puts the error in the site's frame).
"""

from __future__ import annotations

import html
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from callcenter.core.i18n import Catalogue, Lang, request_lang

JSON_TYPE = "application/json"
HTML_TYPE = "text/html"


def error_body(code: str, zh: str, en: str) -> dict[str, Any]:
    return {"error": {"code": code, "zh": zh, "en": en}}


class ApiError(web.HTTPException):
    """An error answer: ``status``, a stable ``code``, and why in Chinese and English."""

    def __init__(
        self,
        status: int,
        code: str,
        zh: str,
        en: str,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.status_code = status  # aiohttp reads the status from here
        self.code = code
        self.zh = zh
        self.en = en
        super().__init__(
            headers=dict(headers or {}),
            text=json.dumps(error_body(code, zh, en), ensure_ascii=False),
            content_type=JSON_TYPE,
        )

    def text_in(self, lang: Lang) -> str:
        return self.en if lang == "en" else self.zh


# What aiohttp itself refuses (before or around a handler), in both languages.
_OWN_REFUSALS: dict[int, tuple[str, str, str]] = {
    400: ("bad_request", "请求无效", "bad request"),
    404: ("not_found", "这个地址不存在。", "This address does not exist."),
    405: ("method_not_allowed", "不支持这种请求方法", "method not allowed"),
    413: ("too_large", "请求内容太大", "the request body is too large"),
    416: ("range_not_satisfiable", "请求的范围无效", "the range cannot be served"),
}
# Headers of aiohttp's refusal that describe its plain-text body, not the error.
_BODY_HEADERS = frozenset({"content-type", "content-length", "content-encoding"})


def from_http_exception(exc: web.HTTPException) -> ApiError:
    """An error aiohttp raised, as an ``ApiError`` (its headers, such as Allow, kept)."""
    code, zh, en = _OWN_REFUSALS.get(exc.status, ("error", "请求出错", exc.reason.lower()))
    headers = {k: v for k, v in exc.headers.items() if k.lower() not in _BODY_HEADERS}
    return ApiError(exc.status, code, zh, en, headers=headers)


def _quality(accept: str, wanted: str) -> float:
    """How much ``accept`` wants the media type ``wanted`` (its best matching range)."""
    kind = wanted.split("/")[0]
    best, specificity = 0.0, -1
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        rank = {wanted: 2, f"{kind}/*": 1, "*/*": 0}.get(media.lower(), -1)
        if rank > specificity:
            best, specificity = q, rank
    return best


def prefers_html(request: web.Request) -> bool:
    """A browser opening a page asks for HTML first; ``fetch`` and API clients do not."""
    accept = request.headers.get("Accept", "")
    return _quality(accept, HTML_TYPE) > _quality(accept, JSON_TYPE)


PAGE_TEXT = Catalogue(
    {
        "title": ("出错了", "Something went wrong"),
        "home": ("返回首页", "Back to the start page"),
        "sign_in": ("登录", "Sign in"),
    }
)


def error_page(error: ApiError, lang: Lang) -> str:
    """A small page that says what went wrong, with a way on."""
    e = html.escape
    title = PAGE_TEXT.text(lang, "title")
    way_on = (
        f'<a href="/login">{e(PAGE_TEXT.text(lang, "sign_in"))}</a>'
        if error.status == 401
        else f'<a href="/">{e(PAGE_TEXT.text(lang, "home"))}</a>'
    )
    return (
        f'<!doctype html>\n<html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>{error.status} · {e(title)}</title></head><body>"
        f"<h1>{error.status} · {e(title)}</h1>"
        f'<p role="alert">{e(error.text_in(lang))}</p><p>{way_on}</p></body></html>'
    )


PageRenderer = Callable[[web.Request, ApiError], str]


def plain_page(request: web.Request, error: ApiError) -> str:
    return error_page(error, request_lang(request))


def as_page(
    request: web.Request, error: ApiError, render: PageRenderer = plain_page
) -> web.Response:
    headers = {k: v for k, v in error.headers.items() if k.lower() not in _BODY_HEADERS}
    return web.Response(
        status=error.status,
        text=render(request, error),
        content_type=HTML_TYPE,
        headers=headers,
    )


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def error_pages(render: PageRenderer = plain_page) -> Any:
    """Every error in the one body, or as a page (``render``) for a browser that asked
    for one; ``/api`` answers stay JSON whatever the browser asks for."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except ApiError as exc:
            error = exc
        except web.HTTPException as exc:
            if exc.status < 400:
                raise  # redirects pass through
            error = from_http_exception(exc)
        if prefers_html(request) and not request.path.startswith("/api/"):
            return as_page(request, error, render)
        raise error

    return middleware


error_middleware = error_pages(plain_page)


def install(app: web.Application, render: PageRenderer = plain_page) -> None:
    """Outermost, so that it also sees what the other middlewares refuse. ``render``: the
    page a browser gets (the site's frame, given by ``web``)."""
    app.middlewares.insert(0, error_pages(render))
