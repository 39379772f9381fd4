"""The reports page (pure rendering): answer rate and service level by interval, the
concurrency curve against the line capacity, the agent table and export links.

Charts are SVG drawn here on the server: the page needs no script and no outside host.
Every text comes from the catalogue (Chinese by default); every value is escaped.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from callcenter.core.i18n import Lang
from callcenter.metrics.i18n import t
from callcenter.metrics.kpis import Thresholds
from callcenter.metrics.report import Report, ReportRow
from callcenter.web.page_frame import FRAME_CSS
from callcenter.web.query_form import date_inputs, query_form, refused_end

__all__ = [
    "VIEWS",
    "ChartSize",
    "axes",
    "concurrency_svg",
    "level_line",
    "num",
    "pct",
    "rates_svg",
    "render_reports",
]

PREDICTED_COLOUR = "#8e44ad"


@dataclass(frozen=True)
class ChartSize:
    width: int = 900
    height: int = 240
    left: int = 44  # room for the y-axis labels
    bottom: int = 24  # room for the x-axis labels
    top: int = 10

    @property
    def plot_w(self) -> float:
        return self.width - self.left - 10

    @property
    def plot_h(self) -> float:
        return self.height - self.bottom - self.top

    def x(self, index: int, count: int) -> float:
        return self.left + (index + 0.5) * self.plot_w / max(1, count)

    def y(self, fraction: float) -> float:
        return self.top + (1.0 - fraction) * self.plot_h


def axes(size: ChartSize, labels: Sequence[str], ticks: Sequence[tuple[float, str]]) -> str:
    """The x axis with the first, middle and last labels; y grid lines at ``ticks``."""
    parts = [
        f'<line x1="{size.left}" y1="{size.y(0):.1f}" x2="{size.left + size.plot_w:.1f}" '
        f'y2="{size.y(0):.1f}" stroke="#999"/>'
    ]
    for fraction, label in ticks:
        y = size.y(fraction)
        parts.append(
            f'<line x1="{size.left}" y1="{y:.1f}" x2="{size.left + size.plot_w:.1f}" y2="{y:.1f}" '
            f'stroke="#eee"/><text x="{size.left - 4}" y="{y + 4:.1f}" text-anchor="end" '
            f'font-size="11">{html.escape(label)}</text>'
        )
    count = len(labels)
    for index in sorted({0, count // 2, count - 1}) if count else ():
        # the first label starts at its point and the last ends there, so neither is clipped
        anchor = "start" if index == 0 else "end" if index == count - 1 else "middle"
        parts.append(
            f'<text x="{size.x(index, count):.1f}" y="{size.height - 6}" text-anchor="{anchor}" '
            f'font-size="11">{html.escape(labels[index])}</text>'
        )
    return "".join(parts)


def _polylines(points: Sequence[tuple[float, float] | None], colour: str, name: str) -> str:
    """One polyline per run of known values: an interval without calls breaks the line."""
    runs: list[list[tuple[float, float]]] = [[]]
    for point in points:
        if point is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append(point)
    out = []
    for run in runs:
        if len(run) == 1:
            x, y = run[0]
            out.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{colour}" data-series="{name}"/>'
            )
        elif run:
            coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
            out.append(
                f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="2" '
                f'data-series="{name}"/>'
            )
    return "".join(out)


def level_line(size: ChartSize, fraction: float, colour: str, label: str, kind: str) -> str:
    y = size.y(fraction)
    return (
        f'<line x1="{size.left}" y1="{y:.1f}" x2="{size.left + size.plot_w:.1f}" y2="{y:.1f}" '
        f'stroke="{colour}" stroke-dasharray="6 4" data-line="{kind}"/>'
        f'<text x="{size.left + size.plot_w:.1f}" y="{y - 3:.1f}" text-anchor="end" '
        f'font-size="11" fill="{colour}">{html.escape(label)}</text>'
    )


def rates_svg(rows: Sequence[ReportRow], thresholds: Thresholds, lang: Lang,
              size: ChartSize = ChartSize(), predicted: Mapping[str, float] | None = None) -> str:  # fmt: skip
    """Answer rate and service level per interval (0-100 %) with both targets dashed, and
    the staffing plan's predicted answer rate when there is one."""
    count = len(rows)
    forecast = predicted or {}
    planned = [
        (size.x(i, count), size.y(forecast[row.key])) if row.key in forecast else None
        for i, row in enumerate(rows)
    ]

    def series(attr: str) -> list[tuple[float, float] | None]:
        points: list[tuple[float, float] | None] = []
        for index, row in enumerate(rows):
            value = getattr(row.tally, attr)
            points.append(None if value is None else (size.x(index, count), size.y(value)))
        return points

    ar_target, sl_target = thresholds.answer_rate_target, thresholds.service_level_target
    return (
        f'<svg role="img" data-chart="rates" '
        f'viewBox="0 0 {size.width} {size.height}" width="100%" '
        f'aria-label="{html.escape(t(lang, "by_interval"))}">'
        + axes(
            size, [row.key for row in rows], [(f, f"{f:.0%}") for f in (0.0, 0.25, 0.5, 0.75, 1.0)]
        )
        + level_line(
            size,
            ar_target,
            "#1f6feb",
            f"{t(lang, 'answer_rate')} {t(lang, 'target')} {ar_target:.0%}",
            "answer_rate_target",
        )
        + level_line(
            size,
            sl_target,
            "#2e8b57",
            f"{t(lang, 'service_level')} {t(lang, 'target')} {sl_target:.0%}",
            "service_level_target",
        )
        + _polylines(series("answer_rate"), "#1f6feb", "answer_rate")
        + _polylines(series("service_level"), "#2e8b57", "service_level")
        + _polylines(planned, PREDICTED_COLOUR, "predicted_answer_rate")
        + "</svg>"
    )


