"""The wallboard page: one HTML document, its CSS and script inline (no outside hosts).

Every text comes from the catalogue (Chinese by default); data from the server is only ever
set as text, never as HTML. Colours come with the data (``levels``), decided on the server.

Live frames change the page in place: each agent row is keyed by its seat and only the
cells that changed are written; rows are added, removed or reordered only while the pointer
is not over the table, so a listen button never moves away from a hand about to click it.
The supervisor's phone is remembered in the browser's localStorage, per sign-in name (see
docs/decisions/0039-wallboard-phone-in-the-browser.md). ``?tv=1``: the wall-screen view.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable

from callcenter.core.i18n import Lang
from callcenter.metrics.i18n import catalogue
from callcenter.web.page_frame import FRAME_CSS
from callcenter.web.page_head import PAGE_HEAD, html_lang
from callcenter.web.security import User

_TEMPLATE = (
    PAGE_HEAD
    + FRAME_CSS
    + """<style>
main.wb{padding:12px 16px;display:grid;gap:12px}
.tiles{display:grid;grid-template-columns:repeat(6,minmax(0,1fr));gap:10px}
.tile{background:#fff;border-radius:8px;padding:10px 12px;border-left:8px solid var(--ok);box-shadow:0 1px 3px #0002;min-width:0}
.tile .label{font-size:13px;color:var(--muted)} .tile .value{font-size:32px;font-weight:bold;white-space:nowrap}
.tile .sub{font-size:12px;color:var(--muted);white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
#s-rate-today{white-space:pre}
.tile.warn{border-left-color:var(--warn)} .tile.alert{border-left-color:var(--alert)}
.value.alert,td.alert{color:var(--alert)} .value.warn,td.warn{color:var(--warn)}
.cols{display:grid;grid-template-columns:minmax(0,3fr) minmax(300px,2fr);gap:12px;align-items:start}
section{background:#fff;border-radius:8px;padding:12px;box-shadow:0 1px 3px #0002;min-width:0}
h2{font-size:16px;margin:0 0 8px} table{width:100%;border-collapse:collapse}
td,th{border-bottom:1px solid var(--line);padding:4px 6px;text-align:left;white-space:nowrap}
th{white-space:normal;vertical-align:bottom} .cols section{overflow-x:auto}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.toolbar{display:flex;gap:8px;align-items:center;margin-bottom:8px;height:32px}
#monitor-result{flex:1;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
#alerts{margin:0;padding-left:18px} #alerts li{color:var(--alert);font-weight:bold} #alerts .none{color:var(--ok)}
#staffing{background:var(--alert);color:#fff;font-weight:bold;padding:8px 12px;border-radius:6px;margin-bottom:8px}
tr[data-state=on_call] td.state{color:#1f5fa8;font-weight:bold} tr[data-state=paused] td.state{color:var(--warn)}
tr[data-state=ringing] td.state{color:#8e44ad} tr[data-state=logged_in] td.state{color:var(--muted)}
button.m{margin-right:4px;background:var(--brand);color:#fff;border:0;border-radius:4px;padding:4px 10px;cursor:pointer}
button.m:disabled{opacity:.3;cursor:default} select{padding:4px}
#link{font-size:13px}
td.num+td,th.num+th{padding-left:14px}
body.tv{background:#0d1620;color:#eee;--ok:#4cd98a;--warn:#f3b64a;--alert:#ff6b5b;--muted:#a9b4c0;height:100vh;overflow:hidden}
body.tv main.wb{height:100vh;box-sizing:border-box;grid-template-rows:auto minmax(0,1fr);padding:1.2vh 1.2vw;gap:1.2vh}
body.tv .tile,body.tv section{background:#182430;color:#eee}
body.tv .tile .value{font-size:clamp(24px,min(2.7vw,5.5vh),64px)} body.tv .tile .label{font-size:clamp(14px,min(1.4vw,2.4vh),24px);color:#c5ced8;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
body.tv .tile .sub{font-size:clamp(12px,min(1.1vw,1.9vh),18px);color:#a9b4c0}
body.tv .cols{height:100%;min-height:0} body.tv .cols>*{height:100%;min-height:0;overflow:hidden}
body.tv .cols section{overflow:hidden;box-sizing:border-box}
body.tv td,body.tv th{font-size:clamp(13px,min(1.4vw,2.4vh),26px);border-color:#2c3a48;padding:.15em .4em}
body.tv table[data-testid=agents] :is(td,th){font-size:var(--agent-font,clamp(13px,min(1.4vw,2.4vh),26px));line-height:1.2;padding-top:1px;padding-bottom:1px}
body.tv th{white-space:nowrap} body.tv h2{font-size:clamp(16px,min(1.6vw,2.8vh),28px)}
body.tv #alerts li{font-size:clamp(14px,min(1.4vw,2.4vh),26px)} body.tv #staffing{font-size:clamp(16px,min(1.6vw,2.8vh),30px)}
body.tv tr[data-state=on_call] td.state{color:#7cc4ff} body.tv tr[data-state=ringing] td.state{color:#e0b3ff}
body.tv tr[data-state=logged_in] td.state{color:#a9b4c0}
body.tv .controls{display:none !important}
@media (max-width:1100px){body:not(.tv) .tiles{grid-template-columns:repeat(3,minmax(0,1fr))} body:not(.tv) .cols{grid-template-columns:minmax(0,1fr)}}
</style></head><body class="__BODY_CLASS__">__NAV__
<main class="wb">
<div class="tiles">
<div class="tile" id="t-lines"><div class="label" id="l-lines"></div>
<div class="value" data-testid="lines-in-use" id="v-lines">–</div>
<svg width="100%" height="8" viewBox="0 0 100 10" preserveAspectRatio="none">
<rect width="100" height="10" fill="#dde3ea"/><rect id="lines-bar" width="0" height="10" fill="#2e8b57"/>
<line id="lines-high" x1="80" x2="80" y1="0" y2="10" stroke="#c98a1b" stroke-width="1"/></svg>
<div class="sub" id="s-lines"></div></div>
<div class="tile" id="t-ivr"><div class="label" id="l-ivr"></div><div class="value" data-testid="in-ivr" id="v-ivr">–</div><div class="sub">&nbsp;</div></div>
<div class="tile" id="t-waiting"><div class="label" id="l-waiting"></div><div class="value" data-testid="waiting" id="v-waiting">–</div>
<div class="sub" id="s-waiting"></div></div>
<div class="tile" id="t-rate-today"><div class="label" id="l-rate-today"></div><div class="value" data-testid="answer-rate-today" id="v-rate-today">–</div>
<div class="sub" id="s-rate-today"></div></div>
<div class="tile" id="t-rate-hour"><div class="label" id="l-rate-hour"></div><div class="value" data-testid="answer-rate-hour" id="v-rate-hour">–</div><div class="sub">&nbsp;</div></div>
<div class="tile" id="t-sl"><div class="label" id="l-sl"></div><div class="value" data-testid="service-level" id="v-sl">–</div>
<div class="sub" id="s-sl"></div></div>
</div>
<div class="cols">
<section><h2><span id="agents-title"></span> <span id="agent-counts" class="muted" data-testid="agent-counts"></span></h2>
<div class="toolbar controls"><label id="l-phone" for="phone"></label>
<select id="phone" data-testid="my-phone"><option value="" id="pick-phone"></option>__SEATS__</select>
<span id="monitor-result" data-testid="monitor-result" role="status"></span>
<span id="link" data-testid="link" class="muted"></span>
<a id="tv-link" data-testid="tv-link" href="/wallboard?tv=1" target="_blank" rel="noopener"></a></div>
<table data-testid="agents"><thead><tr><th id="h-name"></th><th id="h-seat"></th><th id="h-state"></th>
<th id="h-time" class="num"></th><th id="h-reason"></th><th id="h-monitor" class="controls"></th></tr></thead>
<tbody id="agents"></tbody></table>
<p id="no-agents" class="muted" hidden></p></section>
<div>
<section><h2 id="alerts-title"></h2>
<div id="staffing" role="alert" data-testid="staffing-banner" hidden></div>
<ul id="alerts" data-testid="alerts"></ul></section>
<section style="margin-top:12px"><h2 id="queues-title"></h2>
<table data-testid="queues"><thead><tr><th id="q-name"></th><th id="q-waiting" class="num"></th><th id="q-longest" class="num"></th>
<th id="q-rate" class="num"></th><th id="q-sl" class="num"></th></tr></thead><tbody id="queues"></tbody></table></section>
</div></div>
</main>
<script>
const T = __TEXT__;
const CAN_MONITOR = __CAN_MONITOR__;
const PHONE_KEY = 'cc_monitor_phone:' + __LOGIN__;
const CSRF = document.querySelector('meta[name=csrf-token]').content;
const $ = (id) => document.getElementById(id);
const pct = (v) => v === null || v === undefined ? '–' : (v * 100).toFixed(1) + '%';
const put = (el, text) => { text = String(text); if (el.textContent !== text) el.textContent = text; };
for (const [id, key] of [['alerts-title','alerts'],['l-lines','lines'],['l-ivr','in_ivr'],
  ['l-waiting','waiting'],['l-rate-today','answer_rate_today'],['l-rate-hour','answer_rate_hour'],
  ['l-sl','service_level_today'],['queues-title','queues_today'],['agents-title','agents'],
  ['l-phone','my_phone'],['pick-phone','pick_phone'],['tv-link','tv_mode'],['h-name','agent_name'],
  ['h-seat','interface'],['h-state','state'],['h-time','time_in_state'],['h-reason','reason'],
  ['h-monitor','monitor'],['q-name','queue'],['q-waiting','waiting'],['q-longest','longest_wait'],
  ['q-rate','answer_rate'],['q-sl','service_level'],['no-agents','no_agents']]) { $(id).textContent = T[key]; }
if (!CAN_MONITOR) for (const el of document.querySelectorAll('.controls')) el.hidden = true;
// The supervisor's phone is where they sit: kept in this browser, per sign-in name.
const phone = $('phone');
const remembered = localStorage.getItem(PHONE_KEY) || __OWN_PHONE__;
if ([...phone.options].some((o) => o.value === remembered)) phone.value = remembered;
phone.onchange = () => localStorage.setItem(PHONE_KEY, phone.value);
function level(tile, value, lv) {
  const want = lv || 'ok';
  if ($(tile).className !== 'tile ' + want) $(tile).className = 'tile ' + want;
  if ($(value).className !== 'value ' + want) $(value).className = 'value ' + want;
}
function td(tr, cls) { const c = document.createElement('td'); if (cls) c.className = cls; tr.appendChild(c); return c; }
let clockSkew = 0;  // server time - browser time, from the latest frame
let queueNames = {};  // queue code -> its name in the page's language, from the latest frame
const queueName = (code) => queueNames[code] || code;
function duration(since) {
  if (since === null || since === undefined) return '–';
  const s = Math.max(0, Math.floor(Date.now() / 1000 + clockSkew - since));
  const h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, r = s % 60;
  return (h ? h + ':' + String(m).padStart(2, '0') : m) + ':' + String(r).padStart(2, '0');
}
// Rows are keyed by seat and changed in place; while the pointer is over the table no row
// is added, removed or moved (that waits until it leaves), so a button never moves under it.
const agentRows = new Map();
let pointerOver = false, heldBack = null;
$('agents').addEventListener('pointerenter', () => { pointerOver = true; });
$('agents').addEventListener('pointerleave', () => { pointerOver = false; if (heldBack) { const l = heldBack; heldBack = null; renderAgents(l); } });
function agentRow(a) {
  const tr = document.createElement('tr'); tr.dataset.interface = a.interface; tr.dataset.testid = 'agent-row';
  const cells = {name: td(tr), seat: td(tr), state: td(tr, 'state'), time: td(tr, 'num'), reason: td(tr), buttons: {}};
  if (CAN_MONITOR) {
    const c = td(tr, 'controls');
    for (const mode of ['listen', 'whisper', 'barge']) {
      const b = document.createElement('button'); b.className = 'm'; b.textContent = T[mode];
      b.dataset.testid = 'monitor-' + mode; b.disabled = true;
      b.onclick = () => monitor(a.interface, mode); c.appendChild(b); cells.buttons[mode] = b;
    }
  }
  return {tr, cells, since: null};
}
function fill(row, a) {
  const c = row.cells;
  put(c.name, a.name); put(c.seat, a.interface); put(c.state, (T['state_' + a.state] || a.state) + (a.queue ? ' · ' + queueName(a.queue) : ''));
  put(c.reason, a.reason || ''); row.since = a.since; put(c.time, duration(a.since));
  if (row.tr.dataset.state !== a.state) row.tr.dataset.state = a.state;
  for (const [mode, b] of Object.entries(c.buttons)) {
    const off = a.state !== 'on_call'; if (b.disabled !== off) b.disabled = off;
    const label = T[mode] + ' ' + a.name;  // which agent, for screen readers
    if (b.getAttribute('aria-label') !== label) b.setAttribute('aria-label', label);
  }
}
function renderAgents(list) {
  const order = list.map((a) => a.interface);
  const shown = [...$('agents').children].map((tr) => tr.dataset.interface);
  const reshape = order.length !== shown.length || order.some((k, i) => k !== shown[i]);
  if (reshape && pointerOver) {
    heldBack = list;
    const listed = new Set(order);
    for (const a of list) { const row = agentRows.get(a.interface); if (row) fill(row, a); }
    for (const [k, row] of agentRows) {  // signed off: stays in place until the pointer leaves
      if (!listed.has(k)) fill(row, {interface: k, name: row.cells.name.textContent, state: 'offline', since: null});
    }
    return;
  }
  if (reshape) {
    const keep = new Set(order);
    for (const [k, row] of agentRows) if (!keep.has(k)) { row.tr.remove(); agentRows.delete(k); }
    for (const a of list) {
      let row = agentRows.get(a.interface);
      if (!row) { row = agentRow(a); agentRows.set(a.interface, row); }
      $('agents').appendChild(row.tr);  // in order: moves only rows out of place
    }
  }
  for (const a of list) fill(agentRows.get(a.interface), a);
  $('no-agents').hidden = list.length > 0;
  if (reshape) fitTv();
}
// The wall screen shows every agent: their rows shrink until the list fits its card.
function fitTv() {
  if (!document.body.classList.contains('tv')) return;
  const card = $('agents').closest('section'), style = document.body.style;
  style.removeProperty('--agent-font');
  let size = parseFloat(getComputedStyle($('h-name')).fontSize);
  while (card.scrollHeight > card.clientHeight && size > 10) style.setProperty('--agent-font', --size + 'px');
}
addEventListener('resize', fitTv);
setInterval(() => { for (const row of agentRows.values()) put(row.cells.time, duration(row.since)); }, 1000);
const queueRows = new Map();
function renderQueues(d) {
  const lv = d.levels || {};
  for (const [name, q] of Object.entries(d.queues || {})) {
    let cells = queueRows.get(name);
    if (!cells) {
      const tr = document.createElement('tr'); tr.dataset.queue = name;
      cells = [td(tr), td(tr, 'num'), td(tr, 'num'), td(tr, 'num'), td(tr, 'num')];
      queueRows.set(name, cells); $('queues').appendChild(tr);
    }
    put(cells[0], queueName(name)); put(cells[1], q.waiting); put(cells[2], Math.round(q.longest_wait_s) + T.seconds);
    cells[2].className = 'num ' + (lv['wait:' + name] || 'ok');
    put(cells[3], pct(q.answer_rate)); put(cells[4], pct(q.service_level));
  }
}
let alertsShown = null;
function renderAlerts(d) {
  const key = JSON.stringify(d.alerts.map((a) => [a.kind, a[T.lang_key]]));
  if (key === alertsShown) return;
  alertsShown = key;
  const short = d.alerts.filter((a) => a.kind === 'staffing');
  put($('staffing'), short.map((a) => a[T.lang_key]).join(' · '));
  $('staffing').hidden = !short.length;
  // staffing alerts are the banner above; the list holds the others
  const items = d.alerts.filter((a) => a.kind !== 'staffing').map((a) => { const li = document.createElement('li'); li.textContent = a[T.lang_key]; li.dataset.kind = a.kind; return li; });
  if (!d.alerts.length) { const li = document.createElement('li'); li.className = 'none'; li.textContent = T.no_alerts; items.push(li); }
  $('alerts').replaceChildren(...items);
}
function render(d) {
  clockSkew = d.at - Date.now() / 1000;
  queueNames = (d.queue_names || {})[T.lang_key] || {};
  const lv = d.levels || {};
  put($('v-lines'), d.lines_in_use + ' / ' + d.line_capacity);
  put($('s-lines'), T.high_level + ' ' + d.lines_high);
  level('t-lines', 'v-lines', lv.lines);
  const bar = $('lines-bar');
  bar.setAttribute('width', Math.min(100, 100 * d.lines_in_use / d.line_capacity));
  bar.setAttribute('fill', lv.lines === 'alert' ? '#c0392b' : lv.lines === 'warn' ? '#c98a1b' : '#2e8b57');
  const high = 100 * d.lines_high / d.line_capacity;
  $('lines-high').setAttribute('x1', high); $('lines-high').setAttribute('x2', high);
  put($('v-ivr'), d.calls_in_ivr);
  let waiting = 0, longest = 0;
  for (const q of Object.values(d.waiting)) { waiting += q.waiting; longest = Math.max(longest, q.longest_wait_s); }
  put($('v-waiting'), waiting);
  put($('s-waiting'), T.longest_wait + ' ' + Math.round(longest) + T.seconds);
  level('t-waiting', 'v-waiting', longest > 2 * d.service_level_s ? 'alert' : longest > d.service_level_s ? 'warn' : 'ok');
  put($('v-rate-today'), pct(d.today.answer_rate));
  // two short lines, so the counts show on a narrow tile too (the words in the tooltip)
  put($('s-rate-today'), T.target + ' ' + pct(d.answer_rate_target) + '\\n' +
    T.answered_of_offered.replace('{answered}', d.today.answered).replace('{offered}', d.today.offered));
  $('s-rate-today').title = T.answered_today + ' ' + d.today.answered + ' / ' + T.offered_today + ' ' + d.today.offered;
  level('t-rate-today', 'v-rate-today', lv.answer_rate_today);
  put($('v-rate-hour'), pct(d.hour.answer_rate));
  level('t-rate-hour', 'v-rate-hour', lv.answer_rate_hour);
  put($('v-sl'), pct(d.today.service_level));
  put($('s-sl'), T.target + ' ' + pct(d.service_level_target) + ' · ' + d.service_level_s + T.seconds);
  level('t-sl', 'v-sl', lv.service_level_today);
  renderAlerts(d);
  renderQueues(d);
  renderAgents(d.agent_rows || []);
  const counts = {};
  for (const a of d.agent_rows || []) counts[a.state] = (counts[a.state] || 0) + 1;
  put($('agent-counts'), Object.entries(counts).map(([s, n]) => (T['state_' + s] || s) + ' ' + n).join(' · '));
}
async function monitor(iface, mode) {
  if (!phone.value) { put($('monitor-result'), T.phone_first); phone.focus(); return; }
  put($('monitor-result'), '…');
  const r = await fetch('/api/monitor', {method: 'POST', headers: {'Content-Type': 'application/json', 'X-CSRF-Token': CSRF},
    body: JSON.stringify({interface: iface, mode: mode, phone: phone.value})});
  const body = await r.json().catch(() => ({}));
  put($('monitor-result'), r.ok ? T.monitor_started + ' (' + T[mode] + ' ' + iface + ')' : ((body.error && body.error[T.lang_key]) || r.status));
}
let delay = 500;
function connect() {
  const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws/wallboard');
  ws.onopen = () => { put($('link'), T.connected); delay = 500; };
  ws.onmessage = (m) => render(JSON.parse(m.data));
  ws.onclose = () => { put($('link'), T.reconnecting); setTimeout(connect, delay); delay = Math.min(delay * 2, 10000); };
}
connect();
</script></body></html>"""
)


_PLACEHOLDER = re.compile(r"__[A-Z_]+__")


def _script_json(value: object) -> str:
    """A value as a script literal: "</" cannot end the script block from inside a string."""
    return json.dumps(value, ensure_ascii=False).replace("</", "<\\/")


def render_wallboard(
    lang: Lang,
    user: User,
    csrf: str,
    seats: Iterable[str] = (),
    *,
    nav: str = "",
    tv: bool = False,
) -> str:
    """``seats``: the interfaces a supervisor may be rung on for live monitoring; ``nav``:
    the site's navigation bar; ``tv``: the wall-screen view (large, dark, no controls)."""
    text = catalogue(lang)
    text["lang_key"] = lang  # each alert carries "zh" and "en"
    values = {
        "__HTML_LANG__": html_lang(lang),
        "__CSRF__": html.escape(csrf),
        "__TITLE__": html.escape(f"{text['app']} · {text['wallboard']}"),
        "__BODY_CLASS__": "tv" if tv else "",
        "__NAV__": "" if tv else nav,
        "__SEATS__": "".join(
            f'<option value="{html.escape(s)}">{html.escape(s)}</option>' for s in sorted(seats)
        ),
        "__CAN_MONITOR__": "true" if user.role == "supervisor" and not tv else "false",
        "__LOGIN__": _script_json(user.login),
        "__OWN_PHONE__": _script_json(user.interface),
        # "</" cannot end the script block from inside a JSON string
        "__TEXT__": _script_json(text),
    }
    # one pass, so a value that happens to contain a placeholder is left alone
    return _PLACEHOLDER.sub(lambda m: values[m.group(0)], _TEMPLATE)
