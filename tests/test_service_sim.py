"""The service against the PBX simulator over real TCP: every call recorded, exactly once,
matching the simulator's queue_log, CDR and its own account of each call."""

import asyncio
import time
from pathlib import Path

import pytest
from service_fixtures import headless_settings, service_settings

from callcenter.config import Settings
from callcenter.demo import DemoOptions, headless


def demo_settings(tmp_path: Path) -> Settings:
    return headless_settings(tmp_path, calls_per_hour=400, agents=20)


async def test_every_generated_call_is_recorded_once_and_matches(tmp_path: Path) -> None:
    summary = await headless(
        demo_settings(tmp_path), DemoOptions(headless=True, calls=80, seed=11, speed=400)
    )
    assert summary["generated"] == 80
    assert summary["recorded"] == 80
    assert summary["mismatches"] == 0
    assert summary["missing"] == 0
    assert summary["unexpected"] == 0
    assert summary["truth_mismatches"] == 0
    assert summary["answered"] > 0
    assert summary["abandoned"] > 0
    assert summary["recovered"] == 0  # the link never dropped
    # the day was rostered to the staffing plan, whose forecast sits beside the actual
    assert summary["predicted_answer_rate"] >= 0.9
    assert 0.0 < summary["answer_rate"] <= 1.0 and 0.0 < summary["service_level"] <= 1.0


async def test_an_understaffed_day_loses_callers_as_its_plan_predicts(tmp_path: Path) -> None:
    summary = await headless(
        demo_settings(tmp_path),
        DemoOptions(headless=True, calls=120, seed=11, speed=400, scenario="understaffed"),
    )
    assert summary["recorded"] == 120 and summary["mismatches"] == 0
    assert summary["predicted_answer_rate"] < 0.8  # half the planned hotline agents
    assert summary["answer_rate"] < 0.85


async def test_link_cut_five_times_loses_and_doubles_nothing(tmp_path: Path) -> None:
    summary = await headless(
        demo_settings(tmp_path), DemoOptions(headless=True, calls=120, seed=5, speed=300, cuts=5)
    )
    assert summary["generated"] == 120
    assert summary["recorded"] == 120
    assert summary["mismatches"] == 0
    assert summary["missing"] == 0
    assert summary["unexpected"] == 0
    assert summary["truth_mismatches"] == 0
    # Some calls began and ended while the link was down: only recovery can know them.
    assert summary["recovered"] > 0


@pytest.mark.parametrize("seed", [1, 2])
async def test_same_seed_same_outcomes(tmp_path: Path, seed: int) -> None:
    first = await headless(
        demo_settings(tmp_path / "a"),
        DemoOptions(headless=True, calls=40, seed=seed, speed=500, plain=True),
    )
    second = await headless(
        demo_settings(tmp_path / "b"),
        DemoOptions(headless=True, calls=40, seed=seed, speed=500, plain=True),
    )
    keys = ("generated", "recorded", "answered", "abandoned", "ivr_only", "voicemail", "blocked")
    assert {k: first[k] for k in keys} == {k: second[k] for k in keys}


async def test_a_failing_listener_costs_nothing_to_the_others(tmp_path: Path) -> None:
    from callcenter.service import Service
    from callcenter.testing import running_simulator

    async with running_simulator(tmp_path / "pbx", seed=4, speed=500, secret="s") as pbx:
        settings = service_settings(tmp_path, pbx)
        # The simulator's own static members answer; the roster manages no queue here.
        service = Service(settings, web_enabled=False, managed_queues=set())
        seen: list[str] = []
        finished: list[str] = []

        def broken(_event: object) -> None:
            raise RuntimeError("listener bug")

        service.event_listeners += [broken, lambda event: seen.append(event.kind)]
        service.record_listeners += [broken, lambda record: finished.append(record.call_id)]
        await service.start()
        try:
            await pbx.run(6)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if len(finished) >= 6:
                    break
                await asyncio.sleep(0.02)
        finally:
            await service.settle()
            await service.stop()
    assert "queue_joined" in seen
    assert sorted(finished) == sorted(o.call_id for o in pbx.finished)
    assert service.store.count_calls() == 6
