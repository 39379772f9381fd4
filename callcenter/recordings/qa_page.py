"""The QA history page (pure rendering, no script): per agent and criterion, one agent's
score sheets, and the calibration view (the same recordings scored by several
supervisors). An agent sees only their own history and no calibration."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo

from callcenter.core.i18n import Catalogue, Lang
from callcenter.recordings.qa import (
    AgentCriteria,
    CalibrationRow,
    ReviewerBias,
    ScoreSheet,
)
from callcenter.recordings.settings import QaCriterion
from callcenter.web.html_table import html_table
from callcenter.web.query_form import date_inputs, query_form

__all__ = ["QA_TEXT", "QaPage", "render_qa_page"]

QA_TEXT = Catalogue({  # key: (Chinese, English)
    "title": ("质检记录", "QA history"), "recordings": ("通话录音", "Call recordings"),
    "from": ("开始日期", "From"), "to": ("结束日期", "To"), "agent": ("坐席", "Agent"),
    "show": ("查询", "Show"), "all_agents": ("全部坐席", "All agents"),
    "by_agent": ("按坐席与质检项", "By agent and criterion"), "sheets": ("份数", "Sheets"),
    "mean": ("平均分", "Average"), "history": ("评分记录", "Score sheets"),
    "time": ("通话时间", "Call time"), "recording": ("录音", "Recording"),
    "reviewer": ("评分人", "Reviewer"), "total": ("总分", "Total"), "comment": ("备注", "Comment"),
    "calibration": ("校准（同一录音多人评分）", "Calibration (same recordings, several reviewers)"),
    "spread": ("分差", "Spread"), "reviewers": ("评分人偏差", "Reviewer offsets"),
    "offset": ("与他人平均之差", "Offset from the others' mean"),
    "none": ("没有评分记录", "No score sheets"),
    "no_calibration": ("没有多人评分的录音", "No recording scored by more than one reviewer"),
    "pick_agent": ("选择一位坐席查看其评分记录", "Pick an agent to see their score sheets"),
    "def": ("分数为满分的百分比；各质检项为该项平均得分占该项满分的百分比",
            "Scores are percentages of the maximum points; per criterion, the mean points "
            "as a percentage of that criterion's maximum"),
})  # fmt: skip

# inside the site's frame: wide tables scroll in their card; scores line up on the right
_STYLE = """<style>main.page section{overflow:auto;min-width:0}
main.page td,main.page th{text-align:right} main.page td:first-child,main.page th:first-child{text-align:left}
.error{color:var(--alert)}</style>"""


@dataclass(frozen=True)
class QaPage:
    """What the page shows; ``calibration`` is None for agents (not shown at all)."""

    query: dict[str, str]  # from, to, agent
    criteria: Sequence[QaCriterion]
    by_agent: Sequence[AgentCriteria]
    sheets: Sequence[ScoreSheet]  # the chosen agent's, newest first
    calibration: tuple[Sequence[CalibrationRow], Sequence[ReviewerBias]] | None
    agent_choice: bool  # supervisors pick any agent; an agent sees their own
    zone: tzinfo


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def render_qa_page(lang: Lang, page: QaPage, *, error: str = "") -> str:
    """The page's body, for the site's frame (``web.page_frame.framed_page``)."""
    e = html.escape
    t = QA_TEXT.all(lang)
    q = page.query

    def crit_name(c: QaCriterion) -> str:
        return (c.name_zh if lang == "zh" else c.name_en) or c.key

    def when(at: float) -> str:
        return datetime.fromtimestamp(at, page.zone).strftime("%Y-%m-%d %H:%M")

    agent_input = ""
    if page.agent_choice:
        names = sorted(
            {a.agent for a in page.by_agent} | ({q["agent"]} if q.get("agent") else set())
        )
        options = "".join(
            f'<option value="{e(n)}"{" selected" if n == q.get("agent") else ""}>{e(n)}</option>'
            for n in names
        )
        agent_input = (
            f'<label>{e(t["agent"])} <select name="agent" data-testid="qa-agent">'
            f'<option value="">{e(t["all_agents"])}</option>{options}</select></label> '
        )
    body = [
        f"{_STYLE}<section><h1>{e(t['title'])}</h1>"
        f'<p><a href="/recordings" data-testid="recordings-link">{e(t["recordings"])}</a></p>'
        + query_form(
            "/recordings/qa", lang, date_inputs(q, t["from"], t["to"]) + agent_input, t["show"]
        )
        + f'<p class="muted">{e(t["def"])}</p>',
    ]
    if error:
        return "".join([*body, f'<p class="error" role="alert">{e(error)}</p></section>'])
    body.append("</section>")
    heads = [t["agent"], t["sheets"], t["mean"], *(crit_name(c) for c in page.criteria)]
    rows = [
        [a.agent, str(a.sheets), _pct(a.mean),
         *(_pct(a.by_criterion.get(c.key)) for c in page.criteria)]
        for a in page.by_agent
    ]  # fmt: skip
    summary = html_table("qa-by-agent", heads, rows) if rows else f"<p>{e(t['none'])}</p>"
    body.append(f"<section><h2>{e(t['by_agent'])}</h2>{summary}</section>")
    if page.sheets:
        heads = [t["time"], t["recording"], t["agent"], t["reviewer"], t["total"],
                 *(crit_name(c) for c in page.criteria), t["comment"]]  # fmt: skip
        rows = [
            [when(s.recorded_at), f"#{s.recording_id}", s.agent, s.reviewer, _pct(s.total),
             *(str(s.scores.get(c.key, "–")) for c in page.criteria), s.comment]
            for s in page.sheets
        ]  # fmt: skip
        history = html_table("qa-history", heads, rows)
    else:
        history = f"<p>{e(t['pick_agent'] if page.agent_choice and not q.get('agent') else t['none'])}</p>"
    body.append(f"<section><h2>{e(t['history'])}</h2>{history}</section>")
    if page.calibration is not None:
        recordings, bias = page.calibration
        reviewers = sorted({r for row in recordings for r in row.totals})
        heads = [t["time"], t["recording"], t["agent"], *reviewers, t["spread"]]
        rows = [
            [when(r.recorded_at), f"#{r.recording_id}", r.agent,
             *(_pct(r.totals.get(name)) for name in reviewers), _pct(r.spread)]
            for r in recordings
        ]  # fmt: skip
        if rows:
            offsets = html_table(
                "qa-reviewers",
                [t["reviewer"], t["sheets"], t["offset"]],
                [[b.reviewer, str(b.sheets), f"{b.mean_offset:+.1f}"] for b in bias],
            )
            content = (
                html_table("qa-calibration", heads, rows) + f"<h2>{e(t['reviewers'])}</h2>{offsets}"
            )
        else:
            content = f"<p>{e(t['no_calibration'])}</p>"
        body.append(f"<section><h2>{e(t['calibration'])}</h2>{content}</section>")
    return "".join(body)
