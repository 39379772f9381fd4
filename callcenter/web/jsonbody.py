"""Reading JSON request bodies: everything wrong with one is a ``ValueError``.

``json.loads`` alone lets through what breaks a handler later: a body nested thousands of
levels deep (RecursionError), ``NaN``, ``Infinity`` and ``1e999`` (no time or count a
database should hold), and ``"\\ud800"`` (a lone surrogate, which no database or YAML
file can encode). Handlers read bodies with ``await request.json(loads=strict_json)``.
"""

from __future__ import annotations

import json
import math
from typing import Any


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:20]} is too large a number")
    return value


def _check_text(value: Any) -> None:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            item.encode("utf-8")  # UnicodeEncodeError (a ValueError) for a lone surrogate
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def strict_json(text: str) -> Any:
    try:
        value = json.loads(text, parse_constant=_no_constant, parse_float=_finite)
    except RecursionError:
        raise ValueError("the JSON is nested too deeply") from None
    try:
        _check_text(value)
    except UnicodeEncodeError:
        raise ValueError("the JSON holds text that is not Unicode (a lone surrogate)") from None
    return value
