"""The CTI's admin screens: users and roles (``/admin/users``) and the owner import
(``/admin/owners``). Admins only; each screen writes through the JSON API
(``/api/users``, ``/api/owners/import``) with the session's CSRF token."""

from __future__ import annotations

import html

from aiohttp import web

from callcenter.core.i18n import Catalogue, Lang, request_lang
from callcenter.web.admin_page import SCRIPT_HELPERS, admin_response
from callcenter.web.security import page_roles

USERS_TEXT: dict[str, tuple[str, str]] = {  # key: (Chinese, English)
    "title": ("用户与角色", "Users and roles"),
    "login": ("账号", "Login"), "name": ("姓名", "Name"), "role": ("角色", "Role"),
    "interface": ("座席分机", "Seat phone"), "agent": ("队列成员名", "Queue member name"),
    "state": ("状态", "State"), "active": ("启用", "Active"), "disabled": ("已停用", "Disabled"),
    "disable": ("停用", "Disable"), "enable": ("启用", "Enable"), "save": ("保存", "Save"),
    "password": ("初始密码", "Initial password"), "add": ("新建用户", "Add user"),
    "added": ("已添加用户 {login}", "User {login} added"), "saved": ("已保存 {login}", "{login} saved"),
    "role_agent": ("坐席", "Agent"), "role_supervisor": ("班长", "Supervisor"),
    "role_admin": ("管理员", "Administrator"), "actions": ("操作", "Actions"),
    "hint_interface": ("例如 PJSIP/1001（坐席需要）", "e.g. PJSIP/1001 (agents need one)"),
}  # fmt: skip
USERS = Catalogue(USERS_TEXT)

_USERS_SCRIPT = (
    SCRIPT_HELPERS
    + """
const ROLES = ['agent', 'supervisor', 'admin'];
function roleSelect(value) {
  const s = el('select');
  for (const r of ROLES) {
    const o = el('option', {value: r}, T['role_' + r]);
    if (r === value) o.selected = true;
    s.append(o);
  }
  return s;
}
async function load() {
  const data = await api('GET', '/api/users');
  const body = $('users');
  body.textContent = '';
  for (const u of data.users) {
    const tr = el('tr', {'data-login': u.login});
    cell(tr, u.login);
    const name = el('input', {'aria-label': T.name, value: u.display_name || ''});
    cell(tr, '').append(name);
    const role = roleSelect(u.role);
    role.setAttribute('aria-label', T.role);
    cell(tr, '').append(role);
    const phone = el('input', {'aria-label': T.interface, value: u.interface || '', size: 12});
    cell(tr, '').append(phone);
    const agent = el('input', {'aria-label': T.agent, value: u.agent || '', size: 12});
    cell(tr, '').append(agent);
    cell(tr, u.active ? T.active : T.disabled);
    const actions = cell(tr, '');
    const save = el('button', {type: 'button', class: 'save'}, T.save);
    save.onclick = () => change(u.login, {role: role.value, display_name: name.value,
      interface: phone.value, agent: agent.value});
    const toggle = el('button', {type: 'button', class: 'toggle'}, u.active ? T.disable : T.enable);
    toggle.onclick = () => change(u.login, {active: !u.active});
    actions.append(save, ' ', toggle);
    body.append(tr);
  }
}
async function change(login, fields) {
  try {
    await api('PATCH', '/api/users/' + encodeURIComponent(login), fields);
    say(T.saved.replace('{login}', login), true);
    await load();
  } catch (e) { say(e.message, false); }
}
$('add').onsubmit = async (ev) => {
  ev.preventDefault();
  const form = new FormData($('add'));
  const body = {};
  for (const [k, v] of form) if (v) body[k] = v;
  try {
    await api('POST', '/api/users', body);
    say(T.added.replace('{login}', body.login), true);
    $('add').reset();
    await load();
  } catch (e) { say(e.message, false); }
};
load().catch((e) => say(e.message, false));
"""
)


def users_body(lang: Lang) -> str:
    t = USERS.all(lang)
    e = html.escape
    roles = "".join(
        f'<option value="{r}">{e(t["role_" + r])}</option>'
        for r in ("agent", "supervisor", "admin")
    )
    heads = "".join(
        f"<th>{e(t[k])}</th>"
        for k in ("login", "name", "role", "interface", "agent", "state", "actions")
    )
    return (
        f'<section class="card"><h2>{e(t["add"])}</h2><form id="add">'
        f'<label>{e(t["login"])} <input name="login" required pattern="[A-Za-z0-9._@\\-]{{1,64}}"></label>'
        f'<label>{e(t["name"])} <input name="display_name"></label>'
        f'<label>{e(t["role"])} <select name="role">{roles}</select></label>'
        f'<label>{e(t["password"])} <input name="password" type="password" minlength="8" '
        f'required autocomplete="new-password"></label>'
        f'<label>{e(t["interface"])} <input name="interface" placeholder="{e(t["hint_interface"])}"></label>'
        f'<label>{e(t["agent"])} <input name="agent"></label>'
        f'<button class="primary">{e(t["add"])}</button></form></section>'
        f'<p id="status" class="status" role="status"></p>'
        f'<section class="card"><table><thead><tr>{heads}</tr></thead>'
        f'<tbody id="users"></tbody></table></section>'
    )


@page_roles("admin")
async def users_page(request: web.Request) -> web.Response:
    body = users_body(request_lang(request))
    return admin_response(request, "/admin/users", USERS, body, _USERS_SCRIPT)


def setup(app: web.Application) -> None:
    app.router.add_get("/admin/users", users_page)
