"""The frame every admin screen (``/admin/...``) shares: the site's head, stylesheet and
navigation bar (``page_frame``), and the admin screens' own tabs. Each feature describes its
screens (``AdminScreen``: address, words, body and script); this module knows their
addresses only, never the features themselves.

Server data reaches a page as JSON in ``<script type="application/json">`` blocks (their
``</`` escaped) and is set by the page's script as text, never as HTML.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from callcenter.core.i18n import Catalogue, Lang, pick, remember_lang, request_lang
from callcenter.web.page_clock import ZONED_TIME_JS
from callcenter.web.page_frame import ADMIN_HOME, FRAME_CSS, NavLink, add_page, nav_bar
from callcenter.web.page_head import PAGE_HEAD, html_lang
from callcenter.web.security import csrf_token, page_roles

ADMIN = ("系统管理", "Administration")
# The admin screens in the order of their tabs (path, Chinese, English), listed on the admin
# home and not in the bar: their tabs lead on.
SCREENS = tuple(
    NavLink(path, zh, en, ("admin",), order=91 + n, in_bar=False)
    for n, (path, zh, en) in enumerate(
        (
            ("/admin/users", "用户与角色", "Users and roles"),
            ("/admin/roster", "排班", "Roster"),
            ("/admin/directory", "坐席、座席与片区", "Agents, seats and zones"),
            ("/admin/owners", "业主导入", "Owner import"),
            ("/admin/ivr", "IVR 流程", "IVR flows"),
            ("/admin/tokens", "API 令牌", "API tokens"),
        )
    )
)

STYLE = """<style>
:root{--ink:#1f2933;--muted:#616e7c;--line:#d9e2ec;--bg:#f5f7fa;--accent:#1f6feb;--bad:#b42318;--ok:#067647}
*{box-sizing:border-box}
header.admin{display:flex;align-items:center;gap:1em;flex-wrap:wrap;background:#fff;border-bottom:1px solid var(--line);padding:.5em 1.5em}
header.admin h1{font-size:1.1em;margin:0 1em 0 0}
nav.admin-tabs a{display:inline-block;padding:.45em .8em;border-radius:6px;color:var(--ink);text-decoration:none}
nav.admin-tabs a[aria-current=page]{background:var(--accent);color:#fff}
main{padding:1em 1.5em;max-width:1240px}
section.card{background:#fff;border:1px solid var(--line);border-radius:8px;padding:1em;margin-bottom:1em;overflow-x:auto}
h2{font-size:1.05em;margin:.2em 0 .8em}
table{border-collapse:collapse;width:100%}
th,td{border-bottom:1px solid var(--line);padding:.35em .5em;text-align:left;vertical-align:top}
th{color:var(--muted);font-weight:600}
label{display:inline-block;margin:.2em .8em .2em 0}
input,select,button{font:inherit;padding:.3em .5em}
button{cursor:pointer;border:1px solid var(--line);border-radius:6px;background:#fff}
button.primary{background:var(--accent);border-color:var(--accent);color:#fff}
.status{min-height:1.4em}.error{color:var(--bad)}.ok{color:var(--ok)}.muted{color:var(--muted)}
.gap{color:var(--bad);font-weight:600}
table.week th,table.week td{font-size:.85em;min-width:6.5em}
table.week tbody th{color:var(--ink)}
table.week details.past summary{color:var(--muted);cursor:pointer}
table.week{table-layout:fixed}table.week thead th:first-child{width:8.5em}
table.week .who,table.week .tag{white-space:nowrap}table.week .tag{color:var(--muted)}
table.nodes{table-layout:fixed}table.nodes th:nth-child(1){width:12.5em}table.nodes th:nth-child(2){width:7em}
table.nodes td{overflow-wrap:anywhere}pre{white-space:pre-wrap;overflow-wrap:anywhere}
table.users td{white-space:nowrap}table.users input{width:100%;min-width:6em}
</style>
"""


def add_admin_screens(app: web.Application) -> None:
    for link in SCREENS:
        add_page(app, link)


def json_block(element_id: str, data: Any) -> str:
    """Data for the page's script; ``</`` escaped so it cannot close its element."""
    text = json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
    return f'<script type="application/json" id="{element_id}">{text}</script>'


def render_admin_page(
    lang: Lang,
    *,
    path: str,
    title: str,
    csrf: str,
    body: str,
    script: str,
    texts: dict[str, str],
    data: Any = None,
    nav: str = "",
) -> str:
    """One admin screen: ``body`` is the feature's HTML (already escaped), ``script`` its
    code, ``texts`` its words in ``lang`` (``texts`` JSON block), ``data`` more JSON;
    ``nav`` the site's navigation bar."""
    e = html.escape
    admin = pick(lang, *ADMIN)
    tabs = "".join(
        f'<a href="{s.path}"{" aria-current=page" if s.path == path else ""}>{e(s.label(lang))}</a>'
        for s in SCREENS
    )
    head = (
        PAGE_HEAD.replace("__HTML_LANG__", html_lang(lang))
        .replace("__CSRF__", e(csrf))
        .replace("__TITLE__", e(f"{title} · {admin}"))
    )
    extra = json_block("data", data) if data is not None else ""
    return (
        f"{head}{FRAME_CSS}{STYLE}</head><body>{nav}"
        f'<header class="admin"><h1>{e(admin)}</h1>'
        f'<nav class="admin-tabs" aria-label="{e(admin)}">{tabs}</nav></header>'
        f"<main><h2>{e(title)}</h2>{body}</main>"
        f"{json_block('texts', texts)}{extra}<script>{script}</script></body></html>"
    )


def admin_response(
    request: web.Request,
    path: str,
    texts: Catalogue,
    body: str,
    script: str,
    data: Any = None,
) -> web.Response:
    """The screen at ``path`` in the request's language: ``texts`` holds its words
    (``title`` among them), ``body`` its HTML in that language."""
    lang = request_lang(request)
    page = render_admin_page(
        lang, path=path, title=texts.text(lang, "title"), csrf=csrf_token(request),
        body=body, script=script, texts=texts.all(lang), data=data,
        nav=nav_bar(request, ADMIN_HOME.path),
    )  # fmt: skip
    response = web.Response(text=page, content_type="text/html")
    remember_lang(request, response)
    return response


# Where a screen's script says how the last change went (``say`` in SCRIPT_HELPERS).
STATUS_LINE = '<p id="status" class="status" role="status"></p>'


def table_heads(texts: Mapping[str, str], keys: Iterable[str]) -> str:
    """A table's header cells: the text of each key, escaped."""
    return "".join(f"<th>{html.escape(texts[key])}</th>" for key in keys)


TIME_ZONE_KEY: web.AppKey[str] = web.AppKey("admin_time_zone", str)


@dataclass(frozen=True)
class AdminScreen:
    """One admin screen (admins only): ``texts`` holds its words (``title`` among them),
    ``body`` makes its HTML from those words in the page's language, ``script`` is its own
    code (SCRIPT_HELPERS run first)."""

    path: str
    texts: Catalogue
    body: Callable[[dict[str, str]], str]
    script: str

    async def page(self, request: web.Request) -> web.Response:
        body = self.body(self.texts.all(request_lang(request)))
        # times in the service's zone, as on every page (web/page_clock.py)
        zone = json.dumps(request.app.get(TIME_ZONE_KEY, "UTC")).replace("</", "<\\/")
        clock = f"const ZONE = {zone};\n{ZONED_TIME_JS}"
        return admin_response(
            request, self.path, self.texts, body, SCRIPT_HELPERS + clock + self.script
        )


def add_screens(app: web.Application, *screens: AdminScreen) -> None:
    for screen in screens:
        app.router.add_get(screen.path, page_roles("admin")(screen.page))


# Shared by the screens' scripts: the CSRF token, JSON calls that raise the error in the
# page's language, and building table rows from text.
SCRIPT_HELPERS = """
const T = JSON.parse(document.getElementById('texts').textContent);
const LANG = document.documentElement.lang === 'en' ? 'en' : 'zh';
const CSRF = document.querySelector('meta[name=csrf-token]').content;
const $ = (id) => document.getElementById(id);
async function api(method, url, body) {
  const init = {method, credentials: 'same-origin', headers: {'X-CSRF-Token': CSRF}};
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const r = await fetch(url, init);
  const data = (r.headers.get('Content-Type') || '').startsWith('application/json') ? await r.json() : null;
  if (!r.ok) throw new Error(data && data.error ? data.error[LANG] : String(r.status));
  return data;
}
function say(text, ok) {
  const s = $('status');
  s.textContent = text;
  s.className = 'status ' + (ok ? 'ok' : 'error');
}
function cell(tr, text) {
  const td = document.createElement('td');
  td.textContent = text === null || text === undefined ? '' : String(text);
  tr.append(td);
  return td;
}
function el(tag, attrs, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}
"""
