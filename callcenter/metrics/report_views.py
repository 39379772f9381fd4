"""The reports page's views besides the interval view (pure rendering): by queue, shift and
hotline number (answer rate per group against its target, and the table), per agent (the
figures that mean something for one agent, and the calls nobody answered by queue) and
the month (answer rate per day against its target).

Charts are SVG drawn on the server, like the interval view's; every value is escaped.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from callcenter.core.i18n import Lang
from callcenter.metrics.agent_figures import AgentFigures
from callcenter.metrics.i18n import t
from callcenter.metrics.kpis import Thresholds
from callcenter.metrics.report import NO_VALUE, Report, ReportRow, ReportSpec
from callcenter.metrics.reports_page import ChartSize, axes, level_line, num, pct
from callcenter.web.html_table import html_table

__all__ = ["agent_view", "bars_svg", "group_view", "month_view"]

_OK, _LOW, _NONE, _NEUTRAL = "#2e8b57", "#e74c3c", "#bbb", "#5b8def"
_SIZE = ChartSize()
EVERY_LABEL_UP_TO = 12


def bars_svg(labels: Sequence[str], values: Sequence[float | None], target: float | None, *,
             chart: str, title: str, target_label: str, size: ChartSize = _SIZE) -> str:  # fmt: skip
    """One bar per label (0-100 %), green at or above ``target``, red below, grey without
    a value; the target dashed across. Without a target (occupancy: neither end is
    good) the bars are blue and no line is drawn."""
    count = len(labels)
    bar_w = max(1.0, size.plot_w / max(1, count) * 0.7)
    bars = []
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        fraction = value or 0.0
        if value is None:
            colour = _NONE
        elif target is None:
            colour = _NEUTRAL
        else:
            colour = _OK if value >= target else _LOW
        y = size.y(fraction)
        bars.append(
            f'<rect x="{size.x(index, count) - bar_w / 2:.1f}" y="{y:.1f}" width="{bar_w:.1f}" '
            f'height="{size.y(0) - y:.1f}" fill="{colour}" data-key="{html.escape(label)}" '
            f'data-value="{"" if value is None else f"{value:.4f}"}">'
            f"<title>{html.escape(label)}: {html.escape(pct(value))}</title></rect>"
        )
    few = count <= EVERY_LABEL_UP_TO  # a few groups: each bar named; many: first, middle, last
    names = (
        f'<text x="{size.x(index, count):.1f}" y="{size.height - 6}" text-anchor="middle" '
        f'font-size="11">{html.escape(label)}</text>'
        for index, label in enumerate(labels)
    )
    return (
        f'<svg role="img" data-chart="{chart}" viewBox="0 0 {size.width} {size.height}" '
        f'width="100%" aria-label="{html.escape(title)}">'
        + axes(size, [] if few else labels, [(f, f"{f:.0%}") for f in (0.0, 0.25, 0.5, 0.75, 1.0)])
        + ("".join(names) if few else "")
        + "".join(bars)
        + (
            level_line(size, target, "#1f6feb", target_label, "answer_rate_target")
            if target is not None
            else ""
        )
        + "</svg>"
    )


def _group_cells(row: ReportRow, key: str) -> list[str]:
    tally = row.tally
    return [key, str(tally.offered), str(tally.answered), str(tally.abandoned),
            str(tally.short_abandons), str(tally.voicemail), pct(tally.answer_rate),
            pct(tally.service_level), num(tally.asa_s), num(tally.aht_s),
            num(tally.longest_wait_s), str(tally.ivr_only), str(tally.blocked)]  # fmt: skip


_GROUP_HEADS = ("offered", "answered", "abandoned", "short_abandons", "voicemail",
                "answer_rate", "service_level", "asa", "aht", "longest_wait_s", "ivr_only",
                "blocked")  # fmt: skip


def _group_key(lang: Lang, by: str, key: str, queue_names: Mapping[str, str]) -> str:
    """A group's name; calls without a queue (IVR only, blocked) or a known number get a
    name saying so; a queue its name (报修, not repair)."""
    if key == NO_VALUE and by in ("queue", "hotline"):
        return t(lang, f"none_{by}")
    return queue_names.get(key, key) if by == "queue" else key


def _group_table(
    lang: Lang, report: Report, first: str, testid: str, queue_names: Mapping[str, str]
) -> str:
    rows = [_group_cells(row, _group_key(lang, first, row.key, queue_names)) for row in report.rows]
    rows.append(_group_cells(report.total, t(lang, "total")))
    return html_table(testid, [t(lang, first), *(t(lang, h) for h in _GROUP_HEADS)], rows)


def _target_label(lang: Lang, thresholds: Thresholds) -> str:
    return f"{t(lang, 'answer_rate')} {t(lang, 'target')} {thresholds.answer_rate_target:.0%}"


def group_view(lang: Lang, report: Report, queue_names: Mapping[str, str] | None = None) -> str:
    """By queue, shift or hotline number: answer rate per group as bars, then the table;
    ``queue_names``: queue code -> its name in ``lang``."""
    names = queue_names or {}
    by = report.spec.by
    th = report.spec.thresholds
    rows = report.rows
    title = t(lang, f"view_{by}")
    chart = bars_svg([_group_key(lang, by, r.key, names) for r in rows],
                     [r.tally.answer_rate for r in rows],
                     th.answer_rate_target, chart=f"by-{by}", title=title,
                     target_label=_target_label(lang, th))  # fmt: skip
    return (
        f"<section><h2>{html.escape(title)}</h2>{chart}</section>"
        f'<section><div class="scroll">{_group_table(lang, report, by, f"by-{by}", names)}</div></section>'
    )


def _agent_cells(row: AgentFigures) -> list[str]:
    qa = "–" if row.qa is None else f"{row.qa.mean:.1f} ({row.qa.sheets})"
    return [row.agent, str(row.rung), str(row.answered), str(row.ring_no_answer),
            num(row.aht_s), pct(row.occupancy), _duration(row.paused_s), qa]  # fmt: skip


def agent_view(
    lang: Lang,
    figures: Sequence[AgentFigures],
    by_queue: Report,
    queue_names: Mapping[str, str] | None = None,
) -> str:
    """Per agent: rung, answered, ring-no-answer, AHT, occupancy, pause time, QA average;
    bars of occupancy; and the calls nobody answered, by queue (they are no agent's),
    each queue by its name (``queue_names``: code -> name in ``lang``)."""
    title = t(lang, "view_agent")
    chart = bars_svg([f.agent for f in figures], [f.occupancy for f in figures], None,
                     chart="occupancy", title=t(lang, "occupancy"), target_label="")  # fmt: skip
    heads = [t(lang, h) for h in ("agent", "rung", "answered", "ring_no_answer", "aht",
                                  "occupancy", "paused", "qa_mean")]  # fmt: skip
    queues = [
        [_group_key(lang, "queue", row.key, queue_names or {}), str(row.tally.offered),
         str(row.tally.offered - row.tally.answered),
         str(row.tally.short_abandons), str(row.tally.voicemail), pct(row.tally.answer_rate)]
        for row in by_queue.rows
        if row.tally.offered  # calls that never queued were never anyone's to answer
    ]  # fmt: skip
    total = by_queue.total.tally
    queues.append([t(lang, "total"), str(total.offered), str(total.offered - total.answered),
                   str(total.short_abandons), str(total.voicemail), pct(total.answer_rate)])  # fmt: skip
    queue_heads = [t(lang, h) for h in ("queue", "offered", "unanswered", "short_abandons",
                                        "voicemail", "answer_rate")]  # fmt: skip
    body = (
        html_table("agents", heads, [_agent_cells(f) for f in figures])
        if figures
        else f'<p data-testid="no-agents">{html.escape(t(lang, "no_agent_activity"))}</p>'
    )
    return (
        f'<section><h2>{html.escape(title)}</h2><div class="scroll">{body}</div>'
        f'<p class="muted">{html.escape(t(lang, "def_agents"))}</p></section>'
        f"<section><h2>{html.escape(t(lang, 'occupancy'))}</h2>{chart}</section>"
        f"<section><h2>{html.escape(t(lang, 'unanswered_by_queue'))}</h2>"
        f"{html_table('unanswered-by-queue', queue_heads, queues)}</section>"
    )


def month_view(lang: Lang, by_day: Report) -> str:
    """Answer rate per day of the month against its target: bars and a table that says
    for each day whether the target was met. Every day of the range has its line; a day
    without calls has no rate."""
    th = by_day.spec.thresholds
    found = {row.key: row for row in by_day.rows}
    rows = [found.get(day) or ReportRow(day) for day in _days(by_day.spec)]
    title = t(lang, "view_month")
    chart = bars_svg([r.key for r in rows], [r.tally.answer_rate for r in rows],
                     th.answer_rate_target, chart="month", title=title,
                     target_label=_target_label(lang, th))  # fmt: skip
    met = t(lang, "met")
    missed = t(lang, "missed")
    cells = []
    for row in [*rows, by_day.total]:
        rate = row.tally.answer_rate
        verdict = "–" if rate is None else met if rate >= th.answer_rate_target else missed
        key = t(lang, "total") if row is by_day.total else row.key
        cells.append([key, str(row.tally.offered), str(row.tally.answered),
                      str(row.tally.abandoned), pct(rate), verdict])  # fmt: skip
    heads = [t(lang, h) for h in ("day", "offered", "answered", "abandoned", "answer_rate")]
    heads.append(_target_label(lang, th))
    rates = [r.tally.answer_rate for r in rows if r.tally.answer_rate is not None]
    days_met = sum(1 for rate in rates if rate >= th.answer_rate_target)
    summary = t(lang, "days_met", met=days_met, days=len(rates))
    return (
        f'<section><h2>{html.escape(title)}</h2><p data-testid="days-met">{html.escape(summary)}'
        f"</p>{chart}</section>"
        f'<section><div class="scroll">{html_table("month", heads, cells)}</div></section>'
    )


def _days(spec: ReportSpec) -> list[str]:
    """Each local day in [since, until), as the day report keys them."""
    day = datetime.fromtimestamp(spec.since, spec.tz).date()
    last = datetime.fromtimestamp(spec.until - 1, spec.tz).date()
    days = []
    while day <= last:
        days.append(day.isoformat())
        day += timedelta(days=1)
    return days


def _duration(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
