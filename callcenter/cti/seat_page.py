"""The seat page: one HTML document with its script; every text comes from the catalogue
(Chinese by default), and data from the server is only ever set as text, never as HTML."""

from __future__ import annotations

import html
import json

from callcenter.cti.i18n import Lang
from callcenter.web.security import User

_TEMPLATE = """<!doctype html>
<html lang="__HTML_LANG__"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="__CSRF__">
<title>__TITLE__</title>
<style>
body{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;background:#f4f6f8;color:#222}
header{display:flex;gap:12px;align-items:center;background:#1f3a5f;color:#fff;padding:8px 16px}
header .grow{flex:1} header a,header button{color:#fff;background:none;border:1px solid #fff6;padding:4px 8px;border-radius:4px}
main{display:grid;grid-template-columns:minmax(320px,2fr) minmax(280px,1fr);gap:12px;padding:12px}
section{background:#fff;border-radius:8px;padding:12px;box-shadow:0 1px 3px #0002}
h2{font-size:16px;margin:0 0 8px} .card{border:2px solid #ccc;border-radius:8px;padding:8px;margin-bottom:8px}
.card.ringing{border-color:#e67e22;background:#fff7ee} .card.answered{border-color:#27ae60}
.card.ended,.card.missed{opacity:.7} .vip{color:#fff;background:#c0392b;border-radius:4px;padding:0 4px}
label{display:block;margin:6px 0 2px;font-size:90%} input,select,textarea{width:100%;box-sizing:border-box;padding:4px}
table{width:100%;border-collapse:collapse;font-size:90%} td,th{border-bottom:1px solid #eee;padding:2px 4px;text-align:left}
#status{font-weight:bold} .muted{color:#777}
</style></head><body>
<header><strong>__APP__ · __SEAT_LABEL__ <span data-testid="seat">__SEAT__</span></strong>
<span>__NAME__</span><span id="status" data-testid="status"></span>
<select id="pause-reason" aria-label="reason"></select>
<button id="toggle-pause" data-testid="toggle-pause"></button>
<span class="grow"></span><span id="link" class="muted"></span>
<a href="?lang=__OTHER__">__OTHER_LABEL__</a>
<form method="post" action="/logout" style="margin:0"><input type="hidden" name="csrf_token" value="__CSRF__">
<button type="submit">__SIGN_OUT__</button></form></header>
<main><div>
<section><h2 id="pops-title"></h2><div id="pops" data-testid="pops"></div></section>
<section id="disposition-box" hidden><h2 id="disp-title"></h2>
<select id="disposition" data-testid="disposition"></select><label for="disp-note" id="disp-note-label"></label>
<textarea id="disp-note"></textarea><button id="disp-save" data-testid="save-disposition"></button>
<span id="disp-result"></span></section>
<section><h2 id="order-title"></h2><form id="order-form" data-testid="order-form">
<label id="l-kind" for="kind"></label><select id="kind" name="kind" data-testid="order-kind"></select>
<label id="l-category" for="category"></label><input id="category" name="category">
<label id="l-priority" for="priority"></label><select id="priority" name="priority"></select>
<label id="l-department" for="department"></label><input id="department" name="department">
<label id="l-due" for="due"></label><input id="due" name="due" type="datetime-local">
<label id="l-description" for="description"></label><textarea id="description" name="description" data-testid="order-description"></textarea>
<button type="submit" id="order-submit" data-testid="order-submit"></button></form>
<p id="order-result" data-testid="order-result" role="status"></p></section>
</div><div>
<section><h2 id="call-title"></h2><input id="dial" data-testid="dial"><button id="call" data-testid="call"></button>
<span id="call-result"></span></section>
<section><h2 id="orders-title"></h2><table id="orders" data-testid="orders"></table></section>
<section><h2 id="today-title"></h2><table id="today" data-testid="today"></table></section>
</div></main>
<script>
const T = __TEXT__;
const CSRF = document.querySelector('meta[name=csrf-token]').content;
const $ = (id) => document.getElementById(id);
function el(tag, attrs, ...kids) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) n.setAttribute(k, v);
  for (const kid of kids) n.append(kid instanceof Node ? kid : String(kid ?? ''));
  return n;
}
async function api(method, path, body) {
  const r = await fetch(path, {method, credentials: 'same-origin',
    headers: {'Content-Type': 'application/json', 'X-CSRF-Token': CSRF},
    body: body === undefined ? undefined : JSON.stringify(body)});
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(data.error || T.error);
  return data;
}
const texts = {'pops-title':'ringing','disp-title':'disposition','disp-note-label':'notes','disp-save':'save',
  'order-title':'raise_order','l-kind':'kind','l-category':'category','l-priority':'priority','l-department':'department',
  'l-due':'due','l-description':'description','order-submit':'create','call-title':'click_to_call','call':'click_to_call',
  'orders-title':'my_orders','today-title':'today_calls'};
for (const [id, key] of Object.entries(texts)) $(id).textContent = T[key];
for (const k of ['repair','complaint','enquiry','fee']) $('kind').append(el('option', {value: k}, T['kind_' + k]));
for (const k of ['normal','low','high','urgent']) $('priority').append(el('option', {value: k}, T['prio_' + k]));
for (const k of ['resolved','work_order','callback','wrong_number','other']) $('disposition').append(el('option', {value: k}, T['disp_' + k]));
for (const k of ['break','meal','training','admin']) $('pause-reason').append(el('option', {value: k}, T['reason_' + k]));
let paused = false, current = null;
const pops = new Map();
function showStatus() {
  $('status').textContent = paused ? T.paused : T.ready;
  $('toggle-pause').textContent = paused ? T.resume : T.pause;
}
$('toggle-pause').onclick = async () => {
  try { await api('POST', '/api/seat/pause', {paused: !paused, reason: $('pause-reason').value}); paused = !paused; showStatus(); }
  catch (e) { $('status').textContent = e.message; }
};
function ownerBlock(o) {
  return el('div', {'data-testid': 'owner'}, el('strong', {}, o.name), ' ', o.vip ? el('span', {class: 'vip'}, T.vip) : '',
    el('div', {}, T.units + ': ' + o.units.join('，')),
    el('div', {}, T.zone + ': ' + (o.zone || '-') + '  ' + T.housekeeper + ': ' + (o.housekeeper || '-')),
    o.arrears ? el('div', {}, T.arrears + ': ¥' + o.arrears.toFixed(2)) : '',
    o.notes ? el('div', {class: 'muted'}, T.notes + ': ' + o.notes) : '');
}
function render() {
  const box = $('pops'); box.replaceChildren();
  for (const p of pops.values()) {
    const card = el('div', {class: 'card ' + p.state, 'data-testid': 'pop', 'data-state': p.state, 'data-call': p.call_id},
      el('div', {}, el('strong', {}, T[p.state] || p.state), ' · ', T.caller + ': ', el('span', {'data-testid': 'caller'}, p.caller_number || '-')),
      p.known ? el('div', {}, ...p.owners.map(ownerBlock)) : el('div', {'data-testid': 'new-caller'}, T.new_caller),
      el('div', {}, T.ivr_digits + ': ' + (p.ivr_digits || '-') + '  ' + T.waited + ': ',
        el('span', {class: 'wait', 'data-since': p.queue_joined_at || p.started_at, 'data-fixed': p.state === 'ringing' ? '' : p.wait_s}, p.wait_s), T.seconds));
    const d = p.details;
    if (d) {
      card.append(el('div', {}, T.open_orders + ': ' + (d.open_work_orders.length ? d.open_work_orders.map(w => '#' + w.id + ' ' + (T['kind_' + w.kind] || w.kind)).join('，') : '-')));
      card.append(el('div', {'data-testid': 'last-calls'}, T.last_calls + ': ' + (d.last_calls.length ? d.last_calls.map(c => new Date(c.started_at * 1000).toLocaleString() + ' ' + c.outcome).join('；') : '-')));
    }
    box.append(card);
  }
}
setInterval(() => { for (const s of document.querySelectorAll('.wait')) if (s.dataset.fixed === '') s.textContent = Math.max(0, Math.round(Date.now() / 1000 - Number(s.dataset.since))); }, 1000);
function onFrame(f) {
  const key = f.pbx + '/' + f.call_id;
  if (f.type === 'details') { const p = pops.get(key); if (p) { p.details = f; render(); } return; }
  if (f.state === 'ringing' || f.state === 'answered') { pops.set(key, Object.assign(pops.get(key) || {}, f)); current = f; }
  else { const p = pops.get(key); pops.delete(key);
    if (f.state === 'ended' && p && p.state === 'answered') { current = f; $('disposition-box').hidden = false; loadToday(); } }
  render();
}
let retry = 500;
function connect() {
  const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws/seat');
  ws.onopen = () => { retry = 500; $('link').textContent = T.connected; };
  ws.onmessage = (m) => onFrame(JSON.parse(m.data));
  ws.onclose = () => { $('link').textContent = T.reconnecting; setTimeout(connect, retry); retry = Math.min(retry * 2, 10000); };
}
$('disp-save').onclick = async () => {
  if (!current) return;
  try { await api('POST', '/api/seat/disposition', {pbx: current.pbx, call_id: current.call_id, disposition: $('disposition').value, note: $('disp-note').value});
    $('disp-result').textContent = T.saved; $('disposition-box').hidden = true; }
  catch (e) { $('disp-result').textContent = e.message; }
};
$('order-form').onsubmit = async (ev) => {
  ev.preventDefault();
  const owner = current && current.owners && current.owners[0];
  const due = $('due').value ? new Date($('due').value).getTime() / 1000 : null;
  try {
    const o = await api('POST', '/api/workorders', {kind: $('kind').value, category: $('category').value, priority: $('priority').value,
      department: $('department').value, due_at: due, description: $('description').value, owner_id: owner ? owner.id : null,
      caller_number: current ? current.caller_number : '', pbx: current ? current.pbx : '', call_id: current ? current.call_id : ''});
    $('order-result').textContent = T.order_created.replace('{id}', o.id); $('order-form').reset(); loadOrders();
  } catch (e) { $('order-result').textContent = e.message; }
};
$('call').onclick = async () => {
  try { await api('POST', '/api/seat/call', {number: $('dial').value}); $('call-result').textContent = T.calling; }
  catch (e) { $('call-result').textContent = e.message; }
};
async function loadOrders() {
  const data = await api('GET', '/api/workorders?open=1');
  $('orders').replaceChildren(...data.work_orders.map(o => el('tr', {}, el('td', {}, '#' + o.id), el('td', {}, T['kind_' + o.kind] || o.kind),
    el('td', {}, o.state), el('td', {}, o.timer.state))));
}
async function loadToday() {
  const data = await api('GET', '/api/seat/calls/today');
  $('today').replaceChildren(...data.calls.map(c => el('tr', {}, el('td', {}, new Date(c.started_at * 1000).toLocaleTimeString()),
    el('td', {}, c.caller_number), el('td', {}, c.outcome), el('td', {}, c.disposition || ''))));
}
showStatus(); connect(); loadOrders(); loadToday(); setInterval(loadToday, 60000);
</script></body></html>"""


def render_seat_page(lang: Lang, user: User, csrf_token: str, texts: dict[str, str]) -> str:
    replacements = {
        "__HTML_LANG__": "en" if lang == "en" else "zh-CN",
        "__CSRF__": html.escape(csrf_token),
        "__TITLE__": html.escape(f"{texts['seat']} · {user.display_name or user.login}"),
        "__APP__": html.escape(texts["app"]),
        "__SEAT_LABEL__": html.escape(texts["seat"]),
        "__SEAT__": html.escape(user.interface or texts["no_seat"]),
        "__NAME__": html.escape(user.display_name or user.login),
        "__OTHER__": "zh" if lang == "en" else "en",
        "__OTHER_LABEL__": html.escape(texts["other_lang"]),
        "__SIGN_OUT__": html.escape(texts["sign_out"]),
        # JSON inside a script element: "</" must not close it.
        "__TEXT__": json.dumps(texts, ensure_ascii=False).replace("</", "<\\/"),
    }
    page = _TEMPLATE
    for marker, value in replacements.items():
        page = page.replace(marker, value)
    return page
