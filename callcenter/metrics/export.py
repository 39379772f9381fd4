"""Reports as a text table, CSV, JSON and XLSX, with column names in Chinese or English.
CSV and XLSX cells never start a formula (``cell_safety``)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any, Literal

from callcenter.core.i18n import Lang
from callcenter.metrics.agent_figures import AgentFigures
from callcenter.metrics.cell_safety import neutralise
from callcenter.metrics.report import Report

__all__ = [
    "AGENT_COLUMNS",
    "COLUMNS",
    "agents_to_csv",
    "agents_to_xlsx",
    "render",
    "to_csv",
    "to_json",
    "to_table",
    "to_xlsx",
]

Format = Literal["table", "csv", "json"]

COLUMNS: dict[str, tuple[str, str]] = {
    "key": ("分组", "group"),
    "offered": ("进线", "offered"),
    "answered": ("接通", "answered"),
    "abandoned": ("放弃", "abandoned"),
    "short_abandons": ("短时放弃", "short abandons"),
    "voicemail": ("转留言", "voicemail"),
    "answer_rate": ("接通率", "answer rate"),
    "service_level": ("服务水平", "service level"),
    "asa_s": ("平均应答(秒)", "ASA (s)"),
    "aht_s": ("平均处理(秒)", "AHT (s)"),
    "longest_wait_s": ("最长等待(秒)", "longest wait (s)"),
    "ivr_only": ("仅语音导航", "IVR only"),
    "blocked": ("线路满被拒", "blocked"),
    "peak_lines": ("线路峰值", "peak lines"),
    "seconds_high": ("高占用秒数", "seconds high"),
    "seconds_full": ("满线秒数", "seconds full"),
}


# The columns both reports have keep one name (COLUMNS').
AGENT_COLUMNS: dict[str, tuple[str, str]] = {
    "agent": ("坐席", "agent"),
    "rung": ("分配振铃", "offered (rung)"),
    "answered": COLUMNS["answered"],
    "ring_no_answer": ("振铃未接", "ring no answer"),
    "aht_s": COLUMNS["aht_s"],
    "occupancy": ("占用率", "occupancy"),
    "paused_s": ("小休(秒)", "pause time (s)"),
    "signed_in_s": ("签入(秒)", "signed in (s)"),
    "qa_mean": ("质检均分", "QA average"),
    "qa_sheets": ("质检份数", "QA sheets"),
}


def _agent_cells(figures: Sequence[AgentFigures], lang: Lang) -> list[list[Any]]:
    titles = [zh if lang == "zh" else en for zh, en in AGENT_COLUMNS.values()]
    rows = [[neutralise(f.as_dict()[name]) for name in AGENT_COLUMNS] for f in figures]
    return [titles, *rows]


def agents_to_csv(figures: Sequence[AgentFigures], lang: Lang = "en") -> str:
    """Per-agent figures, a header line in the chosen language; empty cells for no value."""
    out = io.StringIO()
    writer = csv.writer(out)
    for cells in _agent_cells(figures, lang):
        writer.writerow(["" if c is None else c for c in cells])
    return out.getvalue()


def agents_to_xlsx(figures: Sequence[AgentFigures], lang: Lang = "zh") -> bytes:
    from openpyxl import Workbook  # type: ignore[import-untyped]

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "agents"
    for cells in _agent_cells(figures, lang):
        sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _columns(report: Report) -> list[str]:
    present = set(report.total.as_dict())
    return [name for name in COLUMNS if name in present]


def _title(name: str, lang: Lang) -> str:
    zh, en = COLUMNS[name]
    return zh if lang == "zh" else en


def _rows(report: Report) -> list[dict[str, Any]]:
    return [row.as_dict() for row in [*report.rows, report.total]]


def csv_file(text: str) -> bytes:
    """CSV text as a file: UTF-8 with a byte-order mark, so spreadsheet programs read the
    Chinese headers."""
    return ("\ufeff" + text).encode("utf-8")


def to_json(report: Report) -> str:
    return json.dumps(report.as_dict(), ensure_ascii=False, indent=2)


def to_csv(report: Report, lang: Lang = "en") -> str:
    """Rows then the total; a header line in the chosen language; thresholds at the end."""
    names = _columns(report)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_title(n, lang) for n in names])
    for row in _rows(report):
        writer.writerow(["" if row.get(n) is None else neutralise(row.get(n)) for n in names])
    thresholds = report.as_dict()["definitions"]["thresholds"]
    writer.writerow([])
    writer.writerow(["# " + ", ".join(f"{k}={v}" for k, v in thresholds.items())])
    return out.getvalue()


def to_table(report: Report, lang: Lang = "zh") -> str:
    names = _columns(report)
    cells = [[_title(n, lang) for n in names]]
    for row in _rows(report):
        cells.append([_cell(row.get(n), n) for n in names])
    widths = [max(_width(r[i]) for r in cells) for i in range(len(names))]
    lines = ["  ".join(_pad(text, widths[i], i) for i, text in enumerate(r)) for r in cells]
    th = report.as_dict()["definitions"]["thresholds"]
    note = (
        f"接通率 = 接通 / (进线 - 短时放弃)；服务水平 {th['service_level_s']:g} 秒；"
        f"短时放弃 < {th['short_abandon_s']:g} 秒；线路容量 {th['line_capacity']}"
        if lang == "zh"
        else f"answer rate = answered / (offered - short abandons); service level "
        f"{th['service_level_s']:g} s; short abandon < {th['short_abandon_s']:g} s; "
        f"line capacity {th['line_capacity']}"
    )
    return "\n".join([*lines, "", note])


def to_xlsx(report: Report, lang: Lang = "zh") -> bytes:
    from openpyxl import Workbook

    names = _columns(report)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "report"
    sheet.append([_title(n, lang) for n in names])
    for row in _rows(report):
        sheet.append([neutralise(row.get(n)) for n in names])
    notes = book.create_sheet("definitions")
    body = report.as_dict()["definitions"]
    for key, value in body["thresholds"].items():
        notes.append([neutralise(key), neutralise(value)])
    notes.append([])
    for key, text in body[lang].items():
        notes.append([neutralise(key), neutralise(text)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def render(report: Report, fmt: Format, lang: Lang = "zh") -> str:
    if fmt == "json":
        return to_json(report)
    if fmt == "csv":
        return to_csv(report, lang)
    return to_table(report, lang)


def _cell(value: Any, name: str) -> str:
    if value is None:
        return "-"
    if name in ("answer_rate", "service_level"):
        return f"{value * 100:.1f}%"
    return str(value)


def _width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)  # CJK takes two columns


def _pad(text: str, width: int, index: int) -> str:
    gap = " " * (width - _width(text))
    return text + gap if index == 0 else gap + text


def table_lines(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain aligned table (used by the staffing commands)."""
    cells = [list(headers), *[list(r) for r in rows]]
    widths = [max(_width(r[i]) for r in cells) for i in range(len(headers))]
    return "\n".join("  ".join(_pad(t, widths[i], i) for i, t in enumerate(r)) for r in cells)
