"""Spreadsheet cells that cannot turn into formulas (pure).

A report's group column carries names people typed (agents, queues); opened in a
spreadsheet, a text cell starting with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage
return, which some programs skip before one) would run as a formula: it can fetch URLs or
start programs. Such text gets a leading ``'``, as OWASP's CSV-injection guidance says;
numbers stay numbers.
"""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """``value`` as a cell: text that a spreadsheet would evaluate, quoted; anything else
    (numbers, None) as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
