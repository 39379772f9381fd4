"""Routing's admin screens: the roster's week with its gaps and a day's editor
(``/admin/roster``), and the agents, seats and zones with their housekeepers
(``/admin/directory``). Admins only; both write through the routing API
(``/api/routing/roster/days/{day}``, ``/api/routing/{agents,seats,zones}``), which writes
the roster and agents files."""

from __future__ import annotations

import html

from aiohttp import web

from callcenter.core.i18n import Catalogue
from callcenter.web.admin_page import STATUS_LINE, AdminScreen, add_screens, table_heads

ROSTER_TEXT: dict[str, tuple[str, str]] = {  # key: (Chinese, English)
    "title": ("排班", "Roster"),
    "prev": ("上一周", "Previous week"), "next": ("下一周", "Next week"), "today": ("本周", "This week"),
    "day": ("日期", "Day"), "shifts": ("班次", "Shifts"), "leave": ("请假", "Leave"),
    "gaps": ("缺口（对照最低人数）", "Gaps (against the minimums)"), "edit": ("修改", "Edit"),
    "no_gaps": ("无", "none"), "weekday_0": ("周一", "Mon"), "weekday_1": ("周二", "Tue"),
    "weekday_2": ("周三", "Wed"), "weekday_3": ("周四", "Thu"), "weekday_4": ("周五", "Fri"),
    "weekday_5": ("周六", "Sat"), "weekday_6": ("周日", "Sun"),
    "editing": ("修改 {day} 的排班", "Editing {day}"), "agent": ("坐席", "Agent"),
    "reason": ("原因", "Reason"), "with": ("对调给", "Swap with"), "shift": ("班次", "Shift"),
    "team": ("班组", "Team"), "add_leave": ("加请假", "Add leave"), "add_swap": ("加调班", "Add swap"),
    "add_extra": ("加班", "Add extra shift"), "remove": ("删除", "Remove"), "save": ("保存这一天", "Save the day"),
    "cancel": ("取消", "Cancel"), "saved": ("{day} 的排班已保存", "{day} saved"),
    "swaps": ("调班", "Swaps"), "extra": ("加班", "Extra shifts"),
    "origin_swap": ("调班", "swap"), "origin_extra": ("加班", "extra"),
    "multi_day": ("跨天请假请在排班文件中修改", "Leave over several days is edited in the roster file"),
    "read_only": ("排班表没有文件，只能查看", "The roster has no file: view only"),
    "short": ("缺 {n} 人", "{n} short"), "past_gaps": ("已过去：{n} 段缺口", "Past: {n} gap(s)"),
}  # fmt: skip
ROSTER = Catalogue(ROSTER_TEXT)

