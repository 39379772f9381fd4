"""The CTI's admin screens: users and roles (``/admin/users``), the owner import with
its progress (``/admin/owners``) and the API tokens (``/admin/tokens``). Admins only;
each screen writes through the JSON API (``/api/users``, ``/api/owners/import``,
``/api/tokens``) with the session's CSRF token."""

from __future__ import annotations

import html

from aiohttp import web

from callcenter.core.i18n import Catalogue
from callcenter.web.admin_page import STATUS_LINE, AdminScreen, add_screens, table_heads
from callcenter.web.security import ROLES

ROLE_TEXT: dict[str, tuple[str, str]] = {
    "role_agent": ("坐席", "Agent"),
    "role_supervisor": ("班长", "Supervisor"),
    "role_admin": ("管理员", "Administrator"),
}
USERS_TEXT: dict[str, tuple[str, str]] = {  # key: (Chinese, English)
    "title": ("用户与角色", "Users and roles"),
    "login": ("账号", "Login"), "name": ("姓名", "Name"), "role": ("角色", "Role"),
    "interface": ("座席分机", "Seat phone"), "agent": ("队列成员名", "Queue member name"),
    "state": ("状态", "State"), "active": ("启用", "Active"), "disabled": ("已停用", "Disabled"),
    "disable": ("停用", "Disable"), "enable": ("启用", "Enable"), "save": ("保存", "Save"),
    "password": ("初始密码", "Initial password"), "add": ("新建用户", "Add user"),
    "added": ("已添加用户 {login}", "User {login} added"), "saved": ("已保存 {login}", "{login} saved"),
    **ROLE_TEXT, "actions": ("操作", "Actions"), "new_password": ("重设密码", "New password"),
    "new_password_for": ("{login} 的新密码（至少 8 个字符）：", "New password for {login} (at least 8 characters):"),
    "hint_interface": ("例如 PJSIP/1001（坐席需要）", "e.g. PJSIP/1001 (agents need one)"),
}  # fmt: skip
USERS = Catalogue(USERS_TEXT)

_USERS_SCRIPT = """
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
    const name = el('input', {'aria-label': T.name, value: u.display_name || '', size: 8});
    cell(tr, '').append(name);
    const role = roleSelect(u.role);
    role.setAttribute('aria-label', T.role);
    cell(tr, '').append(role);
    const phone = el('input', {'aria-label': T.interface, value: u.interface || '', size: 10});
    cell(tr, '').append(phone);
    const agent = el('input', {'aria-label': T.agent, value: u.agent || '', size: 8});
    cell(tr, '').append(agent);
    cell(tr, u.active ? T.active : T.disabled);
    const actions = cell(tr, '');
    const save = el('button', {type: 'button', class: 'save'}, T.save);
    save.onclick = () => change(u.login, {role: role.value, display_name: name.value,
      interface: phone.value, agent: agent.value});
    const toggle = el('button', {type: 'button', class: 'toggle'}, u.active ? T.disable : T.enable);
    toggle.onclick = () => change(u.login, {active: !u.active});
    const reset = el('button', {type: 'button', class: 'reset'}, T.new_password);
    reset.onclick = () => {
      const password = window.prompt(T.new_password_for.replace('{login}', u.login));
      if (password) change(u.login, {password});
    };
    actions.append(save, ' ', toggle, ' ', reset);
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


def role_options(t: dict[str, str]) -> str:
    """The three roles as ``<option>``s, named in the page's language."""
    return "".join(f'<option value="{r}">{html.escape(t["role_" + r])}</option>' for r in ROLES)


def users_body(t: dict[str, str]) -> str:
    e = html.escape
    roles = role_options(t)
    heads = table_heads(t, ("login", "name", "role", "interface", "agent", "state", "actions"))
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
        f"{STATUS_LINE}"
        f'<section class="card"><table class="users"><thead><tr>{heads}</tr></thead>'
        f'<tbody id="users"></tbody></table></section>'
    )


USERS_SCREEN = AdminScreen("/admin/users", USERS, users_body, _USERS_SCRIPT)


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

