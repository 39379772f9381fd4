"""The script helpers every part of the seat desk builds with (one ``<script>``).

The seat page places ``DESK_KIT`` before its own script and the follow-ups' script; each
takes its helpers with ``deskKit(texts, lang)``: its own catalogue (an API error without a
message shows ``texts.error``) and the page's language (which language an error body is
shown in).
"""

from __future__ import annotations

DESK_KIT = """<script>
const deskKit = (texts, lang) => {
  function el(tag, attrs, ...kids) {
    const n = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) n.setAttribute(k, v);
    for (const kid of kids) n.append(kid instanceof Node ? kid : String(kid ?? ''));
    return n;
  }
  const fill = (text, values) => text.replace(/\\{(\\w+)\\}/g, (m, k) => (k in values ? String(values[k]) : m));
  const labelled = (text, control) => el('label', {}, el('span', {}, text), control);
  // a phone number as a screen may show it: its last four digits
  const maskNumber = (v) => { const d = (v || '').replace(/\\D/g, ''); return d.length <= 4 ? (v || '') : '***' + d.slice(-4); };
  async function api(method, path, body) {
    const r = await fetch(path, {method, credentials: 'same-origin',
      headers: {'Content-Type': 'application/json',
        'X-CSRF-Token': document.querySelector('meta[name=csrf-token]').content},
      body: body === undefined ? undefined : JSON.stringify(body)});
    const data = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error((data.error && (lang === 'en' ? data.error.en : data.error.zh)) || texts.error);
    return data;
  }
  return {el, fill, labelled, api, maskNumber};
};
</script>
"""
