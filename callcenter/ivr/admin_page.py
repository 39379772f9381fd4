"""The IVR flows screen (``/admin/ivr``, admins): the flows served and their nodes, a
file's text, and a file checked and uploaded; problems are listed as file:line:column.
It writes through ``/api/ivr/flows``."""

from __future__ import annotations

import html

from aiohttp import web

from callcenter.core.i18n import Catalogue
from callcenter.web.admin_page import STATUS_LINE, AdminScreen, add_screens, table_heads

TEXT: dict[str, tuple[str, str]] = {  # key: (Chinese, English)
    "title": ("IVR 流程", "IVR flows"),
    "served": ("正在使用的流程", "Flows being served"), "file": ("文件", "File"),
    "start": ("起始节点", "Start"), "nodes": ("节点", "Nodes"), "view": ("查看", "View"),
    "node": ("节点", "Node"), "type": ("类型", "Type"), "fields": ("设置", "Settings"),
    "refused": ("上次重新加载被拒绝：", "The last reload was refused:"),
    "upload": ("上传或修改流程文件", "Upload or change a flow file"),
    "name": ("文件名", "File name"), "choose": ("选择文件", "Choose a file"),
    "text": ("内容", "Text"), "check": ("检查", "Check"), "save": ("检查并保存", "Check and save"),
    "ok": ("检查通过：{file}", "{file} checks out"), "saved": ("已保存并重新加载：{file}", "{file} saved and reloaded"),
    "problems": ("发现 {n} 个问题，未保存：", "{n} problem(s); nothing saved:"),
    "source": ("文件内容", "File text"),
    "type_play": ("播放", "play"), "type_menu": ("按键菜单", "menu"), "type_collect": ("收号", "collect"),
    "type_lookup": ("查询", "lookup"), "type_branch": ("条件分支", "branch"), "type_queue": ("排队", "queue"),
    "type_dial": ("拨打", "dial"), "type_voicemail": ("留言", "voicemail"), "type_survey": ("满意度调查", "survey"),
    "type_setvars": ("设置变量", "set variables"), "type_goto": ("跳转", "goto"), "type_hangup": ("挂机", "hang up"),
}  # fmt: skip
CATALOGUE = Catalogue(TEXT)

_SCRIPT = """
function showProblems(list) {
  const ul = $('problems');
  ul.textContent = '';
  for (const p of list) ul.append(el('li', {class: 'error'}, p.message[LANG]));
}
// A node's setting as short text: empty parts of conditions and cases left out.
function brief(value) {
  if (Array.isArray(value)) return value.map(brief);
  if (value && typeof value === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(value)) if (v !== '' && v !== null) out[k] = brief(v);
    return out;
  }
  return value;
}
async function load() {
  const data = await api('GET', '/api/ivr/flows');
  const body = $('flows');
  body.textContent = '';
  for (const f of data.flows) {
    const tr = el('tr', {'data-flow': f.name});
    cell(tr, f.name + (f.description ? ' · ' + f.description : ''));
    cell(tr, f.file);
    cell(tr, f.start);
    cell(tr, f.nodes.length);
    const b = el('button', {type: 'button'}, T.view);
    b.onclick = () => view(f);
    cell(tr, '').append(b);
    body.append(tr);
  }
  $('refused').hidden = !data.refused.length;
  $('refused_list').textContent = '';
  for (const r of data.refused) $('refused_list').append(el('li', {}, r));
}
async function view(flow) {
  const nodes = $('nodes');
  nodes.textContent = '';
  for (const n of flow.nodes) {
    const tr = el('tr');
    cell(tr, n.id); cell(tr, T['type_' + n.type] || n.type);
    const td = cell(tr, '');  // one setting a line, long values wrapped inside the cell
    for (const [k, v] of Object.entries(n.fields)) {
      if (v === '' || v === null || (Array.isArray(v) && !v.length)) continue;
      td.append(el('div', {}, k + ': ' + (typeof v === 'object' ? JSON.stringify(brief(v)) : v)));
    }
    nodes.append(tr);
  }
  $('viewing').textContent = flow.name;
  $('view').hidden = false;
  const src = await api('GET', '/api/ivr/flows/' + encodeURIComponent(flow.file));
  $('source').textContent = src.text;
  $('name').value = src.file;
  $('text').value = src.text;
}
async function send(save) {
  const name = $('name').value.trim();
  try {
    const url = '/api/ivr/flows/' + encodeURIComponent(name) + (save ? '' : '/check');
    const result = await api(save ? 'PUT' : 'POST', url, {text: $('text').value});
    showProblems(result.problems);
    if (result.ok) say((save ? T.saved : T.ok).replace('{file}', name), true);
    else say(T.problems.replace('{n}', result.problems.length), false);
    if (save) await load();
  } catch (e) {
    showProblems([]);
    say(e.message, false);
  }
}
$('file').onchange = async () => {
  const f = $('file').files[0];
  if (!f) return;
  $('name').value = f.name;
  $('text').value = await f.text();
};
$('check').onclick = () => send(false);
$('save').onclick = () => send(true);
load().catch((e) => say(e.message, false));
"""


def body(t: dict[str, str]) -> str:
    e = html.escape
    heads = table_heads(t, ("title", "file", "start", "nodes", "view"))
    node_heads = table_heads(t, ("node", "type", "fields"))
    return (
        f"{STATUS_LINE}"
        f'<section class="card" id="refused" hidden><p class="error">{e(t["refused"])}</p>'
        f'<ul id="refused_list"></ul></section>'
        f'<section class="card"><h2>{e(t["served"])}</h2><table><thead><tr>{heads}</tr></thead>'
        f'<tbody id="flows"></tbody></table></section>'
        f'<section class="card" id="view" hidden><h2 id="viewing"></h2><table class="nodes"><thead><tr>'
        f'{node_heads}</tr></thead><tbody id="nodes"></tbody></table>'
        f'<details><summary>{e(t["source"])}</summary><pre id="source"></pre></details></section>'
        f'<section class="card"><h2>{e(t["upload"])}</h2>'
        f'<label>{e(t["choose"])} <input type="file" id="file" accept=".yaml,.yml"></label>'
        f'<label>{e(t["name"])} <input id="name" placeholder="hotline.yaml" '
        f'pattern="[A-Za-z0-9_\\-]{{1,64}}\\.ya?ml"></label>'
        f'<p><label>{e(t["text"])}<br><textarea id="text" rows="16" cols="100" '
        f'spellcheck="false" style="width:100%;font-family:monospace"></textarea></label></p>'
        f'<p><button type="button" id="check">{e(t["check"])}</button> '
        f'<button type="button" class="primary" id="save">{e(t["save"])}</button></p>'
        f'<ul id="problems"></ul></section>'
    )


FLOWS_SCREEN = AdminScreen("/admin/ivr", CATALOGUE, body, _SCRIPT)


def setup(app: web.Application) -> None:
    add_screens(app, FLOWS_SCREEN)