_OWNERS_SCRIPT = r"""
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


def owners_body(t: dict[str, str]) -> str:
    e = html.escape
    return (
        f'<section class="card"><p>{e(t["explain"])}</p><form id="upload">'
        f'<label>{e(t["file"])} <input type="file" id="file" accept=".csv,.xlsx" required></label>'
        f'<label><input type="checkbox" id="dry_run"> {e(t["dry_run"])}</label>'
        f'<button class="primary" id="start">{e(t["start"])}</button></form>'
        f'<p><progress id="bar" value="0" max="1" style="width:100%"></progress></p>'
        f'{STATUS_LINE}<ul id="problems"></ul></section>'
    )


OWNERS_SCREEN = AdminScreen("/admin/owners", OWNERS, owners_body, _OWNERS_SCRIPT)


TOKENS_TEXT: dict[str, tuple[str, str]] = {  # key: (Chinese, English)
    "title": ("API 令牌", "API tokens"),
    "explain": (
        "其他系统（CRM、报表工具、物业系统）用令牌调用 API：请求头 Authorization: Bearer <令牌>。"
        "令牌只在创建时显示一次。",
        "Other systems (a CRM, a BI tool, the property system) call the API with a token: "
        "Authorization: Bearer <token>. A token is shown once, when it is made.",
    ),
    "name": ("名称", "Name"), "role": ("角色", "Role"), "scopes": ("权限", "Scopes"),
    "read": ("读取", "read"), "write": ("修改", "write"), "days": ("有效天数（空=长期）", "Valid days (empty: no end)"),
    "create": ("创建令牌", "Make a token"), "hint": ("开头", "Starts with"),
    "created": ("创建时间", "Made"), "last_used": ("最近使用", "Last used"), "state": ("状态", "State"),
    "active": ("有效", "active"), "revoked": ("已吊销", "revoked"), "expired": ("已过期", "expired"),
    "revoke": ("吊销", "Revoke"), "made": ("令牌 {name} 已创建，请现在复制（不会再显示）：",
                                            "Token {name} made; copy it now (it is not shown again):"),
    "revoked_ok": ("已吊销 {name}", "{name} revoked"),
    **ROLE_TEXT,
}  # fmt: skip
TOKENS = Catalogue(TOKENS_TEXT)

_TOKENS_SCRIPT = """
function when(t) { return t ? zonedTime(t, ZONE, false) : '-'; }
async function load() {
  const data = await api('GET', '/api/tokens');
  const body = $('tokens');
  body.textContent = '';
  const now = Date.now() / 1000;
  for (const t of data.tokens) {
    const tr = el('tr', {'data-name': t.name});
    const state = t.revoked_at ? 'revoked' : (t.expires_at && t.expires_at <= now ? 'expired' : 'active');
    cell(tr, t.name); cell(tr, T['role_' + t.role]); cell(tr, t.scopes.map((s) => T[s]).join(', '));
    cell(tr, t.hint + '…'); cell(tr, when(t.created_at)); cell(tr, when(t.last_used_at)); cell(tr, T[state]);
    const actions = cell(tr, '');
    if (state === 'active') {
      const b = el('button', {type: 'button'}, T.revoke);
      b.onclick = async () => {
        try { await api('DELETE', '/api/tokens/' + t.id); say(T.revoked_ok.replace('{name}', t.name), true); await load(); }
        catch (e) { say(e.message, false); }
      };
      actions.append(b);
    }
    body.append(tr);
  }
}
$('make').onsubmit = async (ev) => {
  ev.preventDefault();
  const scopes = ['read', 'write'].filter((s) => $('scope_' + s).checked);
  const body = {name: $('token_name').value, role: $('token_role').value, scopes};
  if ($('token_days').value) body.expires_in_days = parseFloat($('token_days').value);
  try {
    const made = await api('POST', '/api/tokens', body);
    $('shown').hidden = false;
    $('shown_label').textContent = T.made.replace('{name}', made.name);
    $('shown_token').value = made.token;
    say('', true);
    $('make').reset();
    await load();
  } catch (e) { say(e.message, false); }
};
load().catch((e) => say(e.message, false));
"""


def tokens_body(t: dict[str, str]) -> str:
    e = html.escape
    roles = role_options(t)
    heads = table_heads(
        t, ("name", "role", "scopes", "hint", "created", "last_used", "state", "revoke")
    )
    return (
        f'<section class="card"><p>{e(t["explain"])}</p><form id="make">'
        rf'<label>{e(t["name"])} <input id="token_name" required pattern="[A-Za-z0-9._\-]{{1,64}}"></label>'
        f'<label>{e(t["role"])} <select id="token_role">{roles}</select></label>'
        f'{e(t["scopes"])}: <label><input type="checkbox" id="scope_read" checked> {e(t["read"])}</label>'
        f'<label><input type="checkbox" id="scope_write"> {e(t["write"])}</label>'
        f'<label>{e(t["days"])} <input id="token_days" type="number" min="0.001" step="any" size="6"></label>'
        f'<button class="primary">{e(t["create"])}</button></form>'
        f'<div id="shown" hidden><p id="shown_label" class="ok"></p>'
        f'<input id="shown_token" readonly size="60" style="font-family:monospace"></div></section>'
        f"{STATUS_LINE}"
        f'<section class="card"><table><thead><tr>{heads}</tr></thead>'
        f'<tbody id="tokens"></tbody></table></section>'
    )


TOKENS_SCREEN = AdminScreen("/admin/tokens", TOKENS, tokens_body, _TOKENS_SCRIPT)


def setup(app: web.Application) -> None:
    add_screens(app, USERS_SCREEN, OWNERS_SCREEN, TOKENS_SCREEN)
