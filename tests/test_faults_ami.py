"""The AMI link cut again and again mid-traffic (the headless demo's ``--cuts``): some cuts
last long enough for whole calls to begin and end unseen. Every call ends up stored
exactly once, matching the simulator's queue_log and CDR and its own account of it.

The default run cuts 5 times in 400 calls through the whole service (FastAGI menu, roster
driven queues); ``-m slow`` cuts 20 times in 10,000 calls, with the simulator's own menu
and static agents as well as through the whole service."""

from __future__ import annotations

from pathlib import Path

import pytest
from service_fixtures import headless_settings

from callcenter.config import Settings
from callcenter.demo import DemoOptions, headless


def settings_for(tmp_path: Path, *, calls_per_hour: float, agents: int) -> Settings:
    return headless_settings(
        tmp_path, calls_per_hour=calls_per_hour, agents=agents, secret="fault-secret"
    )


def assert_exact(summary: dict[str, object], calls: int, cuts: int) -> None:
    assert summary["ami_cuts"] == cuts
    assert summary["generated"] == calls, summary
    assert summary["recorded"] == calls, summary
    assert summary["lost"] == 0, summary
    assert summary["duplicated"] == 0, summary
    assert summary["missing"] == 0, summary
    assert summary["unexpected"] == 0, summary
    assert summary["mismatches"] == 0, summary
    assert summary["truth_mismatches"] == 0, summary
    # Calls began and ended while the link was down: only recovery can know them.
    assert isinstance(summary["recovered"], int) and summary["recovered"] > 0


async def test_link_cut_5_times_in_400_calls(tmp_path: Path) -> None:
    summary = await headless(
        settings_for(tmp_path, calls_per_hour=1500, agents=20),
        DemoOptions(headless=True, calls=400, seed=17, speed=300, cuts=5, timeout_s=120),
    )
    assert_exact(summary, 400, 5)


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("plain", [True, False], ids=["static-agents", "whole-service"])
async def test_link_cut_20_times_in_10000_calls(tmp_path: Path, plain: bool) -> None:
    summary = await headless(
        settings_for(tmp_path, calls_per_hour=3000, agents=60),
        DemoOptions(
            headless=True, calls=10_000, seed=23, speed=200, cuts=20, plain=plain,
            lines=200, timeout_s=500,
        ),
    )  # fmt: skip
    assert_exact(summary, 10_000, 20)
    assert summary["answered"] > 500
