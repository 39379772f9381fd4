"""The recordings search page (Chinese by default, English with ``?lang=en``)."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence

from callcenter.core.i18n import Catalogue, Lang
from callcenter.recordings.settings import QaCriterion
from callcenter.web.page_clock import ZONED_TIME_JS
from callcenter.web.page_frame import FRAME_CSS
from callcenter.web.page_head import html_lang

TEXT: dict[str, tuple[str, str]] = {  # key: (Chinese, English)
    "title": ("通话录音", "Call recordings"), "since": ("开始日期", "From"), "until": ("结束日期", "To"),
    "caller": ("来电号码", "Caller number"), "agent": ("坐席", "Agent"), "queue": ("队列", "Queue"),
    "all_queues": ("全部队列", "All queues"),
    "work_order": ("工单号", "Work order"), "min_duration": ("最短时长(秒)", "Min length (s)"),
    "max_duration": ("最长时长(秒)", "Max length (s)"), "min_score": ("最低质检分", "Min QA score"),
    "max_score": ("最高质检分", "Max QA score"), "search": ("查询", "Search"), "time": ("时间", "Time"),
    "duration": ("时长", "Length"), "score": ("质检分", "QA score"), "play": ("播放", "Play"),
    "none": ("没有符合条件的录音", "No recordings match"), "total": ("共 {n} 条", "{n} found"),
    "qa": ("质检评分", "QA scoring"), "comment": ("备注", "Comment"), "save": ("保存评分", "Save scores"),
    "saved": ("已保存", "Saved"), "hold": ("法律保全", "Legal hold"), "error": ("出错了：", "Error: "),
    "other_lang": ("English", "中文"), "other_href": ("?lang=en", "?lang=zh"),
    "scoring": ("正在评分：录音 #{id} · {time} · 坐席 {agent}", "Scoring recording #{id} · {time} · agent {agent}"),
    "saved_for": ("已保存录音 #{id} 的评分：{total} 分", "Saved the scores of recording #{id}: {total}"),
    "yours": ("已载入您此前对该录音的评分", "Your earlier scores for this recording are loaded"),
    "qa_history": ("质检记录", "QA history"),
    "no_agent": ("这通录音没有接听坐席，无法质检评分", "No agent answered this call: there is nothing to score"),
    "nav": ("录音", "Recordings"),  # in the navigation bar
}  # fmt: skip
CATALOGUE = Catalogue(TEXT)

_SCRIPT = """
const T = JSON.parse(document.getElementById('texts').textContent);
const CRITERIA = JSON.parse(document.getElementById('criteria').textContent);
const LANG = document.documentElement.lang === 'en' ? 'en' : 'zh';
const ZONE = document.querySelector('meta[name=time-zone]').content;  // the service's, not the browser's
const QUEUES = JSON.parse(document.getElementById('queue-names').textContent);
const queueName = (code) => (code ? QUEUES[code] || code : '');
const csrf = document.querySelector('meta[name=csrf-token]').content;
const ME = document.querySelector('meta[name=user-login]').content;
const $ = (id) => document.getElementById(id);
let current = null;
function epoch(value, endOfDay) {  // a day's start in the service's zone; "to" takes the whole day
  if (!value) return '';
  const [y, m, d] = value.split('-').map(Number);
  const day = endOfDay ? new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10) : value;
  return String(zonedEpoch(day, ZONE));
}
async function post(url, body) {
  const r = await fetch(url, {method: 'POST', credentials: 'same-origin',
    headers: {'Content-Type': 'application/json', 'X-CSRF-Token': csrf},
    body: JSON.stringify(body || {})});
  const data = await r.json();
  if (!r.ok) throw new Error(LANG === 'en' ? data.error.en : data.error.zh);
  return data;
}
async function search(ev) {
  if (ev) ev.preventDefault();
  const form = new FormData($('filters'));
  const q = new URLSearchParams();
  for (const [k, v] of form) {
    if (!v) continue;
    q.set(k, k === 'since' ? epoch(v, false) : k === 'until' ? epoch(v, true) : v);
  }
  const r = await fetch('/api/recordings?' + q, {credentials: 'same-origin'});
  const data = await r.json();
  const body = $('rows');
  body.textContent = '';
  if (!r.ok) { $('status').textContent = T.error + (LANG === 'en' ? data.error.en : data.error.zh); return; }
  $('status').textContent = data.total ? T.total.replace('{n}', data.total) : T.none;
  for (const rec of data.recordings) {
    const tr = document.createElement('tr');
    const cells = [zonedTime(rec.recorded_at, ZONE, true),
      rec.caller_number, rec.agent, queueName(rec.queue), rec.duration_s.toFixed(1) + 's',
      rec.qa_score === null ? '-' : rec.qa_score.toFixed(1), rec.legal_hold ? T.hold : ''];
    for (const c of cells) { const td = document.createElement('td'); td.textContent = c; tr.append(td); }
    const td = document.createElement('td');
    const b = document.createElement('button');
    b.textContent = T.play;
    b.onclick = () => play(rec);
    td.append(b); tr.append(td); body.append(tr);
  }
}
function openForm(rec) {
  // the form scores the recording shown, and only that one: emptied and named anew
  const form = $('qa');
  if (!form) return;
  form.reset();
  form.dataset.recording = String(rec.id);
  $('qa_status').textContent = '';
  const when = zonedTime(rec.recorded_at, ZONE, true);
  if (!rec.agent) {  // nobody answered: no handling to score (the server refuses it too)
    $('qa_target').textContent = T.no_agent;
    for (const input of form.querySelectorAll('input, textarea, button')) input.disabled = true;
    form.hidden = false;
    return;
  }
  for (const input of form.querySelectorAll('input, textarea, button')) input.disabled = false;
  $('qa_target').textContent = T.scoring.replace('{id}', rec.id).replace('{time}', when)
    .replace('{agent}', rec.agent);
  form.hidden = false;
}
async function loadMine(rec) {
  const r = await fetch('/api/recordings/' + rec.id, {credentials: 'same-origin'});
  if (!r.ok) return;
  const data = await r.json();
  const mine = data.qa.find((sheet) => sheet.reviewer === ME);
  // the supervisor may have opened another recording meanwhile: fill only the one shown
  if (!mine || !current || current.id !== rec.id) return;
  for (const c of CRITERIA) {
    if (c.key in mine.scores) $('qa_' + c.key).value = mine.scores[c.key];
  }
  $('qa_comment').value = mine.comment || '';
  $('qa_status').textContent = T.yours;
}
async function play(rec) {
  try {
    const link = await post('/api/recordings/' + rec.id + '/link');
    current = rec;
    openForm(rec);
    $('player').src = link.url;
    $('player').play().catch(() => {});
    if ($('qa')) loadMine(rec);
  } catch (e) { $('status').textContent = T.error + e.message; }
}
async function saveQa(ev) {
  ev.preventDefault();
  const id = Number($('qa').dataset.recording);
  const scores = {};
  for (const c of CRITERIA) scores[c.key] = parseInt($('qa_' + c.key).value, 10);
  try {
    const saved = await post('/api/recordings/' + id + '/qa', {scores, comment: $('qa_comment').value});
    // the confirmation has its own line: refreshing the list below does not replace it
    $('qa_status').textContent = T.saved_for.replace('{id}', id).replace('{total}', saved.total.toFixed(1));
    search();
  } catch (e) { $('qa_status').textContent = T.error + e.message; }
}
$('filters').onsubmit = search;
if ($('qa')) $('qa').onsubmit = saveQa;
search();
"""


def render_page(
    lang: Lang,
    *,
    can_score: bool,
    criteria: Sequence[QaCriterion],
    csrf: str = "",
    login: str = "",
    nav: str = "",
    zone: str = "Asia/Shanghai",
    queue_names: Mapping[str, str] | None = None,
) -> str:
    """``nav``: the site's navigation bar (``web.page_frame.nav_bar``); ``zone``: the
    service's timezone, the one the times are shown in; ``queue_names``: queue code -> its
    name in ``lang``."""
    t = CATALOGUE.all(lang)
    e = html.escape
    fields = [
        ("since", "date"), ("until", "date"), ("caller", "text"), ("agent", "text"),
        ("queue", "text"), ("work_order", "text"), ("min_duration", "number"),
        ("max_duration", "number"), ("min_score", "number"), ("max_score", "number"),
    ]  # fmt: skip
    names = dict(queue_names or {})
    inputs = "".join(
        f'<label>{e(t[name])} <input name="{name}" type="{kind}"></label> '
        if name != "queue" or not names
        else f'<label>{e(t[name])} <select name="queue" data-testid="queue-filter">'
        f'<option value="">{e(t["all_queues"])}</option>'
        + "".join(f'<option value="{e(q)}">{e(n)}</option>' for q, n in sorted(names.items()))
        + "</select></label> "
        for name, kind in fields
    )
    heads = "".join(
        f"<th>{e(t[k])}</th>"
        for k in ("time", "caller", "agent", "queue", "duration", "score", "hold", "play")
    )
    qa = ""
    if can_score:
        rows = "".join(
            f"<label>{e(c.name_zh if lang == 'zh' else c.name_en or c.key)} (0-{c.max_points}) "
            f'<input id="qa_{e(c.key)}" type="number" min="0" max="{c.max_points}" required>'
            "</label> "
            for c in criteria
        )
        qa = (
            f'<form id="qa" hidden data-recording=""><h2>{e(t["qa"])}</h2>'
            f'<p id="qa_target" data-testid="qa-target"></p>{rows}'
            f'<label>{e(t["comment"])} <input id="qa_comment"></label> '
            f"<button>{e(t['save'])}</button>"
            f'<p id="qa_status" role="status" data-testid="qa-status"></p></form>'
        )
    crit = [{"key": c.key, "max": c.max_points} for c in criteria]
    # "</" is escaped so the JSON cannot close its <script> element.
    texts_json = json.dumps(t, ensure_ascii=False).replace("</", "<\\/")
    crit_json = json.dumps(crit).replace("</", "<\\/")
    queues_json = json.dumps(names, ensure_ascii=False).replace("</", "<\\/")
    return f"""<!doctype html>
<html lang="{html_lang(lang)}"><head><meta charset="utf-8"><title>{e(t["title"])}</title>
<meta name="csrf-token" content="{e(csrf)}"><meta name="user-login" content="{e(login)}">
<meta name="time-zone" content="{e(zone)}">
{FRAME_CSS}<style>label{{display:inline-block;margin:.2em .6em .2em 0}} #player{{display:block;margin:8px 0}}</style>
</head><body>{nav}<main class="page"><section>
<h1>{e(t["title"])}</h1>
<p><a href="/recordings/qa" data-testid="qa-history-link">{e(t["qa_history"])}</a></p>
<form id="filters">{inputs}<button>{e(t["search"])}</button></form>
<p id="status" role="status"></p>
<audio id="player" controls preload="none"></audio>
{qa}
<table><thead><tr>{heads}</tr></thead><tbody id="rows"></tbody></table>
</section></main>
<script type="application/json" id="texts">{texts_json}</script>
<script type="application/json" id="criteria">{crit_json}</script>
<script type="application/json" id="queue-names">{queues_json}</script>
<script>{ZONED_TIME_JS}{_SCRIPT}</script>
</body></html>"""