_ROSTER_SCRIPT = """
let week = null, editing = null, draft = null, first = new URLSearchParams(location.search).get('from') || '';
// "leave" is what the file holds when no reason was given: shown as 请假 / Leave
function reason(text) { return text && text !== 'leave' ? text : T.leave; }
function who(x) { return x.name ? x.name + ' (' + x.agent + ')' : x.agent; }
function lines(td, items) {
  for (const text of items) td.append(el('div', {}, text));
}
// The week as a grid: a column per day (Monday first), a row for the gaps, one for
// leave, then one per shift (by start time) listing who works it that day.
async function load() {
  week = await api('GET', '/api/routing/roster/week' + (first ? '?from=' + first : ''));
  first = week.from;
  const head = $('week_head');
  head.textContent = '';
  const top = el('tr');
  top.append(el('th', {}, T.shifts));
  for (const d of week.days) {
    const th = el('th', {'data-day': d.day});
    th.append(el('div', {}, d.day + ' ' + T['weekday_' + d.weekday]));
    if (d.holiday) th.append(el('div', {class: 'muted'}, d.holiday));
    if (week.editable) {
      const b = el('button', {type: 'button', class: 'edit'}, T.edit);
      b.onclick = () => openEditor(d);
      th.append(b);
    }
    top.append(th);
  }
  head.append(top);
  const body = $('week');
  body.textContent = '';
  const row = (label, cls, fill) => {
    const tr = el('tr', {class: cls});
    tr.append(el('th', {}, label));
    for (const d of week.days) {
      const td = el('td', {'data-day': d.day});
      fill(d, td);
      tr.append(td);
    }
    body.append(tr);
  };
  // Gaps as stretches ("07:00–12:00 缺 2 人 · 高峰时段", rules by title); days gone by
  // folded away, as nothing can be rostered for them any more.
  row(T.gaps, 'gaps', (d, td) => {
    if (!d.gap_ranges.length) { td.append(el('span', {class: 'muted'}, T.no_gaps)); return; }
    let box = td;
    if (d.day < week.today) {
      box = el('details', {class: 'past'});
      box.append(el('summary', {}, T.past_gaps.replace('{n}', d.gap_ranges.length)));
      td.append(box);
    } else td.className = 'gap';
    for (const r of d.gap_ranges) {
      const rules = [...new Set(r.rules[LANG])].join(', ');
      box.append(el('div', {}, r.start + '–' + r.end + ' ' + T.short.replace('{n}', r.short) + ' · ' + rules));
    }
  });
  row(T.leave, 'leave', (d, td) => lines(td, d.leave.map((l) => who(l) + ' · ' + reason(l.reason))));
  const shifts = new Map();
  for (const d of week.days) for (const s of d.shifts) {
    const key = s.start + '–' + s.end + ' ' + s.label[LANG];
    if (!shifts.has(key)) shifts.set(key, s.start + s.end);
  }
  for (const key of [...shifts.keys()].sort((a, b) => shifts.get(a).localeCompare(shifts.get(b)))) {
    row(key, 'shift', (d, td) => {
      for (const s of d.shifts.filter((s) => s.start + '–' + s.end + ' ' + s.label[LANG] === key)) {
        // "name (id)" and its [extra]/[swap] tag never broken inside: a narrow day wraps between them
        const line = el('div');
        line.append(el('span', {class: 'who'}, who(s)));
        if (s.origin !== 'rotation') line.append(' ', el('span', {class: 'tag'}, '[' + T['origin_' + s.origin] + ']'));
        td.append(line);
      }
    });
  }
  $('readonly').hidden = week.editable;
  fillChoices();
}
function fillChoices() {
  for (const id of ['leave_agent', 'swap_agent', 'swap_with']) {
    const s = $(id);
    s.textContent = '';
    for (const a of week.agents) s.append(el('option', {value: a.agent}, a.name ? a.name + ' (' + a.agent + ')' : a.agent));
  }
  const list = $('agent_names');
  list.textContent = '';
  for (const a of week.agents) list.append(el('option', {value: a.agent}, a.name));
  const shifts = $('extra_shift');
  shifts.textContent = '';
  for (const s of week.shifts) shifts.append(el('option', {value: s.shift}, s.label[LANG] + ' (' + s.shift + ')'));
}
function openEditor(day) {
  editing = day.day;
  draft = JSON.parse(JSON.stringify(day.edit));
  $('editor').hidden = false;
  $('editing').textContent = T.editing.replace('{day}', day.day);
  drawDraft();
}
function drawDraft() {
  const describe = {
    leave: (i) => i.agent + ' · ' + reason(i.reason),
    swaps: (i) => i.agent + ' ⇄ ' + i.with,
    extra: (i) => {
      const shift = week.shifts.find((s) => s.shift === i.shift);
      return i.agent + ' · ' + (shift ? shift.label[LANG] : i.shift) + (i.team ? ' · ' + i.team : '');
    },
  };
  for (const kind of ['leave', 'swaps', 'extra']) {
    const ul = $('draft_' + kind);
    ul.textContent = '';
    draft[kind].forEach((item, n) => {
      const li = el('li', {}, describe[kind](item) + ' ');
      const rm = el('button', {type: 'button'}, T.remove);
      rm.onclick = () => { draft[kind].splice(n, 1); drawDraft(); };
      li.append(rm);
      ul.append(li);
    });
  }
}
$('add_leave').onclick = () => { draft.leave.push({agent: $('leave_agent').value, reason: $('leave_reason').value}); drawDraft(); };
$('add_swap').onclick = () => { draft.swaps.push({agent: $('swap_agent').value, with: $('swap_with').value}); drawDraft(); };
$('add_extra').onclick = () => {
  if (!$('extra_agent').value) return;
  const item = {agent: $('extra_agent').value, shift: $('extra_shift').value};
  if ($('extra_team').value) item.team = $('extra_team').value;
  draft.extra.push(item); drawDraft();
};
$('save').onclick = async () => {
  try {
    await api('PUT', '/api/routing/roster/days/' + editing, draft);
    say(T.saved.replace('{day}', editing), true);
    $('editor').hidden = true;
    await load();
  } catch (e) { say(e.message, false); }
};
$('cancel').onclick = () => { $('editor').hidden = true; };
function shiftWeek(days) {
  const d = new Date(first + 'T12:00:00Z');
  d.setUTCDate(d.getUTCDate() + days);
  first = d.toISOString().slice(0, 10);
  load().catch((e) => say(e.message, false));
}
$('prev').onclick = () => shiftWeek(-7);
$('next').onclick = () => shiftWeek(7);
$('today').onclick = () => { first = ''; load().catch((e) => say(e.message, false)); };
load().catch((e) => say(e.message, false));
"""


