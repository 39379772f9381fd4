"""The seat page: one HTML document with its script; every text comes from the catalogue
(Chinese by default), and data from the server is only ever set as text, never as HTML.

Each call on screen has its own card and its own workspace (wrap-up and work-order forms,
headed with the call's owner or "unknown caller" and its start time); a form sends the
pbx and call id of the call it was opened for, so what is typed for one caller never
lands on the next."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence

from callcenter.core.i18n import Lang
from callcenter.cti.desk_script import DESK_KIT
from callcenter.cti.seat_followups import FOLLOWUP_SECTIONS, followup_script
from callcenter.web.page_clock import ZONED_TIME_JS
from callcenter.web.page_frame import FRAME_CSS
from callcenter.web.page_head import PAGE_HEAD, html_lang
from callcenter.web.security import User

_TEMPLATE = (
    PAGE_HEAD
    + """<style>
body{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;background:#f4f6f8;color:#222}
header{display:flex;flex-wrap:nowrap;gap:10px;align-items:center;background:#1f3a5f;color:#fff;padding:8px 16px;white-space:nowrap}
header>*{flex:none} header .grow{flex:1 1 0;min-width:0}
header .who{flex:0 1 auto;min-width:0;overflow:hidden;text-overflow:ellipsis}
header a,header button{color:#fff;background:none;border:1px solid #fff6;padding:4px 8px;border-radius:4px;white-space:nowrap}
main{display:grid;grid-template-columns:minmax(0,2fr) minmax(0,1fr);gap:12px;padding:12px}
section{background:#fff;border-radius:8px;padding:12px;box-shadow:0 1px 3px #0002;margin-bottom:12px}
h2{font-size:16px;margin:0 0 8px} .card{border:2px solid #ccc;border-radius:8px;padding:8px;margin-bottom:8px}
.card.ringing{border-color:#e67e22;background:#fff7ee} .card.answered{border-color:#27ae60}
.card.ended,.card.missed{border-style:dashed} .card.selected{box-shadow:0 0 0 3px #1f3a5f66}
.card .actions{margin-top:6px} .vip{color:#fff;background:#c0392b;border-radius:4px;padding:0 4px}
.pops-head{display:flex;gap:8px;align-items:center;flex-wrap:wrap} .pops-head h2{flex:1;margin:0}
fieldset{border:1px solid #ddd;border-radius:6px;margin:0 0 8px;min-width:0} legend{font-weight:bold;overflow-wrap:anywhere}
label{display:block;margin:6px 0 2px;font-size:90%} input,select,textarea{width:100%;box-sizing:border-box;padding:4px}
table{width:100%;border-collapse:collapse;font-size:90%} td,th{border-bottom:1px solid #eee;padding:2px 4px;text-align:left}
header select{width:auto;max-width:9em} [hidden]{display:none !important}
#status{font-weight:bold} .muted{color:#777} #notice:empty{display:none}
#notice{background:#eaf7ee;border:1px solid #27ae60;border-radius:6px;padding:6px 10px;margin:0 0 12px}
</style>__FRAME_CSS__</head><body>__NAV__
<header><strong class="who">__APP__ · <span data-testid="seat" title="__INTERFACE__">__SEAT__</span> · <span data-testid="agent-name">__NAME__</span></strong>
<span id="status" data-testid="status"__SEATLESS__></span>
<select id="pause-reason" data-testid="pause-reason" aria-label="__PAUSE_REASON__"__SEATLESS__></select>
<button id="toggle-pause" data-testid="toggle-pause"__SEATLESS__></button>
<span class="grow"></span><span id="link" data-testid="link"></span></header>
<main><div>
<p id="notice" data-testid="notice" role="status"></p>
<section><div class="pops-head"><h2 id="pops-title"></h2>
<button type="button" id="work-on-none" data-testid="work-on-none"></button></div>
<div id="pops" data-testid="pops"></div><p id="no-pops" class="muted"></p></section>
<div id="workspaces"></div>
</div><div>
<section><h2 id="call-title"></h2><input id="dial" data-testid="dial"><button id="call" data-testid="call"></button>
<span id="call-result"></span></section>
__FOLLOWUPS__
<section><h2 id="day-title"></h2><table id="day" data-testid="day"></table></section>
<section><h2 id="today-title"></h2><table id="today" data-testid="today"></table></section>
<div id="side-parts"></div>
</div></main>
__ZONED_TIME____DESK_KIT____FOLLOWUP_SCRIPT__<script>
const T = __TEXT__;
const LANG = '__LANG__';
const ZONES = __ZONES__;  // zone id -> its name in the page's language
// where a call may go: {seat: [[interface, label]], queue: [[code, name]]}; none for housekeeper
const TRANSFER_TARGETS = __TRANSFER_TARGETS__;
const $ = (id) => document.getElementById(id);
const {el, fill, labelled, api, maskNumber} = deskKit(T, LANG);
function options(select, keys, prefix) { for (const k of keys) select.append(el('option', {value: k}, T[prefix + k])); }
const texts = {'pops-title': 'calls_title', 'work-on-none': 'order_without_call', 'no-pops': 'no_calls',
  'call-title': 'click_to_call', 'call': 'click_to_call', 'today-title': 'today_calls', 'day-title': 'my_day'};
// codes from the server shown in the page's language (an unknown code as it is)
const word = (prefix, code) => (code ? T[prefix + code] || code : '-');
const zoneName = (code) => (code ? ZONES[code] || code : '-');
function duration(s) {
  s = Math.max(0, Math.round(s || 0));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return (h ? h + ':' + String(m).padStart(2, '0') : String(m)) + ':' + String(r).padStart(2, '0');
}
for (const [id, key] of Object.entries(texts)) $(id).textContent = T[key];
options($('pause-reason'), ['break', 'meal', 'training', 'admin'], 'reason_');
let paused = false;
function showStatus() {
  $('status').textContent = paused ? T.paused : T.ready;
  $('toggle-pause').textContent = paused ? T.resume : T.pause;
}
$('toggle-pause').onclick = async () => {
  try { await api('POST', '/api/seat/pause', {paused: !paused, reason: $('pause-reason').value}); paused = !paused; showStatus(); loadDay(); }
  catch (e) { $('status').textContent = e.message; }
};

// --- who a call is: what its card and forms say they are for ---
// a time of today's work: HH:MM:SS in the service's zone (not the browser's), as every page
function clock(epoch) { return zonedTime(epoch, ZONE, true).slice(11); }
const ownerName = (o) => o.name + (o.units.length ? fill(T.unit_in_parens, {unit: o.units[0]}) : '');
function ownerOf(work) {  // the owner the call's work order goes on
  const owners = work.pop.owners || [];
  if (owners.length < 2) return owners[0] || null;
  return owners.find((o) => String(o.id) === work.ownerSelect.value) || owners[0];
}
function who(work, forOrder) {
  if (!work.key) return T.no_call;
  const owners = work.pop.owners || [];
  const owner = forOrder || owners.length === 1 ? ownerOf(work) : null;
  const name = owner ? T.owner + ' ' + ownerName(owner)
    : (owners.length > 1 ? fill(T.shared_number, {n: owners.length}) : T.unknown_caller) + ' ' + maskNumber(work.pop.caller_number);
  return name + ' · ' + fill(T.call_at, {time: clock(work.pop.started_at)});
}

// --- one entry per call on screen, keyed "pbx/call_id" ---
// Each call keeps its own workspace (wrap-up and work-order forms), built once and never
// rebuilt: what the agent types stays with the call it was typed for, and is sent with that
// call's pbx and call id, whatever pops next. Key '' is the work order without a call.
const calls = new Map();
let selected = '';
// A part another feature adds (``seatDesk.onWorkspace``) marks box.dataset.dirty = '1'
// while something typed in it is unsent.
// What the follow-ups hold (callback, owner search) counts too.
const dirty = (work) => work.orderDirty || work.wrapDirty || Followups.dirty(work) || work.box.dataset.dirty === '1';
const workspaceParts = [];

function newWork(key, pop) {
  const work = {key, pbx: pop ? pop.pbx : '', callId: pop ? pop.call_id : '', pop: pop || {}, details: null,
    answered: false, over: false, wrapped: false, orderDirty: false, wrapDirty: false, ownerIds: null};
  work.box = el('section', {class: 'workspace', 'data-testid': 'workspace', 'data-call': key});
  work.title = el('h2', {'data-testid': 'work-for'});
  work.box.append(work.title);
  if (key) {
    work.disposition = el('select', {name: 'disposition', 'data-testid': 'disposition'});
    options(work.disposition, ['resolved', 'work_order', 'callback', 'wrong_number', 'other'], 'disp_');
    work.note = el('textarea', {name: 'note', 'data-testid': 'disp-note', maxlength: '2000'});
    work.wrapLegend = el('legend', {'data-testid': 'wrapup-for'});
    work.wrapResult = el('span', {role: 'status', 'data-testid': 'wrapup-result'});
    work.wrap = el('form', {'data-testid': 'wrapup-form', hidden: ''}, el('fieldset', {}, work.wrapLegend,
      labelled(T.disposition, work.disposition), labelled(T.notes, work.note),
      el('button', {type: 'submit', 'data-testid': 'save-disposition'}, T.save), ' ', work.wrapResult));
    work.wrap.addEventListener('input', () => { work.wrapDirty = true; });
    work.wrap.onsubmit = (ev) => { ev.preventDefault(); saveWrapUp(work); };
    work.xferTo = el('select', {name: 'to', 'data-testid': 'transfer-to'});
    options(work.xferTo, ['seat', 'queue', 'housekeeper'], 'xfer_to_');
    work.xferMode = el('select', {name: 'mode', 'data-testid': 'transfer-mode'});
    options(work.xferMode, ['blind', 'attended'], 'xfer_mode_');
    work.xferTarget = el('select', {name: 'target', 'data-testid': 'transfer-target'});
    work.xferResult = el('span', {role: 'status', 'data-testid': 'transfer-result'});
    work.xfer = el('form', {'data-testid': 'transfer-form', hidden: ''}, el('fieldset', {}, el('legend', {}, T.transfer),
      labelled(T.xfer_to, work.xferTo), labelled(T.xfer_target, work.xferTarget), labelled(T.xfer_mode, work.xferMode),
      el('button', {type: 'submit', 'data-testid': 'transfer-submit'}, T.transfer), ' ', work.xferResult));
    const offerTargets = () => {
      const targets = TRANSFER_TARGETS[work.xferTo.value] || [];
      work.xferTarget.replaceChildren(...targets.map(([value, label]) => el('option', {value}, label)));
      work.xferTarget.disabled = !targets.length;
    };
    offerTargets();
    work.xferTo.addEventListener('change', offerTargets);
    work.xfer.onsubmit = (ev) => { ev.preventDefault(); transfer(work); };
    work.box.append(work.xfer, work.wrap);
  }
  const f = work.fields = {kind: el('select', {name: 'kind', 'data-testid': 'order-kind'}), category: el('input', {name: 'category', maxlength: '64'}),
    priority: el('select', {name: 'priority'}), department: el('select', {name: 'department', 'data-testid': 'order-new-department'}),
    due: el('input', {name: 'due', type: 'datetime-local'}), description: el('textarea', {name: 'description', 'data-testid': 'order-description', maxlength: '4000'})};
  options(f.kind, ['repair', 'complaint', 'enquiry', 'fee'], 'kind_');
  options(f.priority, ['normal', 'low', 'high', 'urgent'], 'prio_');
  work.ownerSelect = el('select', {name: 'owner', 'data-testid': 'order-owner'});
  work.ownerRow = labelled(T.order_owner, work.ownerSelect);
  work.ownerRow.hidden = true;
  work.orderLegend = el('legend', {'data-testid': 'order-for'});
  work.orderResult = el('p', {role: 'status', 'data-testid': 'order-result'});
  work.order = el('form', {'data-testid': 'order-form'}, el('fieldset', {}, work.orderLegend, work.ownerRow,
    labelled(T.kind, f.kind), labelled(T.category, f.category), labelled(T.priority, f.priority),
    labelled(T.department, f.department), labelled(T.due, f.due), labelled(T.description, f.description),
    el('button', {type: 'submit', 'data-testid': 'order-submit'}, T.create)), work.orderResult);
  work.order.addEventListener('input', () => { work.orderDirty = true; });
  work.ownerSelect.addEventListener('change', () => renderWork(work));
  work.order.onsubmit = (ev) => { ev.preventDefault(); submitOrder(work); };
  // reserved places for other features' parts of this call's workspace
  work.slots = {callback: el('div', {'data-slot': 'callback'}), orders: el('div', {'data-slot': 'orders'})};
  work.box.append(work.slots.callback, work.order, work.slots.orders);
  Followups.extendWork(work);
  work.box.hidden = true;
  $('workspaces').append(work.box);
  for (const part of workspaceParts) part(work);
  return work;
}
const noCall = newWork('', null);

function renderWork(work) {
  if (work.key) {
    const owners = work.pop.owners || [];
    const ids = owners.map((o) => o.id).join(',');
    if (work.ownerIds !== ids) {  // first time, or the caller's number changed
      const kept = work.ownerSelect.value;
      work.ownerSelect.replaceChildren(...owners.map((o) => el('option', {value: String(o.id)}, ownerName(o))));
      if (owners.some((o) => String(o.id) === kept)) work.ownerSelect.value = kept;
      work.ownerRow.hidden = owners.length < 2;
      work.ownerIds = ids;
    }
    work.wrap.hidden = !work.answered;
    work.xfer.hidden = !work.answered || work.over;
    work.wrapLegend.textContent = fill(T.wrapup_for, {who: who(work, false)});
  }
  work.title.textContent = who(work, false);
  work.orderLegend.textContent = fill(T.order_for, {who: who(work, true)});
  Followups.renderWork(work);
}
function ownerBlock(o) {
  return el('div', {'data-testid': 'owner'}, el('strong', {}, o.name), ' ', o.vip ? el('span', {class: 'vip'}, T.vip) : '',
    el('div', {}, T.units + ': ' + o.units.join('，')),
    el('div', {}, T.zone + ': ' + zoneName(o.zone) + '  ' + T.housekeeper + ': ' + (o.housekeeper || '-')),
    o.arrears ? el('div', {}, T.arrears + ': ¥' + o.arrears.toFixed(2)) : '',
    o.notes ? el('div', {class: 'muted'}, T.notes + ': ' + o.notes) : '');
}
function renderCard(work) {
  const p = work.pop, on = selected === work.key;
  work.card.className = 'card ' + p.state + (on ? ' selected' : '');
  work.card.dataset.state = p.state;
  const pick = el('button', {type: 'button', 'data-testid': 'work-on', 'aria-pressed': String(on)}, on ? T.working_on : T.work_on);
  pick.onclick = () => select(work.key);
  const actions = el('div', {class: 'actions'}, pick);
  if (work.over) {  // the pop stays through wrap-up until the agent closes it
    const close = el('button', {type: 'button', 'data-testid': 'close-call'}, T.close_call);
    close.onclick = () => remove(work);
    actions.append(' ', close);
  }
  const wrapState = work.over && work.answered ? ' · ' + (work.wrapped ? T.wrapup_done : T.wrapup_pending) : '';
  const waited = String(Math.round(p.wait_s || 0));  // whole seconds, as the ticker counts
  const kids = [
    el('div', {class: 'card-who', 'data-testid': 'card-who'}, el('strong', {}, who(work, false))),
    el('div', {}, el('strong', {'data-testid': 'card-state'}, word('', p.state)), wrapState, work.transferred ? ' · ' + work.transferred : '',
      ' · ', T.caller + ': ', el('span', {'data-testid': 'caller'}, p.caller_number || '-'), ' · ', fill(T.call_at, {time: clock(p.started_at)})),
    p.known ? el('div', {}, ...p.owners.map(ownerBlock)) : el('div', {'data-testid': 'new-caller'}, T.new_caller),
    el('div', {}, T.ivr_digits + ': ' + (p.ivr_digits || '-') + '  ' + T.waited + ': ',
      el('span', {class: 'wait', 'data-since': p.queue_joined_at || p.started_at, 'data-fixed': p.state === 'ringing' ? '' : waited}, waited), T.seconds)];
  const d = work.details;
  if (d) {
    kids.push(el('div', {}, T.open_orders + ': ' + (d.open_work_orders.length ? d.open_work_orders.map((w) => '#' + w.id + ' ' + (T['kind_' + w.kind] || w.kind)).join('，') : '-')));
    kids.push(el('div', {'data-testid': 'last-calls'}, T.last_calls + ': ' + (d.last_calls.length ? d.last_calls.map((c) => zonedTime(c.started_at, ZONE, false) + ' ' + word('outcome_', c.outcome)).join('；') : '-')));
  }
  kids.push(actions);
  work.card.replaceChildren(...kids);
}
setInterval(() => { for (const s of document.querySelectorAll('.wait')) if (s.dataset.fixed === '') s.textContent = Math.max(0, Math.round(Date.now() / 1000 - Number(s.dataset.since))); }, 1000);

function select(key) {
  selected = calls.has(key) ? key : '';
  for (const w of [noCall, ...calls.values()]) w.box.hidden = w.key !== selected;
  for (const w of calls.values()) renderCard(w);
  $('work-on-none').setAttribute('aria-pressed', String(selected === ''));
}
function remove(work, closedElsewhere) {
  if (!calls.has(work.key)) return;
  // the server keeps an answered call's card for a reload until it is closed
  if (work.answered && work.over && !closedElsewhere) api('POST', '/api/seat/pops/close', {pbx: work.pbx, call_id: work.callId}).catch(() => {});
  calls.delete(work.key);
  work.card.remove();
  work.box.remove();
  if (selected === work.key) select([...calls.keys()].pop() || '');
  $('no-pops').hidden = calls.size > 0;
}
// A call that was never answered here leaves the screen when it is over and nothing is
// typed for it; an answered one stays (wrap-up, work orders, callbacks) until closed.
function tidy(work) {
  if (work.over && !work.answered && !dirty(work)) remove(work);
}
function onFrame(f) {
  const key = f.pbx + '/' + f.call_id;
  let work = calls.get(key);
  if (f.type === 'details') { if (work) { work.details = f; renderCard(work); } return; }
  if (f.type === 'closed') { if (work) remove(work, true); return; }  // closed in another tab
  const live = f.state === 'ringing' || f.state === 'answered', fresh = !work;
  if (fresh) {
    // the end of a call this page never showed, unless it was answered here (a reload
    // during the wrap-up)
    if (!live && !f.answered_here) return;
    work = newWork(key, f);
    work.card = el('div', {class: 'card', 'data-testid': 'pop', 'data-call': key});
    calls.set(key, work);
    $('pops').append(work.card);
    $('no-pops').hidden = true;
  }
  const {details, ...pop} = f;
  work.pop = pop;
  if (details) work.details = details;
  work.answered = work.answered || f.state === 'answered' || !!f.answered_here;
  work.over = !live;
  renderWork(work);
  renderCard(work);
  work.box.dispatchEvent(new CustomEvent('call', {detail: work}));  // for the parts: the call moved on
  const current = calls.get(selected) || noCall;
  // A new call is shown at once unless the agent is writing something for another one.
  if (fresh && !dirty(current)) select(key);
  if (work.over) { if (work.answered) { loadToday(); loadDay(); } tidy(work); }
}
async function transfer(work) {
  const body = {pbx: work.pbx, call_id: work.callId, to: work.xferTo.value, mode: work.xferMode.value,
    target: work.xferTarget.disabled ? '' : work.xferTarget.value};
  try {
    const r = await api('POST', '/api/seat/transfer', body);
    work.transferred = fill(r.mode === 'attended' ? T.xfer_attended_to : T.xfer_blind_to, {target: r.target_label});
    work.xferResult.textContent = work.transferred;
    $('notice').textContent = work.transferred + ' · ' + who(work, false);
    renderCard(work);
  } catch (e) { work.xferResult.textContent = e.message; }
}
async function saveWrapUp(work) {
  try {
    await api('POST', '/api/seat/disposition', {pbx: work.pbx, call_id: work.callId,
      disposition: work.disposition.value, note: work.note.value});
    work.wrapped = true; work.wrapDirty = false;
    work.wrapResult.textContent = T.saved;
    $('notice').textContent = fill(T.wrapup_saved, {who: who(work, false)});
    renderCard(work); loadToday(); loadDay();
  } catch (e) { work.wrapResult.textContent = e.message; }
}
async function submitOrder(work) {
  const f = work.fields, owner = work.key ? ownerOf(work) : null;
  const body = {kind: f.kind.value, category: f.category.value, priority: f.priority.value, department: f.department.value,
    due_at: f.due.value ? zonedEpoch(f.due.value, ZONE) : null, description: f.description.value,
    owner_id: owner ? owner.id : null};
  if (work.key) Object.assign(body, {pbx: work.pbx, call_id: work.callId, caller_number: work.pop.caller_number || ''});
  const label = who(work, true);
  try {
    const o = await api('POST', '/api/workorders', body);
    const text = fill(T.order_created_for, {id: o.id, who: label});
    work.orderResult.textContent = text; $('notice').textContent = text;
    work.order.reset(); work.orderDirty = false;
    renderWork(work); loadOrders();
  } catch (e) { work.orderResult.textContent = e.message; }
}
$('work-on-none').onclick = () => select('');
let retry = 500;
function connect() {
  const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws/seat');
  ws.onopen = () => { retry = 500; $('link').textContent = T.connected; };
  ws.onmessage = (m) => onFrame(JSON.parse(m.data));
  ws.onclose = () => { $('link').textContent = T.reconnecting; setTimeout(connect, retry); retry = Math.min(retry * 2, 10000); };
}
$('call').onclick = async () => {
  try { await api('POST', '/api/seat/call', {number: $('dial').value}); $('call-result').textContent = T.calling; }
  catch (e) { $('call-result').textContent = e.message; }
};
const loadOrders = () => Followups.loadOrders();
async function loadToday() {
  const data = await api('GET', '/api/seat/calls/today');
  $('today').replaceChildren(...data.calls.map((c) => el('tr', {}, el('td', {}, clock(c.started_at)),
    el('td', {}, maskNumber(c.caller_number)), el('td', {}, word('outcome_', c.outcome)), el('td', {}, c.disposition ? word('disp_', c.disposition) : ''))));
}
// --- the agent's own day ---
let day = null;
async function loadDay() {
  try {
    const first = day === null;
    day = await api('GET', '/api/seat/day'); day.fetched = Date.now() / 1000;
    if (first) { paused = day.paused; showStatus(); }  // a reload while paused
    renderDay();
  } catch (e) { $('day').replaceChildren(el('tr', {}, el('td', {}, e.message))); }
}
function renderDay() {
  if (!day) return;
  const rows = [['calls-taken', T.day_calls_taken, String(day.calls_taken)], ['talk', T.day_talk, duration(day.talk_s)],
    ['handle', T.day_handle_avg, day.handle_avg_s == null ? '-' : duration(day.handle_avg_s)]];
  for (const [reason, s] of Object.entries(day.pause_s)) rows.push(['pause', fill(T.day_paused_for, {reason: word('reason_', reason)}), duration(s)]);
  const why = day.state === 'paused' && day.state_reason ? ' · ' + word('reason_', day.state_reason) : '';
  // time in the state as the server counted it, ticking on from when it said so
  const since = day.state_s == null ? '' : ' · ' + duration(day.state_s + Date.now() / 1000 - day.fetched);
  rows.push(['state', T.day_state, word('state_', day.state) + why + since]);
  $('day').replaceChildren(...rows.map(([id, k, v]) => el('tr', {'data-testid': 'day-' + id}, el('th', {}, k), el('td', {}, v))));
}
// --- what other features' parts of the page use (render_seat_page(parts=...)) ---
// seatDesk.onWorkspace(part): part(work) runs for every call's workspace, those on screen
// and those to come; work has key ('pbx/call_id', '' for no call), pbx, callId, pop (the
// card: owners, caller_number, state...), answered, over, box and slots.callback /
// slots.orders to fill; work.box gets a 'call' event whenever the call's pop changes.
window.seatDesk = {T, LANG, api, el, fill, labelled, options, word, zoneName, who, clock, duration, maskNumber,
  onWorkspace(part) { workspaceParts.push(part); for (const w of [noCall, ...calls.values()]) part(w); },
  workspaces: () => [noCall, ...calls.values()], notice: (text) => { $('notice').textContent = text; }};
renderWork(noCall); select(''); showStatus();
// without a seat there is nothing to ring here: no socket (it would be refused), no calls
if (!__HAS_SEAT__) $('notice').textContent = T.no_seat;
if (__HAS_SEAT__) {
  connect(); loadToday(); loadDay();
  setInterval(loadToday, 60000); setInterval(loadDay, 15000); setInterval(renderDay, 1000);
}
</script>
__PARTS__</body></html>"""
)


def render_seat_page(
    lang: Lang,
    user: User,
    csrf_token: str,
    texts: dict[str, str],
    nav: str = "",
    seat_label: str = "",
    zones: dict[str, str] | None = None,
    parts: Sequence[str] = (),
    *,
    follow_up_after_s: float = 86400.0,
    time_zone: str = "Asia/Shanghai",
    transfer_targets: Mapping[str, Sequence[tuple[str, str]]] | None = None,
) -> str:
    """The page for ``user``; the seat shows by its label (6号座席) when the directory has
    one, else by its interface; ``zones`` names the zones in the page's language; ``nav``
    is the site's navigation bar (``web.page_frame.nav_bar``); ``time_zone``: the service's
    timezone, every time on the page shows in it (``ZONE``, ``zonedTime``);
    ``transfer_targets``: what the transfer form offers for "seat" and "queue", each a
    (value the API takes, what the agent reads) pair.

    ``parts`` are other features' pieces of the page (their own HTML and script, trusted,
    placed after the page's script): they use ``window.seatDesk`` to add to each call's
    workspace and ``#side-parts`` for their own sections."""
    replacements = {
        "__ZONED_TIME__": (
            f"<script>const ZONE = {_script_json(time_zone)};\n{ZONED_TIME_JS}</script>"
        ),
        "__DESK_KIT__": DESK_KIT,
        "__FOLLOWUPS__": FOLLOWUP_SECTIONS,
        "__FOLLOWUP_SCRIPT__": followup_script(lang, user.login, user.role, follow_up_after_s),
        "__FRAME_CSS__": FRAME_CSS,
        "__HAS_SEAT__": "true" if user.interface else "false",
        # without a seat there is no status to show or pause to take
        "__SEATLESS__": "" if user.interface else " hidden",
        "__HTML_LANG__": html_lang(lang),
        "__LANG__": lang,
        "__CSRF__": html.escape(csrf_token),
        "__TITLE__": html.escape(f"{texts['seat']} · {user.display_name or user.login}"),
        "__APP__": html.escape(texts["app"]),
        "__INTERFACE__": html.escape(user.interface),
        "__SEAT__": html.escape(seat_label or user.interface or texts["no_seat_short"]),
        "__PAUSE_REASON__": html.escape(texts["pause_reason"]),
        "__NAME__": html.escape(user.display_name or user.login),
        "__TEXT__": _script_json(texts),
        "__ZONES__": _script_json(zones or {}),
        "__TRANSFER_TARGETS__": _script_json(transfer_targets or {}),
        "__PARTS__": "\n".join(parts),
    }
    page = _TEMPLATE
    for marker, value in replacements.items():
        page = page.replace(marker, value)
    return page.replace("__NAV__", nav)  # last: nothing in the bar is taken for a marker


def _script_json(value: object) -> str:
    """JSON inside a script element: "</" must not close it."""
    return json.dumps(value, ensure_ascii=False).replace("</", "<\\/")