def concurrency_svg(rows: Sequence[ReportRow], thresholds: Thresholds, lang: Lang,
                    size: ChartSize = ChartSize()) -> str:  # fmt: skip
    """Peak concurrent lines per interval as bars, with the capacity and the high level."""
    capacity, high = thresholds.line_capacity, thresholds.high_lines
    peaks = [row.lines.peak if row.lines is not None else 0 for row in rows]
    top = max([capacity, *peaks]) * 1.1
    count = len(rows)
    bar_w = max(1.0, size.plot_w / max(1, count) * 0.8)
    bars = []
    for index, peak in enumerate(peaks):
        colour = "#e74c3c" if peak >= capacity else "#e6a23c" if peak >= high else "#5b8def"
        y = size.y(peak / top)
        bars.append(
            f'<rect x="{size.x(index, count) - bar_w / 2:.1f}" y="{y:.1f}" width="{bar_w:.1f}" '
            f'height="{size.y(0) - y:.1f}" fill="{colour}" data-peak="{peak}">'
            f"<title>{html.escape(rows[index].key)}: {peak}</title></rect>"
        )
    ticks = [(v / top, str(v)) for v in sorted({0, round(capacity / 2), capacity})]
    return (
        f'<svg role="img" data-chart="concurrency" '
        f'viewBox="0 0 {size.width} {size.height}" width="100%" '
        f'aria-label="{html.escape(t(lang, "concurrency"))}">'
        + axes(size, [row.key for row in rows], ticks)
        + "".join(bars)
        + level_line(
            size, capacity / top, "#e74c3c", f"{t(lang, 'capacity')} {capacity}", "capacity"
        )
        + level_line(size, high / top, "#e6a23c", f"{t(lang, 'high_level')} {high}", "high")
        + "</svg>"
    )


def pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def num(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f}"


def _table(rows: Sequence[ReportRow], total: ReportRow, lang: Lang, first: str,
           with_lines: bool, testid: str, predicted: Mapping[str, float] | None = None) -> str:  # fmt: skip
    heads = [
        first,
        "offered",
        "answered",
        "abandoned",
        "answer_rate",
        *(["predicted_answer_rate"] if predicted is not None else []),
        "service_level",
        "asa",
        "aht",
    ]
    if with_lines:
        heads.append("peak_lines")
    out = [f'<table data-testid="{testid}"><tr>']
    out += [f"<th>{html.escape(t(lang, h))}</th>" for h in heads]
    out.append("</tr>")
    for row in [*rows, total]:
        tally = row.tally
        key = t(lang, "total") if row is total else row.key
        cells = [key, str(tally.offered), str(tally.answered), str(tally.abandoned),
                 pct(tally.answer_rate)]  # fmt: skip
        if predicted is not None:
            cells.append(pct(predicted.get(row.key)))
        cells += [pct(tally.service_level), num(tally.asa_s), num(tally.aht_s)]
        if with_lines:
            cells.append(str(row.lines.peak) if row.lines is not None else "–")
        out.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
    out.append("</table>")
    return "".join(out)


_STYLE = """main{padding:12px;display:grid;gap:12px}
section{background:#fff;border-radius:8px;padding:12px;box-shadow:0 1px 3px #0002}
h2{font-size:16px;margin:0 0 8px} table{border-collapse:collapse;font-size:90%}
td,th{border-bottom:1px solid #eee;padding:2px 8px;text-align:right} td:first-child,th:first-child{text-align:left}
.legend span{margin-right:16px} .error{color:#b00020} .muted{color:#666;font-size:90%}
.scroll{max-height:360px;overflow:auto} main>section{min-width:0}
nav.views{display:flex;flex-wrap:wrap;gap:4px;margin-bottom:8px}
nav.views a{padding:4px 10px;border-radius:4px;background:#e8eef5;color:#1f3a5f;text-decoration:none}
nav.views a[aria-current]{background:#1f3a5f;color:#fff}"""


VIEWS = ("interval", "queue", "shift", "hotline", "agent", "month")


def _view_nav(lang: Lang, query: dict[str, str], current: str) -> str:
    """Tabs for the views, keeping the chosen range (the month view keeps its month)."""
    e = html.escape
    links = []
    for view in VIEWS:
        params = {**query, "view": view, "lang": lang}
        mark = ' aria-current="page"' if view == current else ""
        links.append(
            f'<a data-testid="view-{view}" href="/reports?{e(urlencode(params))}"{mark}>'
            f"{e(t(lang, f'view_{view}'))}</a>"
        )
    return f'<nav class="views" aria-label="{e(t(lang, "views"))}">{"".join(links)}</nav>'


