"""The frame every signed-in page shares: one stylesheet, one navigation bar, a home per role,
the admin home, and error pages (403, 404...) that look like the rest of the site.

Features register their pages with ``add_page(app, NavLink(...))`` when they add their
routes (admin screens with ``in_bar=False``: the admin home lists them). The bar shows each
user only the pages their role may open, marks the current one, and ends with the language
switch and sign-out. Texts come from the catalogue; names and other data are escaped, never
taken as HTML.

Wiring (``build_app``): ``setup(app)`` adds ``/`` (to the user's home), ``/admin`` and the
icon; ``framed_error`` is the error page renderer handed to ``core.errors.install``.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from urllib.parse import urlencode

from aiohttp import web

from callcenter.core.errors import PAGE_TEXT, ApiError
from callcenter.core.i18n import Catalogue, Lang, remember_lang, request_lang
from callcenter.web.page_head import PAGE_HEAD, html_lang
from callcenter.web.security import Role, User, csrf_token, current_user, page_roles

__all__ = [
    "FRAME_CSS",
    "NavLink",
    "add_page",
    "framed_error",
    "home_of",
    "nav_bar",
    "setup",
    "visible_links",
]

TEXT = Catalogue(
    {
        "app": ("客服中心", "Call centre"),
        "admin_home": ("管理", "Administration"),
        "admin_intro": ("管理员可以打开的页面：", "Pages an administrator can open:"),
        "api_doc": ("接口说明（OpenAPI）", "API description (OpenAPI)"),
        "other_lang": ("English", "中文"),
        "sign_out": ("退出", "Sign out"),
        "main_nav": ("主导航", "Main navigation"),
    }
)

# Home per role: agents work at their seat, supervisors watch the floor, admins manage.
HOMES: dict[Role, str] = {"agent": "/seat", "supervisor": "/wallboard", "admin": "/admin"}


@dataclass(frozen=True)
class NavLink:
    """A page of the site: shown to ``roles``; ``needs_seat``: only to agents and to users
    bound to a seat; ``in_bar`` False: an admin screen listed on the admin home only."""

    path: str
    zh: str
    en: str
    roles: tuple[Role, ...]
    order: int = 50
    needs_seat: bool = False
    in_bar: bool = True

    def label(self, lang: Lang) -> str:
        return self.en if lang == "en" else self.zh

    def shown_to(self, user: User) -> bool:
        # the seat page is an agent's home even before a seat is bound to them
        seated = bool(user.interface) or user.role == "agent"
        return user.role in self.roles and (not self.needs_seat or seated)


NAV_KEY: web.AppKey[list[NavLink]] = web.AppKey("nav_links", list)
ADMIN_HOME = NavLink("/admin", *TEXT.texts["admin_home"], ("admin",), order=90)


def add_page(app: web.Application, link: NavLink) -> None:
    """Put a page in the navigation bar (kept in ``order``, then path)."""
    links = app.get(NAV_KEY)
    if links is None:
        links = app[NAV_KEY] = []
    links.append(link)
    links.sort(key=lambda n: (n.order, n.path))


def visible_links(links: list[NavLink], user: User) -> list[NavLink]:
    return [link for link in links if link.shown_to(user)]


def home_of(user: User) -> str:
    """Where a user starts: an agent at the seat, a supervisor at the wallboard, an admin
    at the admin home."""
    return HOMES.get(user.role, "/seat")


FRAME_CSS = """<style>
:root{--ink:#1d2733;--muted:#667;--line:#e3e7ec;--bg:#f4f6f8;--card:#fff;--brand:#1f3a5f;
--ok:#2e8b57;--warn:#c98a1b;--alert:#c0392b}
body{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;background:var(--bg);color:var(--ink)}
nav.site{display:flex;flex-wrap:wrap;gap:4px 6px;align-items:center;background:var(--brand);color:#fff;padding:6px 16px}
nav.site .brand{font-weight:bold;margin-right:10px} nav.site .grow{flex:1}
nav.site a,nav.site button{color:#fff;background:none;border:1px solid transparent;padding:4px 10px;
border-radius:4px;text-decoration:none;font:inherit;cursor:pointer}
nav.site a:hover,nav.site button:hover{border-color:#fff8}
nav.site a[aria-current=page]{background:#fff;color:var(--brand);font-weight:bold}
nav.site .who{opacity:.85;padding:0 6px} nav.site form{margin:0}
main.page{padding:12px 16px;max-width:1400px;margin:0 auto}
main.page section,.panel{background:var(--card);border-radius:8px;padding:12px;box-shadow:0 1px 3px #0002;margin-bottom:12px}
main.page h1{font-size:20px;margin:4px 0 12px} main.page h2{font-size:16px;margin:0 0 8px}
main.page table{width:100%;border-collapse:collapse} main.page td,main.page th{border-bottom:1px solid var(--line);padding:4px 6px;text-align:left}
main.page input,main.page select,main.page textarea,main.page button,main.wb select,main.wb button{font:inherit;font-size:14px}
main.page input,main.page select,main.page textarea,main.wb select{padding:4px 6px;border:1px solid #c5ccd4;border-radius:4px;box-sizing:border-box}
main.page button{padding:4px 12px;border-radius:4px;border:1px solid var(--brand);background:var(--brand);color:#fff;cursor:pointer}
.muted{color:var(--muted)} [hidden]{display:none !important}
</style>
"""


def nav_bar(request: web.Request, current: str) -> str:
    """The bar for ``request``'s user, with ``current`` (a path) marked; "" signed out."""
    user = current_user(request)
    if user is None:
        return ""
    lang = request_lang(request)
    e = html.escape
    links = []
    for link in visible_links(request.app.get(NAV_KEY, []), user):
        if not link.in_bar:
            continue
        mark = ' aria-current="page"' if link.path == current else ""
        links.append(
            f'<a href="{e(link.path)}"{mark} data-nav="{e(link.path)}">{e(link.label(lang))}</a>'
        )
    other = "zh" if lang == "en" else "en"
    switch = "?" + urlencode({**request.query, "lang": other})
    return (
        f'<nav class="site" data-testid="nav" aria-label="{e(TEXT.text(lang, "main_nav"))}">'
        f'<a class="brand" href="/">{e(TEXT.text(lang, "app"))}</a>{"".join(links)}'
        f'<span class="grow"></span><span class="who" data-testid="who">'
        f"{e(user.display_name or user.login)}</span>"
        f'<a href="{e(switch)}" data-testid="other-lang">{e(TEXT.text(lang, "other_lang"))}</a>'
        f'<form method="post" action="/logout"><input type="hidden" name="csrf_token" '
        f'value="{e(csrf_token(request))}"><button type="submit" data-testid="sign-out">'
        f"{e(TEXT.text(lang, 'sign_out'))}</button></form></nav>"
    )


def framed_page(request: web.Request, title: str, current: str, body: str) -> str:
    """A whole page: the shared head and stylesheet, the bar, then ``body`` (HTML)."""
    lang = request_lang(request)
    head = (
        PAGE_HEAD.replace("__HTML_LANG__", html_lang(lang))
        .replace("__CSRF__", html.escape(csrf_token(request)))
        .replace("__TITLE__", html.escape(title))
    )
    return (
        f"{head}{FRAME_CSS}</head><body>{nav_bar(request, current)}"
        f'<main class="page">{body}</main></body></html>'
    )


def framed_error(request: web.Request, error: ApiError) -> str:
    """An error as a page in the site's frame (the bar when signed in), in the user's
    language, with a way on: the sign-in page, else the user's home."""
    lang = request_lang(request)
    e = html.escape
    title = PAGE_TEXT.text(lang, "title")
    user = current_user(request)
    if error.status == 401 or user is None:
        way_on = f'<a href="/login">{e(PAGE_TEXT.text(lang, "sign_in"))}</a>'
    else:
        way_on = f'<a href="{e(home_of(user))}">{e(PAGE_TEXT.text(lang, "home"))}</a>'
    body = (
        f'<section data-testid="error" data-status="{error.status}">'
        f"<h1>{error.status} · {e(title)}</h1>"
        f'<p role="alert">{e(error.text_in(lang))}</p><p>{way_on}</p></section>'
    )
    return framed_page(request, f"{error.status} · {title}", "", body)


# The site's icon: a headset on the bar's blue (browsers ask for one on every page).
FAVICON_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
    '<rect width="32" height="32" rx="6" fill="#1f3a5f"/>'
    '<path d="M8 18v-3a8 8 0 0 1 16 0v3" fill="none" stroke="#fff" stroke-width="2.5"/>'
    '<rect x="6" y="17" width="5" height="8" rx="2" fill="#fff"/>'
    '<rect x="21" y="17" width="5" height="8" rx="2" fill="#fff"/></svg>'
)


async def favicon(_request: web.Request) -> web.Response:
    return web.Response(
        text=FAVICON_SVG,
        content_type="image/svg+xml",
        headers={"Cache-Control": "public, max-age=86400"},
    )


async def home(request: web.Request) -> web.StreamResponse:
    """``/``: the signed-in user's home, else the sign-in page."""
    user = current_user(request)
    raise web.HTTPSeeOther(home_of(user) if user is not None else "/login")


@page_roles("admin")
async def admin_home(request: web.Request) -> web.Response:
    lang = request_lang(request)
    user = current_user(request)
    assert user is not None
    e = html.escape
    items = [
        f'<li><a href="{e(link.path)}" data-testid="admin-link">{e(link.label(lang))}</a></li>'
        for link in visible_links(request.app.get(NAV_KEY, []), user)
        if link.path != ADMIN_HOME.path
    ]
    items.append(
        f'<li><a href="/api/openapi.json" data-testid="admin-link">'
        f"{e(TEXT.text(lang, 'api_doc'))}</a></li>"
    )
    title = TEXT.text(lang, "admin_home")
    body = (
        f"<section><h1>{e(title)}</h1><p>{e(TEXT.text(lang, 'admin_intro'))}</p>"
        f'<ul data-testid="admin-links">{"".join(items)}</ul></section>'
    )
    response = web.Response(
        text=framed_page(request, title, ADMIN_HOME.path, body), content_type="text/html"
    )
    remember_lang(request, response)
    return response


def setup(app: web.Application) -> None:
    """``/``, ``/admin`` and the site's icon; the admin home is in the bar for admins."""
    add_page(app, ADMIN_HOME)
    app.router.add_get("/favicon.ico", favicon)
    app.router.add_get("/", home)
    app.router.add_get("/admin", admin_home)
