"""Shared settings for the property tests: a quick run in every ``make test`` and a long
one behind ``@pytest.mark.slow``."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

QUICK_EXAMPLES = 300
LONG_EXAMPLES = 3000
# The suite draws the same cases every run, so a red CI run is a real regression and
# repeats; CALLCENTER_FUZZ_EXPLORE=1 draws new ones (what a fuzzing session is for).
EXPLORE = os.environ.get("CALLCENTER_FUZZ_EXPLORE") == "1"

_HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]


def quick_and_long(
    prop: Callable[..., None], quick: int = QUICK_EXAMPLES, **strategies: st.SearchStrategy[Any]
) -> tuple[Callable[..., None], Callable[..., None]]:
    """Two tests of one property: ``quick`` examples, and many more marked slow."""
    fast = settings(
        max_examples=quick, deadline=None, suppress_health_check=_HEALTH, derandomize=not EXPLORE
    )(given(**strategies)(prop))
    long = settings(
        max_examples=max(LONG_EXAMPLES, quick * 10),
        deadline=None,
        suppress_health_check=_HEALTH,
        derandomize=not EXPLORE,
    )(given(**strategies)(prop))
    return fast, pytest.mark.slow(long)