def _export_links(lang: Lang, query: dict[str, str], view: str) -> str:
    e = html.escape
    if view == "agent":
        path, by, label = "/api/reports/agents", "", "export_agents"
    else:
        path = "/api/reports"
        by = {"interval": "interval", "month": "day"}.get(view, view)
        label = "export_intervals" if view == "interval" else "export_view"
    links = []
    for fmt in ("csv", "xlsx"):
        params = {k: v for k, v in query.items() if k in ("from", "to", "interval")}
        params.update({"format": fmt, "lang": lang, **({"by": by} if by else {})})
        links.append(
            f'<a data-testid="export-{view}-{fmt}" href="{path}?{e(urlencode(params))}">'
            f"{e(t(lang, 'export'))} {e(t(lang, label))} {fmt.upper()}</a>"
        )
    return f"<p>{' · '.join(links)}</p>"


def render_reports(lang: Lang, *, user_name: str, query: dict[str, str],
                   by_interval: Report | None, thresholds: Thresholds | None = None,
                   view_html: str = "", error: str = "",
                   predicted: Mapping[str, float] | None = None, nav: str = "") -> str:  # fmt: skip
    """The whole page; ``query`` holds the chosen view and from / to / interval (or month)
    for the form and the export links. The interval view draws ``by_interval``; any other
    view brings its sections in ``view_html``. Nothing to show when the query was refused
    (``error``). ``predicted``: the staffing plan's answer rate per interval label, shown
    beside the actual one (None: no plan). ``nav``: the site's navigation bar
    (``web.page_frame.nav_bar``), which has the language switch."""
    e = html.escape
    view = query.get("view", "interval")
    intervals = "".join(
        f'<option value="{m}"{" selected" if query.get("interval") == m else ""}>'
        f"{m} {e(t(lang, 'minutes'))}</option>"
        for m in ("15", "30", "60")
    )
    if view == "month":
        inputs = (
            f'<label>{e(t(lang, "month"))} <input type="month" name="month" '
            f'value="{e(query.get("month", ""))}"></label> '
        )
    else:
        inputs = date_inputs(query, t(lang, "from"), t(lang, "to"))
        if view == "interval":
            inputs += f'<label>{e(t(lang, "interval"))} <select name="interval">{intervals}</select></label> '
    body = [
        f'<!doctype html><html lang="{"en" if lang == "en" else "zh-CN"}"><head>'
        f'<meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(t(lang, 'app'))} · {e(t(lang, 'reports'))}</title>{FRAME_CSS}"
        f"<style>{_STYLE}</style></head><body>{nav}"
        f"<main><section>{_view_nav(lang, query, view)}"
        + query_form("/reports", lang, inputs, t(lang, "show"), {"view": view}),
    ]
    if error:
        return "".join([*body, refused_end(error)])
    th = by_interval.spec.thresholds if by_interval is not None else thresholds
    assert th is not None
    body.append(_export_links(lang, query, view))
    body.append(
        f'<p class="muted">{e(t(lang, "definitions"))}: '
        f"{e(t(lang, 'def_answer_rate', short=f'{th.short_abandon_s:g}', target=f'{th.answer_rate_target:.0%}'))}；"
        f"{e(t(lang, 'def_service_level', sl=f'{th.service_level_s:g}', target=f'{th.service_level_target:.0%}'))}；"
        f"{e(t(lang, 'def_lines', capacity=th.line_capacity, high=th.high_lines, fraction=f'{th.high_lines_fraction:.0%}'))}"
        "</p></section>"
    )
    if by_interval is None:
        body.append(f"{view_html}</main></body></html>")
        return "".join(body)
    rows = by_interval.rows
    if not by_interval.total.tally.offered and not any(r.lines and r.lines.peak for r in rows):
        body.append(f'<section><p data-testid="no-data">{e(t(lang, "no_data"))}</p></section>')
    body.append(
        f'<section><h2>{e(t(lang, "by_interval"))}</h2><p class="legend">'
        f'<span style="color:#1f6feb">— {e(t(lang, "answer_rate"))}</span>'
        f'<span style="color:#2e8b57">— {e(t(lang, "service_level"))}</span>'
        + (
            f'<span style="color:{PREDICTED_COLOUR}">— {e(t(lang, "predicted_answer_rate"))}</span>'
            if predicted is not None
            else ""
        )
        + f"</p>{rates_svg(rows, th, lang, predicted=predicted)}</section>"
        f"<section><h2>{e(t(lang, 'concurrency'))}</h2>{concurrency_svg(rows, th, lang)}</section>"
        f'<section><h2>{e(t(lang, "interval"))}</h2><div class="scroll">'
        f"{_table(rows, by_interval.total, lang, 'interval', True, 'intervals', predicted)}"
        "</div></section>"
        "</main></body></html>"
    )
    return "".join(body)
