"""A plain HTML table of text cells (every cell escaped), marked for tests and scripts
with ``data-testid``."""

from __future__ import annotations

import html
from collections.abc import Sequence

__all__ = ["html_table"]


def html_table(testid: str, heads: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    e = html.escape
    out = [f'<table data-testid="{e(testid)}"><tr>', *(f"<th>{e(h)}</th>" for h in heads), "</tr>"]
    for cells in rows:
        out.append("<tr>" + "".join(f"<td>{e(c)}</td>" for c in cells) + "</tr>")
    return "".join([*out, "</table>"])
