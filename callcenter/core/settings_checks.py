"""The bounds settings checks ask of numbers, each worded one way: a ``check()`` names
the fields that must be positive, not negative or at least 1, and gets back
``{field: problem}`` for those out of bounds, in the order named."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def positive(settings: object, *names: str) -> dict[str, str]:
    return _out_of_bounds(settings, names, lambda value: value <= 0, "must be positive")


def not_negative(settings: object, *names: str) -> dict[str, str]:
    return _out_of_bounds(settings, names, lambda value: value < 0, "must not be negative")


def at_least_one(settings: object, *names: str) -> dict[str, str]:
    return _out_of_bounds(settings, names, lambda value: value < 1, "must be at least 1")


def _out_of_bounds(
    settings: object, names: tuple[str, ...], wrong: Callable[[Any], bool], problem: str
) -> dict[str, str]:
    values = {name: getattr(settings, name) for name in names}
    return {name: f"{problem}, got {value}" for name, value in values.items() if wrong(value)}
