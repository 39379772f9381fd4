"""The CTI's admin screens: users and roles (``/admin/users``) and the owner import with
its progress (``/admin/owners``). Admins only; each screen writes through the JSON API
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


OWNERS_TEXT: dict[str, tuple[str, str]] = {  # key: (Chinese, English)
    "title": ("业主导入", "Owner import"),
    "explain": (
        "从业务系统导出的 .csv（UTF-8 或 GB18030）或 .xlsx 文件导入业主、房号和电话；按业主编号更新已有业主。"
        "任何一行有问题时不导入任何数据。",
        "Import owners, their units and phone numbers from a .csv (UTF-8 or GB18030) or .xlsx "
        "export of the business system; owners are matched by their code. When any row has a "
        "problem, nothing is imported.",
    ),
    "file": ("文件", "File"), "dry_run": ("只检查，不写入", "Check only, write nothing"),
    "start": ("开始导入", "Import"), "checking": ("正在检查文件…", "Checking the file…"),
    "writing": ("正在写入 {done}/{total}", "Writing {done}/{total}"),
    "done": ("完成：{rows} 行，新建 {created} 位业主，更新 {updated} 位", "Done: {rows} row(s), {created} owner(s) created, {updated} updated"),
    "dry_done": ("检查通过：{rows} 行，将新建 {created} 位，更新 {updated} 位", "Checks out: {rows} row(s); would create {created} and update {updated}"),
    "refused": ("发现 {n} 个问题，未导入任何数据：", "{n} problem(s); nothing was imported:"),
    "failed": ("导入失败，请查看服务日志", "The import failed; see the service's log"),
}  # fmt: skip
OWNERS = Catalogue(OWNERS_TEXT)

_OWNERS_SCRIPT = (
    SCRIPT_HELPERS
    + r"""
function fill(text, job) { return text.replace(/\{(\w+)\}/g, (_, k) => String(job[k])); }
function show(job) {
  const bar = $('bar');
  bar.max = Math.max(job.total, 1);
  bar.value = job.state === 'done' ? bar.max : job.done;
  const list = $('problems');
  list.textContent = '';
  if (job.state === 'checking') say(T.checking, true);
  else if (job.state === 'writing') say(fill(T.writing, job), true);
  else if (job.state === 'done') say(fill(job.dry_run ? T.dry_done : T.done, job), true);
  else if (job.state === 'refused') {
    say(T.refused.replace('{n}', job.problem_count), false);
    for (const p of job.problems) list.append(el('li', {class: 'error'}, p));
  } else say(T.failed, false);
}
async function follow(id) {
  for (;;) {
    const job = await api('GET', '/api/owners/import/' + id);
    show(job);
    if (!['checking', 'writing'].includes(job.state)) return;
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}
$('upload').onsubmit = async (ev) => {
  ev.preventDefault();
  const file = $('file').files[0];
  if (!file) return;
  $('start').disabled = true;
  try {
    const q = new URLSearchParams({name: file.name, dry_run: $('dry_run').checked ? 'true' : 'false'});
    const r = await fetch('/api/owners/import?' + q, {method: 'POST', credentials: 'same-origin',
      headers: {'X-CSRF-Token': CSRF, 'Content-Type': 'application/octet-stream'}, body: file});
    const job = await r.json();
    if (!r.ok) throw new Error(job.error[LANG]);
    show(job);
    await follow(job.id);
  } catch (e) { say(e.message, false); }
  finally { $('start').disabled = false; }
};
"""
)


def owners_body(lang: Lang) -> str:
    t = OWNERS.all(lang)
    e = html.escape
    return (
        f'<section class="card"><p>{e(t["explain"])}</p><form id="upload">'
        f'<label>{e(t["file"])} <input type="file" id="file" accept=".csv,.xlsx" required></label>'
        f'<label><input type="checkbox" id="dry_run"> {e(t["dry_run"])}</label>'
        f'<button class="primary" id="start">{e(t["start"])}</button></form>'
        f'<p><progress id="bar" value="0" max="1" style="width:100%"></progress></p>'
        f'<p id="status" class="status" role="status"></p><ul id="problems"></ul></section>'
    )


@page_roles("admin")
async def owners_page(request: web.Request) -> web.Response:
    body = owners_body(request_lang(request))
    return admin_response(request, "/admin/owners", OWNERS, body, _OWNERS_SCRIPT)


def setup(app: web.Application) -> None:
    app.router.add_get("/admin/users", users_page)
    app.router.add_get("/admin/owners", owners_page)
