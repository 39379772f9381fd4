"""The seat page's follow-up work: due callbacks (回电, 回访), "my work orders" with their
buttons, and, in each call's workspace, scheduling a callback, choosing among the owners
of a shared number and linking an unknown caller's number to an owner found by search.

Two fragments the seat page includes: ``FOLLOWUP_SECTIONS`` (the side column's lists) and
``followup_script(lang)`` (a script before the page's own). The script has its own texts
and takes its request and element helpers from ``deskKit`` (``cti/desk_script.py``, which
the page places first); it offers the page two hooks on a call's
workspace, ``Followups.extendWork(work)`` when it is built and ``Followups.renderWork(work)``
when it changes; ``work`` is the page's entry for the call (``key``, ``pbx``, ``callId``,
``pop`` with ``owners`` and ``caller_number``, ``box``, ``ownerSelect``). Data from the
server is set as text only.
"""

from __future__ import annotations

import json

from callcenter.core.i18n import Catalogue, Lang
from callcenter.cti.i18n import TEXT as DESK_TEXT

TEXT: dict[str, tuple[str, str]] = {
    "due_title": ("待回电", "Callbacks due"),
    "team": ("团队", "Team"),
    "mine": ("我的", "Mine"),
    "no_callbacks": ("暂无待回电", "No callbacks due"),
    "kind_callback": ("回电", "Callback"),
    "kind_satisfaction": ("回访", "Follow-up"),
    "standing_upcoming": ("未到时间", "Upcoming"),
    "standing_due": ("已到时间", "Due"),
    "standing_overdue": ("已超时", "Overdue"),
    "standing_closed": ("已结束", "Closed"),
    "dial": ("回拨", "Call"),
    "result": ("结果", "Result"),
    "result_reached": ("已联系上", "Reached"),
    "result_no_answer": ("无人接听", "No answer"),
    "result_wrong_number": ("号码错误", "Wrong number"),
    "result_retry": ("约定再回电", "Retry at…"),
    "retry_at": ("再次回电时间", "Retry at"),
    "score": ("满意度（1-5）", "Satisfaction (1-5)"),
    "record": ("记录", "Record"),
    "recorded": ("已记录", "Recorded"),
    "attempts": ("第 {n} 次", "attempt {n}"),
    "due_at": ("回电时间", "Due"),
    "reason": ("原因", "Reason"),
    "schedule_callback": ("安排回电", "Schedule a callback"),
    "callback_for": ("安排回电 · {who}", "Callback · {who}"),
    "callback_saved": ("已安排回电：{time}", "Callback scheduled for {time}"),
    "no_orders": ("暂无工单", "No work orders"),
    "state_new": ("新建", "New"),
    "state_dispatched": ("已派单", "Dispatched"),
    "state_in_progress": ("处理中", "In progress"),
    "state_done": ("已完成", "Done"),
    "state_callback_scheduled": ("待回访", "Follow-up scheduled"),
    "state_satisfaction_recorded": ("已回访", "Followed up"),
    "state_closed": ("已关闭", "Closed"),
    "state_reopened": ("已重开", "Reopened"),
    "timer_none": ("", ""),
    "timer_on_time": ("按时", "On time"),
    "timer_overdue": ("已超期", "Overdue"),
    "timer_finished": ("", ""),
    "dept_none": ("（不指定）", "(none)"),
    "dept_engineering": ("工程部", "Engineering"),
    "dept_customer_service": ("客服部", "Customer service"),
    "dept_cleaning": ("保洁部", "Cleaning"),
    "dept_security": ("秩序部", "Security"),
    "dept_landscaping": ("绿化部", "Landscaping"),
    "act_dispatch": ("派单", "Dispatch"),
    "act_start": ("开始处理", "Start"),
    "act_finish": ("完成", "Finish"),
    "act_follow_up": ("安排回访", "Schedule follow-up"),
    "act_close": ("关闭", "Close"),
    "act_reopen": ("重开（二次派单）", "Reopen"),
    "act_history": ("详情", "Details"),
    "history": ("处理记录", "History"),
    "linked_call": ("关联来电", "Linked call"),
    "linked_call_at": ("{time} 来电", "call at {time}"),
    "recordings": ("录音", "Recordings"),
    "none": ("无", "none"),
    "satisfaction": ("满意度 {score}", "satisfaction {score}"),
    "owner_which": (
        "此号码有多位业主，请选择来电业主：",
        "Several owners share this number: who is calling?",
    ),
    "owner_chosen": ("来电业主：{name}", "Caller: {name}"),
    "link_title": ("关联业主", "Link to an owner"),
    "search_placeholder": ("姓名、房号或号码", "Name, unit or number"),
    "search": ("查找", "Search"),
    "search_short": (
        "请输入姓名、房号或号码：至少 2 个字母或数字，或一个汉字（如姓氏）",
        "Type a name, unit or number: at least 2 letters or digits, or one Chinese character",
    ),
    "reason_needed": ("请填写回电原因", "Say what the callback is about"),
    "time_needed": ("请选择回电时间", "Choose when to call back"),
    "search_reason": ("为来电 {who} 关联业主", "link the caller {who} to an owner"),
    "no_owner_found": ("没有找到业主", "No owner found"),
    "more_owners": ("结果较多，请输入更具体的条件", "More owners match: narrow the search"),
    "link_this": ("关联此号码", "Link this number"),
    "linked": (
        "已关联：{name}，下次来电将直接识别",
        "Linked to {name}: the next call pops as them",
    ),
}
# What the desk's catalogue already names, in its words: one translation each.
_DESK_WORDS = ("timer_due_soon", "kind_repair", "kind_complaint", "kind_enquiry", "kind_fee")
TEXT.update({key: DESK_TEXT[key] for key in (*_DESK_WORDS, "department", "error")})
TEXT.update(dialling=DESK_TEXT["calling"], orders_title=DESK_TEXT["my_orders"])

