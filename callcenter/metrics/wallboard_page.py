"""The wallboard page: one HTML document, its CSS and script inline (no outside hosts).

Every text comes from the catalogue (Chinese by default); data from the server is only ever
set as text, never as HTML. Colours come with the data (``levels``), decided on the server.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable

from callcenter.core.i18n import Lang
from callcenter.metrics.i18n import catalogue
from callcenter.web.page_head import PAGE_HEAD, html_lang
from callcenter.web.security import User

_TEMPLATE = (
    PAGE_HEAD
    + """<style>
body{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;background:#101820;color:#eee}
header{display:flex;gap:12px;align-items:center;background:#1f3a5f;padding:8px 16px}
header .grow{flex:1} header a,header button{color:#fff;background:none;border:1px solid #fff6;padding:4px 8px;border-radius:4px;text-decoration:none}
main{padding:12px;display:grid;gap:12px}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(180px,1fr));gap:12px}
.tile{background:#1b2733;border-radius:8px;padding:12px;border-left:8px solid #2e8b57}
.tile .label{font-size:14px;color:#bbb} .tile .value{font-size:40px;font-weight:bold}
.tile .sub{font-size:13px;color:#aaa}
.ok{border-left-color:#2e8b57} .warn{border-left-color:#e6a23c} .alert{border-left-color:#e74c3c}
.value.alert{color:#ff6b5b} .value.warn{color:#f5c16c}
section{background:#1b2733;border-radius:8px;padding:12px}
h2{font-size:16px;margin:0 0 8px} table{width:100%;border-collapse:collapse}
td,th{border-bottom:1px solid #2c3a48;padding:4px;text-align:left}
#alerts li{color:#ff6b5b;font-weight:bold;font-size:18px} #alerts .none{color:#8c8}
#staffing{background:#b3261e;color:#fff;font-size:22px;font-weight:bold;padding:12px 16px}
#staffing[hidden]{display:none}
button.m{margin-right:4px;background:#2c4a6e;color:#fff;border:0;border-radius:4px;padding:4px 8px}
button.m:disabled{opacity:.4} input{padding:4px}
#link{color:#aaa} svg{display:block}
</style></head><body>
<header><strong>__APP__ · __WALLBOARD__</strong><span>__NAME__</span>
<span class="grow"></span><span id="link" data-testid="link"></span>
<a href="/reports">__REPORTS__</a><a href="?lang=__OTHER__">__OTHER_LABEL__</a>
<form method="post" action="/logout" style="margin:0"><input type="hidden" name="csrf_token" value="__CSRF__">
<button type="submit">__SIGN_OUT__</button></form></header>
<div id="staffing" role="alert" data-testid="staffing-banner" hidden></div>
<main>
<section><h2 id="alerts-title"></h2><ul id="alerts" data-testid="alerts"></ul></section>
<div class="tiles">
<div class="tile" id="t-lines"><div class="label" id="l-lines"></div>
<div class="value" data-testid="lines-in-use" id="v-lines">–</div>
<svg width="100%" height="10" viewBox="0 0 100 10" preserveAspectRatio="none">
<rect width="100" height="10" fill="#2c3a48"/><rect id="lines-bar" width="0" height="10" fill="#2e8b57"/>
<line id="lines-high" x1="80" x2="80" y1="0" y2="10" stroke="#e6a23c" stroke-width="1"/></svg>
<div class="sub" id="s-lines"></div></div>
<div class="tile" id="t-ivr"><div class="label" id="l-ivr"></div><div class="value" data-testid="in-ivr" id="v-ivr">–</div></div>
<div class="tile" id="t-waiting"><div class="label" id="l-waiting"></div><div class="value" data-testid="waiting" id="v-waiting">–</div>
<div class="sub" id="s-waiting"></div></div>
<div class="tile" id="t-rate-today"><div class="label" id="l-rate-today"></div><div class="value" data-testid="answer-rate-today" id="v-rate-today">–</div>
<div class="sub" id="s-rate-today"></div></div>
<div class="tile" id="t-rate-hour"><div class="label" id="l-rate-hour"></div><div class="value" data-testid="answer-rate-hour" id="v-rate-hour">–</div></div>
<div class="tile" id="t-sl"><div class="label" id="l-sl"></div><div class="value" data-testid="service-level" id="v-sl">–</div>
<div class="sub" id="s-sl"></div></div>
</div>
<section><h2 id="queues-title"></h2><table id="queues" data-testid="queues"></table></section>
<section><h2 id="agents-title"></h2><div id="agents" data-testid="agents"></div></section>
<section><h2 id="seats-title"></h2>
<label id="l-phone" for="phone"></label> <input id="phone" data-testid="my-phone" value="__PHONE__" size="14" list="known-seats">
<datalist id="known-seats">__SEATS__</datalist>
<span id="monitor-result" data-testid="monitor-result" role="status"></span>
<table id="seats" data-testid="seats"></table></section>
</main>
<script>
const T = __TEXT__;
const CAN_MONITOR = __CAN_MONITOR__;
const CSRF = document.querySelector('meta[name=csrf-token]').content;
const $ = (id) => document.getElementById(id);
const pct = (v) => v === null || v === undefined ? '–' : (v * 100).toFixed(1) + '%';
for (const [id, key] of [['alerts-title','alerts'],['l-lines','lines'],['l-ivr','in_ivr'],
  ['l-waiting','waiting'],['l-rate-today','answer_rate_today'],['l-rate-hour','answer_rate_hour'],
  ['l-sl','service_level_today'],['queues-title','queue'],['agents-title','agents'],
  ['seats-title','seats'],['l-phone','my_phone']]) { $(id).textContent = T[key]; }
function level(tile, value, lv) {
  $(tile).className = 'tile ' + (lv || 'ok');
  $(value).className = 'value ' + (lv || 'ok');
}
function cell(row, text, tag) {
  const c = document.createElement(tag || 'td'); c.textContent = text; row.appendChild(c); return c;
}
function render(d) {
  const lv = d.levels || {};
  $('v-lines').textContent = d.lines_in_use + ' / ' + d.line_capacity;
  $('s-lines').textContent = T.high_level + ' ' + d.lines_high;
  level('t-lines', 'v-lines', lv.lines);
  const bar = $('lines-bar');
  bar.setAttribute('width', Math.min(100, 100 * d.lines_in_use / d.line_capacity));
  bar.setAttribute('fill', lv.lines === 'alert' ? '#e74c3c' : lv.lines === 'warn' ? '#e6a23c' : '#2e8b57');
  const high = 100 * d.lines_high / d.line_capacity;
  $('lines-high').setAttribute('x1', high); $('lines-high').setAttribute('x2', high);
  $('v-ivr').textContent = d.calls_in_ivr;
  let waiting = 0, longest = 0;
  for (const q of Object.values(d.waiting)) { waiting += q.waiting; longest = Math.max(longest, q.longest_wait_s); }
  $('v-waiting').textContent = waiting;
  $('s-waiting').textContent = T.longest_wait + ' ' + Math.round(longest) + T.seconds;
  level('t-waiting', 'v-waiting', longest > 2 * d.service_level_s ? 'alert' : longest > d.service_level_s ? 'warn' : 'ok');
  $('v-rate-today').textContent = pct(d.today.answer_rate);
  $('s-rate-today').textContent = T.target + ' ' + pct(d.answer_rate_target) + ' · ' +
    T.answered_today + ' ' + d.today.answered + ' / ' + T.offered_today + ' ' + d.today.offered;
  level('t-rate-today', 'v-rate-today', lv.answer_rate_today);
  $('v-rate-hour').textContent = pct(d.hour.answer_rate);
  level('t-rate-hour', 'v-rate-hour', lv.answer_rate_hour);
  $('v-sl').textContent = pct(d.today.service_level);
  $('s-sl').textContent = T.target + ' ' + pct(d.service_level_target) + ' · ' + d.service_level_s + T.seconds;
  level('t-sl', 'v-sl', lv.service_level_today);
  const short = d.alerts.filter((a) => a.kind === 'staffing');
  $('staffing').textContent = short.map((a) => a[T.lang_key]).join(' · ');
  $('staffing').hidden = !short.length;
  const alerts = $('alerts'); alerts.replaceChildren();
  for (const a of d.alerts) { const li = document.createElement('li'); li.textContent = a[T.lang_key]; li.dataset.kind = a.kind; alerts.appendChild(li); }
  if (!d.alerts.length) { const li = document.createElement('li'); li.className = 'none'; li.textContent = T.no_alerts; alerts.appendChild(li); }
  const queues = $('queues'); queues.replaceChildren();
  const head = document.createElement('tr'); cell(head, T.queue, 'th'); cell(head, T.waiting, 'th'); cell(head, T.longest_wait, 'th'); queues.appendChild(head);
  for (const [name, q] of Object.entries(d.waiting)) {
    const tr = document.createElement('tr'); cell(tr, name); cell(tr, q.waiting);
    const w = cell(tr, Math.round(q.longest_wait_s) + T.seconds); w.className = 'value ' + (lv['wait:' + name] || 'ok'); w.style.fontSize = 'inherit';
    queues.appendChild(tr);
  }
  const agents = $('agents'); agents.replaceChildren();
  for (const [state, n] of Object.entries(d.agents)) { cell(agents, (T['state_' + state] || state) + ' ' + n + '　', 'span'); }
  const seats = $('seats'); seats.replaceChildren();
  const sh = document.createElement('tr'); cell(sh, T.interface, 'th'); cell(sh, T.state, 'th'); if (CAN_MONITOR) cell(sh, T.monitor, 'th'); seats.appendChild(sh);
  for (const s of d.seats) {
    const tr = document.createElement('tr'); tr.dataset.interface = s.interface;
    cell(tr, s.interface); cell(tr, T['state_' + s.state] || s.state);
    if (CAN_MONITOR) {
      const td = cell(tr, '');
      for (const mode of ['listen', 'whisper', 'barge']) {
        const b = document.createElement('button'); b.className = 'm'; b.textContent = T[mode];
        b.dataset.testid = 'monitor-' + mode; b.disabled = s.state !== 'in_call';
        b.onclick = () => monitor(s.interface, mode); td.appendChild(b);
      }
    }
    seats.appendChild(tr);
  }
}
async function monitor(iface, mode) {
  const phone = $('phone').value.trim(); localStorage.setItem('cc_monitor_phone', phone);
  const r = await fetch('/api/monitor', {method: 'POST', headers: {'Content-Type': 'application/json', 'X-CSRF-Token': CSRF},
    body: JSON.stringify({interface: iface, mode: mode, phone: phone})});
  const body = await r.json().catch(() => ({}));
  $('monitor-result').textContent = r.ok ? T.monitor_started : ((body.error && body.error[T.lang_key]) || r.status);
}
if (!$('phone').value) $('phone').value = localStorage.getItem('cc_monitor_phone') || '';
let delay = 500;
function connect() {
  const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws/wallboard');
  ws.onopen = () => { $('link').textContent = T.connected; delay = 500; };
  ws.onmessage = (m) => render(JSON.parse(m.data));
  ws.onclose = () => { $('link').textContent = T.reconnecting; setTimeout(connect, delay); delay = Math.min(delay * 2, 10000); };
}
connect();
</script></body></html>"""
)


_PLACEHOLDER = re.compile(r"__[A-Z_]+__")


def render_wallboard(lang: Lang, user: User, csrf: str, seats: Iterable[str] = ()) -> str:
    """``seats``: the interfaces a supervisor may be rung on for live monitoring."""
    text = catalogue(lang)
    text["lang_key"] = lang  # each alert carries "zh" and "en"
    values = {
        "__HTML_LANG__": html_lang(lang),
        "__CSRF__": html.escape(csrf),
        "__TITLE__": html.escape(f"{text['app']} · {text['wallboard']}"),
        "__APP__": html.escape(text["app"]),
        "__WALLBOARD__": html.escape(text["wallboard"]),
        "__NAME__": html.escape(user.display_name or user.login),
        "__REPORTS__": html.escape(text["reports"]),
        "__OTHER__": "zh" if lang == "en" else "en",
        "__OTHER_LABEL__": html.escape(text["other_lang"]),
        "__SIGN_OUT__": html.escape(text["sign_out"]),
        "__PHONE__": html.escape(user.interface),
        "__SEATS__": "".join(f'<option value="{html.escape(s)}">' for s in sorted(seats)),
        "__CAN_MONITOR__": "true" if user.role == "supervisor" else "false",
        # "</" cannot end the script block from inside a JSON string
        "__TEXT__": json.dumps(text, ensure_ascii=False).replace("</", "<\\/"),
    }
    # one pass, so a value that happens to contain a placeholder is left alone
    return _PLACEHOLDER.sub(lambda m: values[m.group(0)], _TEMPLATE)
