"""The service stopped and started again mid-traffic, gracefully and as if killed (its
memory and unwritten records gone), with each CDR source an install really has and with
callers on a trunk or through Local channels: every call recorded exactly once, as
queue_log and the CDR say, no agent's leg made a call, and the report equal to queue_log."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from service_fixtures import headless_settings
from store_fixtures import pg_url, postgres_schema

from callcenter.demo import DemoOptions, headless

SOURCES = ["default", "newcdrcolumns", "linkedid", "table"]
TOPOLOGIES = ["trunk", "local"]


@contextlib.contextmanager
def cdr_database(source: str) -> Iterator[str]:
    """A PostgreSQL schema for the CDR table when the source is one, else no URL."""
    if source != "table":
        yield ""
        return
    with postgres_schema() as schema:
        yield pg_url(schema)


def assert_exact(summary: dict[str, Any], calls: int) -> None:
    exact = {
        "generated": calls, "recorded": calls, "lost": 0, "duplicated": 0, "phantoms": 0,
        "mismatches": 0, "missing": 0, "unexpected": 0, "truth_mismatches": 0,
        "report_equal": True, "still_open": 0,
    }  # fmt: skip
    assert {key: summary[key] for key in exact} == exact, summary


@pytest.mark.parametrize("topology", TOPOLOGIES)
@pytest.mark.parametrize("source", SOURCES)
async def test_restarts_lose_double_and_misfile_nothing(
    tmp_path: Path, source: str, topology: str
) -> None:
    calls = 90
    with cdr_database(source) as cdr_db_url:
        options = DemoOptions(
            headless=True, calls=calls, seed=3, speed=300, restarts=2, topology=topology,
            cdr_layout="linkedid" if source == "table" else source, cdr_db_url=cdr_db_url,
        )  # fmt: skip
        settings = headless_settings(tmp_path, calls_per_hour=900, agents=20)
        summary = await headless(settings, options)
    assert_exact(summary, calls)
    assert summary["restarts"] == {"graceful": 1, "killed": 1}
    # Calls began and ended while no service ran: only the durable records knew them.
    assert summary["recovered"] > 0


@pytest.mark.slow
@pytest.mark.parametrize("topology", TOPOLOGIES)
@pytest.mark.parametrize("source", SOURCES)
async def test_the_demo_day_with_three_restarts(tmp_path: Path, source: str, topology: str) -> None:
    """``callcenter demo --headless --calls 300 --seed 7 --speed 100 --restarts 3`` in every
    topology and CDR source, with link cuts on top."""
    with cdr_database(source) as cdr_db_url:
        options = DemoOptions(
            headless=True, calls=300, seed=7, speed=100, restarts=3, cuts=2, topology=topology,
            cdr_layout="linkedid" if source == "table" else source, cdr_db_url=cdr_db_url,
        )  # fmt: skip
        summary = await headless(headless_settings(tmp_path, agents=20), options)
    assert_exact(summary, 300)
    assert summary["restarts"] == {"graceful": 2, "killed": 1}