def roster_body(t: dict[str, str]) -> str:
    e = html.escape
    return (
        f'<p><button type="button" id="prev">{e(t["prev"])}</button> '
        f'<button type="button" id="today">{e(t["today"])}</button> '
        f'<button type="button" id="next">{e(t["next"])}</button></p>'
        f'<p id="readonly" class="muted" hidden>{e(t["read_only"])}</p>'
        f"{STATUS_LINE}"
        f'<section class="card" id="editor" hidden><h2 id="editing"></h2>'
        f'<p class="muted">{e(t["multi_day"])}</p>'
        f'<h3>{e(t["leave"])}</h3><ul id="draft_leave"></ul>'
        f'<label>{e(t["agent"])} <select id="leave_agent"></select></label>'
        f'<label>{e(t["reason"])} <input id="leave_reason" maxlength="64"></label>'
        f'<button type="button" id="add_leave">{e(t["add_leave"])}</button>'
        f'<h3>{e(t["swaps"])}</h3><ul id="draft_swaps"></ul>'
        f'<label>{e(t["agent"])} <select id="swap_agent"></select></label>'
        f'<label>{e(t["with"])} <select id="swap_with"></select></label>'
        f'<button type="button" id="add_swap">{e(t["add_swap"])}</button>'
        f'<h3>{e(t["extra"])}</h3><ul id="draft_extra"></ul>'
        f'<label>{e(t["agent"])} <input id="extra_agent" list="agent_names" maxlength="64"></label>'
        f'<datalist id="agent_names"></datalist>'
        f'<label>{e(t["shift"])} <select id="extra_shift"></select></label>'
        f'<label>{e(t["team"])} <input id="extra_team" maxlength="64" placeholder="extra"></label>'
        f'<button type="button" id="add_extra">{e(t["add_extra"])}</button>'
        f'<p><button type="button" class="primary" id="save">{e(t["save"])}</button> '
        f'<button type="button" id="cancel">{e(t["cancel"])}</button></p></section>'
        f'<section class="card"><table class="week"><thead id="week_head"></thead>'
        f'<tbody id="week"></tbody></table></section>'
    )


ROSTER_SCREEN = AdminScreen("/admin/roster", ROSTER, roster_body, _ROSTER_SCRIPT)


DIRECTORY_TEXT: dict[str, tuple[str, str]] = {  # key: (Chinese, English)
    "title": ("坐席、座席与片区", "Agents, seats and zones"),
    "agents": ("坐席（人员）", "Agents"), "seats": ("座席（话机）", "Seats (phones)"),
    "zones": ("片区与管家", "Zones and housekeepers"), "id": ("编号", "Id"), "name": ("姓名", "Name"),
    "seat": ("座席", "Seat"), "team": ("班组", "Team"),
    "queues": ("队列:优先级", "Queues:penalty"), "language": ("语言", "Language"),
    "interface": ("分机接口", "Interface"), "label": ("名称", "Label"),
    "name_zh": ("中文名", "Chinese name"), "name_en": ("英文名", "English name"),
    "buildings": ("楼栋", "Buildings"), "housekeeper": ("管家", "Housekeeper"),
    "queue": ("片区队列", "Zone queue"), "save": ("保存", "Save"), "add": ("添加", "Add"),
    "saved": ("已保存 {id}", "{id} saved"), "added": ("已添加 {id}", "{id} added"),
    "none": ("（无）", "(none)"), "list_hint": ("逗号分隔", "comma-separated"),
}  # fmt: skip
DIRECTORY = Catalogue(DIRECTORY_TEXT)