CATALOGUE = Catalogue(TEXT)

FOLLOWUP_SECTIONS = """<section data-testid="due-callbacks"><div class="fu-head"><h2 id="fu-due-title"></h2>
<button type="button" id="fu-scope" data-testid="callbacks-scope" hidden></button></div>
<table id="fu-callbacks" data-testid="callbacks"></table><p id="fu-no-callbacks" class="muted"></p></section>
<section data-testid="work-orders"><div class="fu-head"><h2 id="fu-orders-title"></h2>
<button type="button" id="fu-order-scope" data-testid="orders-scope" hidden></button></div>
<div id="fu-orders" data-testid="orders"></div><p id="fu-no-orders" class="muted"></p></section>"""

_SCRIPT = """<style>
.fu-head{display:flex;gap:8px;align-items:center} .fu-head h2{flex:1}
.fu-row{border-bottom:1px solid #eee;padding:4px 0} .fu-row .fu-actions{display:flex;flex-wrap:wrap;gap:4px;margin-top:4px}
.fu-row .fu-actions select,.fu-row .fu-actions input{width:auto;max-width:100%}
.fu-overdue{color:#fff;background:#c0392b;border-radius:4px;padding:0 4px}
.fu-due{color:#fff;background:#e67e22;border-radius:4px;padding:0 4px}
.fu-owner-choice button[aria-pressed=true]{font-weight:bold;box-shadow:0 0 0 2px #1f3a5f}
</style>
<script>
const Followups = (() => {
  const FT = __FT__, FLANG = '__LANG__', ROLE = '__ROLE__';
  const q = (id) => document.getElementById(id);
  const {el: make, fill: fmt, labelled: label, api: call, maskNumber} = deskKit(FT, FLANG);
  const word = (prefix, code) => FT[prefix + code] ?? code;
  // every time in the service's zone (ZONE), as the rest of the page: shown and typed
  const when = (epoch) => zonedTime(epoch, ZONE, false);
  // The call an order came from, as the agent knows calls: when and from whom (masked).
  // Asterisk's uniqueid is "[system name-]<epoch seconds>.<sequence>", taken when the
  // call's first channel was made: the call's time.
  function linkedCall(o) {
    const at = /(\\d{9,})\\.\\d+$/.exec(o.call_id);
    const time = at ? fmt(FT.linked_call_at, {time: zonedTime(Number(at[1]), ZONE, true)}) : o.pbx + '/' + o.call_id;
    return o.caller_number ? time + ' · ' + maskNumber(o.caller_number) : time;
  }
  const local = (epoch) => zonedTime(epoch, ZONE, false).replace(' ', 'T');
  const epochOf = (input) => zonedEpoch(input.value, ZONE);
  // A callback needs its time (and a reason, where the form asks one): said in the form's
  // words, not as the API's refusal of an empty field.
  function lacking(out, due, reason) {
    const why = !due.value ? FT.time_needed : reason && !reason.value.trim() ? FT.reason_needed : '';
    out.textContent = why;
    return why !== '';
  }
  const supervising = ROLE === 'supervisor' || ROLE === 'admin';
  let team = false, orderTeam = false, departments = [];
  const departmentSelects = [];  // the work-order forms' department choices
  function fillDepartments(select) {
    const kept = select.value;
    select.replaceChildren(make('option', {value: ''}, FT.dept_none), ...departments.map((d) => make('option', {value: d}, word('dept_', d))));
    select.value = departments.includes(kept) ? kept : '';
  }
  // what is typed in the workspace's follow-up forms and not sent yet (the page keeps the
  // workspace on screen for it)
  const dirty = (work) => !!(work.fuCallbackDirty || work.fuLinkDirty);
  const zoneName = (code) => (window.seatDesk ? window.seatDesk.zoneName(code) : code);
  const me = __LOGIN__;

  // --- due callbacks ---
  function standingBadge(s) {
    return make('span', {class: s === 'overdue' ? 'fu-overdue' : s === 'due' ? 'fu-due' : 'muted', 'data-testid': 'standing', 'data-standing': s}, word('standing_', s));
  }
  function callbackRow(cb) {
    const out = make('span', {role: 'status', 'data-testid': 'callback-status'});
    const dial = make('button', {type: 'button', 'data-testid': 'dial-callback'}, FT.dial);
    dial.onclick = async () => {
      try { await call('POST', '/api/callbacks/' + cb.id + '/dial'); out.textContent = FT.dialling; }
      catch (e) { out.textContent = e.message; }
    };
    const result = make('select', {'data-testid': 'callback-result', 'aria-label': FT.result});
    for (const r of ['reached', 'no_answer', 'wrong_number', 'retry']) result.append(make('option', {value: r}, word('result_', r)));
    const retry = make('input', {type: 'datetime-local', 'data-testid': 'retry-at', 'aria-label': FT.retry_at, hidden: ''});
    const score = make('select', {'data-testid': 'callback-score', 'aria-label': FT.score, hidden: ''});
    for (const n of [5, 4, 3, 2, 1]) score.append(make('option', {value: String(n)}, String(n)));
    const shown = () => { retry.hidden = result.value !== 'retry'; score.hidden = !(cb.kind === 'satisfaction' && result.value === 'reached'); };
    result.onchange = shown; shown();
    const save = make('button', {type: 'button', 'data-testid': 'record-result'}, FT.record);
    save.onclick = async () => {
      const body = {result: result.value};
      if (result.value === 'retry') body.retry_at = retry.value ? epochOf(retry) : null;
      if (!score.hidden) body.score = Number(score.value);
      try { await call('POST', '/api/callbacks/' + cb.id + '/result', body); out.textContent = FT.recorded; loadCallbacks(); loadOrders(); }
      catch (e) { out.textContent = e.message; }
    };
    const who = (cb.owner_name ? cb.owner_name + (cb.owner_unit ? ' ' + cb.owner_unit : '') + ' · ' : '') + cb.number;
    return make('div', {class: 'fu-row', 'data-testid': 'callback', 'data-id': String(cb.id), 'data-kind': cb.kind},
      make('div', {}, make('strong', {}, word('kind_', cb.kind)), ' ', standingBadge(cb.standing), ' ', when(cb.due_at),
        cb.attempts ? make('span', {'data-testid': 'callback-attempts'}, ' · ' + fmt(FT.attempts, {n: cb.attempts}) + ' ' + word('result_', cb.last_result)) : ''),
      make('div', {}, who), make('div', {class: 'muted'}, FT.reason + ': ' + cb.reason),
      supervising && team ? make('div', {class: 'muted'}, cb.assignee) : '',
      make('div', {class: 'fu-actions'}, dial, result, retry, score, save, out));
  }
  async function loadCallbacks() {
    try {
      const data = await call('GET', '/api/callbacks?due=1' + (team ? '&scope=team' : ''));
      q('fu-callbacks').replaceChildren(...data.callbacks.map(callbackRow));
      q('fu-no-callbacks').hidden = data.callbacks.length > 0;
    } catch (e) { q('fu-no-callbacks').textContent = e.message; }
  }

  // --- work orders ---
  const MOVES = {new: ['dispatch'], reopened: ['dispatch'], dispatched: ['start', 'finish'], in_progress: ['finish'],
    done: ['follow_up'], satisfaction_recorded: ['close', 'reopen'], closed: []};
  function orderRow(o) {
    const out = make('span', {role: 'status', 'data-testid': 'order-status'});
    const actions = make('div', {class: 'fu-actions'});
    const move = async (action, extra) => {
      try { await call('POST', '/api/workorders/' + o.id + '/actions', {action, ...extra}); loadOrders(); }
      catch (e) { out.textContent = e.message; }
    };
    for (const m of MOVES[o.state] || []) {
      if (m === 'dispatch') {
        const dept = make('select', {'data-testid': 'order-department', 'aria-label': FT.department});
        for (const d of departments) dept.append(make('option', {value: d}, word('dept_', d)));
        if (o.department) dept.value = o.department;
        const go = make('button', {type: 'button', 'data-testid': 'order-dispatch'}, FT.act_dispatch);
        go.onclick = () => move('dispatch', {department: dept.value});
        actions.append(dept, go);
      } else if (m === 'follow_up') {
        const due = make('input', {type: 'datetime-local', 'data-testid': 'follow-up-at', 'aria-label': FT.due_at, value: local(Date.now() / 1000 + __FOLLOW_UP_S__)});
        const go = make('button', {type: 'button', 'data-testid': 'order-follow-up'}, FT.act_follow_up);
        go.onclick = async () => {
          if (lacking(out, due, null)) return;
          try {
            await call('POST', '/api/callbacks', {kind: 'satisfaction', work_order_id: o.id, due_at: epochOf(due), reason: FT.kind_satisfaction + ' #' + o.id});
            loadOrders(); loadCallbacks();
          } catch (e) { out.textContent = e.message; }
        };
        actions.append(due, go);
      } else {
        const go = make('button', {type: 'button', 'data-testid': 'order-' + m}, FT['act_' + m]);
        go.onclick = () => move(m, {});
        actions.append(go);
      }
    }
    if (o.state !== 'closed' && o.caller_number) {  // a callback (回电) promised on the order
      const due = make('input', {type: 'datetime-local', 'data-testid': 'order-callback-at', 'aria-label': FT.due_at, value: local(Date.now() / 1000 + 3600)});
      const why = make('input', {'data-testid': 'order-callback-reason', 'aria-label': FT.reason, placeholder: FT.reason, maxlength: '500'});
      const go = make('button', {type: 'button', 'data-testid': 'order-callback'}, FT.schedule_callback);
      go.onclick = async () => {
        if (lacking(out, due, why)) return;
        try {
          await call('POST', '/api/callbacks', {work_order_id: o.id, due_at: epochOf(due), reason: why.value});
          out.textContent = fmt(FT.callback_saved, {time: when(epochOf(due))}); why.value = ''; loadCallbacks();
        } catch (e) { out.textContent = e.message; }
      };
      actions.append(due, why, go);
    }
    const details = make('div', {'data-testid': 'order-details', hidden: ''});
    const more = make('button', {type: 'button', 'data-testid': 'order-history', 'aria-expanded': 'false'}, FT.act_history);
    more.onclick = async () => {
      if (!details.hidden) { details.hidden = true; more.setAttribute('aria-expanded', 'false'); return; }
      try {
        const full = await call('GET', '/api/workorders/' + o.id);
        // the first line is the creation: its state alone (新建), not 新建 → 新建
        const step = (h) => (h.from_state ? word('state_', h.from_state) + ' → ' : '') + word('state_', h.to_state);
        const lines = full.history.map((h) => make('li', {'data-testid': 'order-step'}, when(h.at) + ' ' + h.actor + ' ' + step(h) + (h.note ? ' · ' + h.note : '')));
        const linked = o.call_id ? linkedCall(o) : FT.none;
        let recs = '';
        if (o.call_id) {
          const r = await call('GET', '/api/recordings?call_id=' + encodeURIComponent(o.call_id)).catch(() => null);
          recs = r && r.recordings && r.recordings.length ? make('a', {href: '/recordings'}, FT.recordings + ' (' + r.recordings.length + ')') : FT.recordings + ': ' + FT.none;
        }
        details.replaceChildren(make('div', {}, FT.linked_call + ': ' + linked), make('div', {}, recs), make('strong', {}, FT.history), make('ol', {}, ...lines));
        details.hidden = false; more.setAttribute('aria-expanded', 'true');
      } catch (e) { out.textContent = e.message; }
    };
    actions.append(more, out);
    const timer = o.timer ? o.timer.state : 'none';
    return make('div', {class: 'fu-row', 'data-testid': 'work-order', 'data-id': String(o.id), 'data-state': o.state},
      make('div', {}, make('strong', {}, '#' + o.id + ' ' + word('kind_', o.kind)), ' ',
        make('span', {'data-testid': 'order-state'}, word('state_', o.state)),
        o.department ? ' · ' + word('dept_', o.department) : '',
        timer === 'overdue' ? make('span', {class: 'fu-overdue', 'data-testid': 'order-overdue'}, ' ' + FT.timer_overdue) : (FT['timer_' + timer] ? ' · ' + FT['timer_' + timer] : ''),
        o.due_at ? ' · ' + when(o.due_at) : '', o.satisfaction ? ' · ' + fmt(FT.satisfaction, {score: o.satisfaction}) : ''),
      o.description ? make('div', {class: 'muted'}, o.description) : '', actions, details);
  }
  async function loadOrders() {
    try {
      const data = await call('GET', '/api/workorders');
      const shown = data.work_orders.filter((o) => orderTeam || o.created_by === me || o.assignee === me);
      q('fu-orders').replaceChildren(...shown.map(orderRow));
      q('fu-no-orders').hidden = shown.length > 0;
    } catch (e) { q('fu-no-orders').textContent = e.message; }
  }

  // --- in a call's workspace ---
  function ownerLabel(o) { return o.name + (o.units && o.units.length ? ' ' + o.units[0] : ''); }
  function extendWork(work) {
    departmentSelects.push(work.fields.department);
    fillDepartments(work.fields.department);
    if (!work.key) return;
    const reason = make('input', {name: 'callback-reason', 'data-testid': 'callback-reason', maxlength: '500'});
    const due = make('input', {type: 'datetime-local', name: 'callback-due', 'data-testid': 'callback-due', value: local(Date.now() / 1000 + 3600)});
    const out = make('p', {role: 'status', 'data-testid': 'callback-saved'});
    work.cbLegend = make('legend', {'data-testid': 'callback-for'});
    const form = make('form', {'data-testid': 'callback-form'}, make('fieldset', {}, work.cbLegend,
      label(FT.due_at, due), label(FT.reason, reason), make('button', {type: 'submit', 'data-testid': 'callback-submit'}, FT.schedule_callback)), out);
    form.addEventListener('input', () => { work.fuCallbackDirty = true; });
    form.onsubmit = async (ev) => {
      ev.preventDefault();
      if (lacking(out, due, reason)) return;
      const owners = work.pop.owners || [];
      const chosen = owners.length > 1 ? owners.find((o) => String(o.id) === work.ownerSelect.value) : owners[0];
      try {
        await call('POST', '/api/callbacks', {pbx: work.pbx, call_id: work.callId, due_at: epochOf(due), reason: reason.value,
          owner_id: chosen ? chosen.id : null});
        out.textContent = fmt(FT.callback_saved, {time: when(epochOf(due))}); reason.value = ''; work.fuCallbackDirty = false; loadCallbacks();
      } catch (e) { out.textContent = e.message; }
    };
    work.ownerPanel = make('div', {'data-testid': 'owner-panel'});
    work.box.append(work.ownerPanel, form);
    work.fuOwners = null;
  }
  function chooser(work, owners) {
    const buttons = owners.map((o) => {
      const b = make('button', {type: 'button', 'data-testid': 'choose-owner', 'data-owner': String(o.id), 'aria-pressed': 'false'}, ownerLabel(o));
      b.onclick = () => {
        work.ownerSelect.value = String(o.id);
        work.ownerSelect.dispatchEvent(new Event('change'));
        for (const x of buttons) x.setAttribute('aria-pressed', String(x === b));
        note.textContent = fmt(FT.owner_chosen, {name: ownerLabel(o)});
      };
      return b;
    });
    const note = make('span', {role: 'status', 'data-testid': 'owner-chosen'});
    return make('div', {class: 'fu-owner-choice', 'data-testid': 'owner-choice'}, make('p', {}, FT.owner_which), ...buttons, ' ', note);
  }
  function linker(work) {
    const input = make('input', {type: 'search', 'data-testid': 'owner-search', placeholder: FT.search_placeholder, 'aria-label': FT.search, maxlength: '64'});
    input.addEventListener('input', () => { work.fuLinkDirty = input.value.trim() !== ''; });
    const results = make('div', {'data-testid': 'owner-results'});
    const out = make('p', {role: 'status', 'data-testid': 'link-result'});
    const go = make('button', {type: 'submit', 'data-testid': 'owner-search-go'}, FT.search);
    const form = make('form', {}, make('fieldset', {}, make('legend', {}, FT.link_title), input, ' ', go, results, out));
    form.onsubmit = async (ev) => {
      ev.preventDefault();
      const text = input.value.trim();  // the rule the server applies, said in the form's words
      if (!text || (text.length < 2 && !/[\u3400-\u9fff]/.test(text))) { out.textContent = FT.search_short; return; }
      const why = fmt(FT.search_reason, {who: work.pop.caller_number ? '***' + work.pop.caller_number.slice(-4) : ''});
      try {
        const data = await call('GET', '/api/owners/search?q=' + encodeURIComponent(input.value) + '&reason=' + encodeURIComponent(why));
        results.replaceChildren(...data.owners.map((o) => {
          const link = make('button', {type: 'button', 'data-testid': 'link-owner', 'data-owner': String(o.id)}, FT.link_this);
          link.onclick = async () => {
            try {
              await call('POST', '/api/owners/' + o.id + '/numbers', {pbx: work.pbx, call_id: work.callId});
              out.textContent = fmt(FT.linked, {name: ownerLabel(o)}); results.replaceChildren();
              input.value = ''; work.fuLinkDirty = false;
            } catch (e) { out.textContent = e.message; }
          };
          return make('div', {class: 'fu-row', 'data-testid': 'found-owner'}, ownerLabel(o) + (o.zone ? ' · ' + zoneName(o.zone) : '') + ' · ' + o.phones.join(', ') + ' ', link);
        }));
        out.textContent = data.owners.length ? (data.more ? FT.more_owners : '') : FT.no_owner_found;
      } catch (e) { out.textContent = e.message; }
    };
    return form;
  }
  function renderWork(work) {
    if (!work.key || !work.ownerPanel) return;
    const owners = work.pop.owners || [];
    const ids = owners.map((o) => o.id).join(',');
    if (work.fuOwners !== ids) {
      work.fuOwners = ids;
      work.fuLinkDirty = false;  // the search panel, if any, is built anew
      work.ownerPanel.replaceChildren(owners.length > 1 ? chooser(work, owners) : owners.length === 0 ? linker(work) : '');
    }
    work.cbLegend.textContent = fmt(FT.callback_for, {who: work.title ? work.title.textContent : ''});
  }

  function start() {
    q('fu-due-title').textContent = FT.due_title;
    q('fu-orders-title').textContent = FT.orders_title;
    q('fu-no-callbacks').textContent = FT.no_callbacks;
    q('fu-no-orders').textContent = FT.no_orders;
    if (supervising) {
      for (const [id, flip] of [['fu-scope', () => { team = !team; loadCallbacks(); return team; }],
                                ['fu-order-scope', () => { orderTeam = !orderTeam; loadOrders(); return orderTeam; }]]) {
        const b = q(id); b.hidden = false; b.textContent = FT.team;
        b.onclick = () => { b.textContent = flip() ? FT.mine : FT.team; };
      }
    }
    call('GET', '/api/workorders/departments').then((d) => {
      departments = d.departments;
      for (const select of departmentSelects) fillDepartments(select);
      loadOrders();
    }).catch(() => loadOrders());
    loadCallbacks();
    setInterval(loadCallbacks, 30000);
    setInterval(loadOrders, 60000);
  }
  document.addEventListener('DOMContentLoaded', start);
  return {extendWork, renderWork, loadOrders, loadCallbacks, dirty};
})();
</script>
"""


def followup_script(lang: Lang, login: str, role: str, follow_up_after_s: float) -> str:
    """The follow-ups' style and script, texts in ``lang``; ``login`` and ``role`` say
    whose lists are "mine" and whether the team toggles show (the server decides what each
    list holds either way)."""
    texts = json.dumps(CATALOGUE.all(lang), ensure_ascii=False).replace("</", "<\\/")
    replacements = {
        "__FT__": texts,
        "__LANG__": lang,
        "__ROLE__": role if role.isalpha() else "",
        "__LOGIN__": json.dumps(login).replace("</", "<\\/"),
        "__FOLLOW_UP_S__": str(int(follow_up_after_s)),
    }
    script = _SCRIPT
    for marker, value in replacements.items():
        script = script.replace(marker, value)
    return script