_DIRECTORY_SCRIPT = """
// Each part of the directory: its fields and how a field is shown and read back.
const PARTS = {
  agents: [['name', 'text'], ['seat', 'seat'], ['team', 'text'], ['queues', 'map'], ['language', 'lang']],
  seats: [['interface', 'text'], ['label', 'text']],
  zones: [['name_zh', 'text'], ['name_en', 'text'], ['buildings', 'list'], ['housekeeper', 'agent'], ['queue', 'text']],
};
let held = {agents: [], seats: [], zones: []};
function shown(kind, value) {
  if (kind === 'map') return Object.entries(value || {}).map(([q, p]) => q + ':' + p).join(', ');
  if (kind === 'list') return (value || []).join(', ');
  return value || '';
}
function read(kind, text) {
  const items = text.split(',').map((x) => x.trim()).filter((x) => x);
  if (kind === 'list') return items;
  if (kind === 'map') {
    const out = {};
    for (const item of items) { const [q, p] = item.split(':'); out[q.trim()] = parseInt(p || '0', 10) || 0; }
    return out;
  }
  return text;
}
function input(kind, value, label) {
  let node;
  if (kind === 'seat' || kind === 'agent' || kind === 'lang') {
    node = el('select');
    const choices = kind === 'lang' ? [['zh', '中文'], ['en', 'English']]
      : [['', T.none], ...(kind === 'seat' ? held.seats.map((s) => [s.id, s.id + ' ' + (s.label || s.interface)])
                                          : held.agents.map((a) => [a.id, a.name + ' (' + a.id + ')']))];
    for (const [v, text] of choices) {
      const o = el('option', {value: v}, text);
      if (v === (value || '')) o.selected = true;
      node.append(o);
    }
  } else {
    node = el('input', {value: shown(kind, value), size: kind === 'text' ? 12 : 18});
  }
  node.setAttribute('aria-label', label);
  node.dataset.kind = kind;
  return node;
}
function bodyOf(part, inputs) {
  const body = {};
  PARTS[part].forEach(([name, kind], n) => { body[name] = read(kind, inputs[n].value); });
  return body;
}
function draw(part) {
  const tbody = $(part + '_rows');
  tbody.textContent = '';
  for (const item of held[part]) {
    const tr = el('tr', {'data-id': item.id});
    cell(tr, item.id);
    const inputs = PARTS[part].map(([name, kind]) => input(kind, item[name], T[name]));
    for (const i of inputs) cell(tr, '').append(i);
    const save = el('button', {type: 'button'}, T.save);
    save.onclick = () => store(part, 'PUT', '/api/routing/' + part + '/' + encodeURIComponent(item.id), bodyOf(part, inputs), item.id);
    cell(tr, '').append(save);
    tbody.append(tr);
  }
  const tr = el('tr', {class: 'new'});
  const id = el('input', {'aria-label': T.id, size: 8});
  cell(tr, '').append(id);
  const inputs = PARTS[part].map(([name, kind]) => input(kind, kind === 'lang' ? 'zh' : '', T[name]));
  for (const i of inputs) cell(tr, '').append(i);
  const add = el('button', {type: 'button', class: 'primary'}, T.add);
  add.onclick = () => store(part, 'POST', '/api/routing/' + part, {id: id.value, ...bodyOf(part, inputs)}, id.value);
  cell(tr, '').append(add);
  tbody.append(tr);
}
async function store(part, method, url, body, id) {
  try {
    await api(method, url, body);
    say((method === 'POST' ? T.added : T.saved).replace('{id}', id), true);
    await load();
  } catch (e) { say(e.message, false); }
}
async function load() {
  const [agents, seats, zones] = await Promise.all(
    ['agents', 'seats', 'zones'].map((p) => api('GET', '/api/routing/' + p)));
  held = {agents, seats, zones};
  for (const part of Object.keys(PARTS)) draw(part);
}
load().catch((e) => say(e.message, false));
"""


def directory_body(t: dict[str, str]) -> str:
    e = html.escape
    fields = {
        "agents": ("name", "seat", "team", "queues", "language"),
        "seats": ("interface", "label"),
        "zones": ("name_zh", "name_en", "buildings", "housekeeper", "queue"),
    }
    parts = "".join(
        f'<section class="card" id="{part}"><h2>{e(t[part])}</h2><table><thead><tr>'
        + table_heads(t, ("id", *names))
        + f'<th></th></tr></thead><tbody id="{part}_rows"></tbody></table></section>'
        for part, names in fields.items()
    )
    return f"{STATUS_LINE}{parts}"


DIRECTORY_SCREEN = AdminScreen("/admin/directory", DIRECTORY, directory_body, _DIRECTORY_SCRIPT)


def setup(app: web.Application) -> None:
    add_screens(app, ROSTER_SCREEN, DIRECTORY_SCREEN)
