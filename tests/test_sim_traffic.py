"""The pure traffic model and the virtual clock, without sockets."""

from __future__ import annotations

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

from callcenter.sim import TrafficParams
from callcenter.sim.clock import Scheduler
from callcenter.sim.traffic import TrafficModel

TZ = ZoneInfo("Asia/Shanghai")
MIDNIGHT = datetime(2026, 11, 27, tzinfo=TZ).timestamp()
HOTLINES = ["4008001000", "4008002000", "4008003000"]


def model(seed: int = 1, **params: object) -> TrafficModel:
    p = TrafficParams()
    for key, value in params.items():
        setattr(p, key, value)
    return TrafficModel(p, HOTLINES, seed=seed, recorded_fraction=0.2, timezone="Asia/Shanghai")


def arrivals(m: TrafficModel, start: float, end: float) -> list[float]:
    out: list[float] = []
    t = start
    while True:
        t = m.next_arrival(t)
        if t >= end:
            return out
        out.append(t)


def test_arrivals_follow_the_hour_of_day_curve() -> None:
    curve = tuple(1.0 if 9 <= h < 18 else 0.1 for h in range(24))
    times = arrivals(model(peak_calls_per_hour=600.0, hourly_curve=curve), MIDNIGHT,
                     MIDNIGHT + 7 * 86400)  # fmt: skip
    hours = [datetime.fromtimestamp(t, TZ).hour for t in times]
    day = sum(1 for h in hours if 9 <= h < 18) / (9 * 7)
    night = sum(1 for h in hours if not 9 <= h < 18) / (15 * 7)
    assert 540 < day < 660  # about 600 calls per daytime hour
    assert 40 < night < 80  # about 60 per night hour


def test_same_seed_same_calls_and_plans_do_not_depend_on_order() -> None:
    a, b = model(seed=9), model(seed=9)
    assert arrivals(a, MIDNIGHT, MIDNIGHT + 86400) == arrivals(b, MIDNIGHT, MIDNIGHT + 86400)
    assert model(seed=9).plan(5, 1.0) == model(seed=9).plan(5, 1.0)
    assert model(seed=9).plan(5, 1.0) != model(seed=10).plan(5, 1.0)
    m = model(seed=9)
    later_first = m.plan(7, 2.0)
    assert m.plan(3, 1.0) == model(seed=9).plan(3, 1.0) and later_first == m.plan(7, 2.0)


def test_plans_cover_the_behaviours_the_service_must_handle() -> None:
    m = model(seed=4, ivr_hangup_prob=0.1)
    plans = [m.plan(i, MIDNIGHT) for i in range(2000)]
    assert {p.hotline for p in plans} == set(HOTLINES)
    assert {p.menu_digit for p in plans} == {"1", "2", "3", ""}
    assert 0.05 < sum(p.ivr_hangup for p in plans) / len(plans) < 0.15
    assert 0.15 < sum(p.recorded for p in plans) / len(plans) < 0.25
    assert sum(p.patience < 5 for p in plans) > 20  # short abandons happen
    assert all(len(p.caller) == 11 and p.caller.startswith("1") for p in plans)


async def test_scheduler_runs_in_virtual_time_order_and_speed() -> None:
    sched = Scheduler(start_epoch=1000.0, speed=100.0)
    seen: list[tuple[str, float]] = []
    sched.at(1003.0, lambda: seen.append(("c", sched.now)))
    sched.at(1001.0, lambda: seen.append(("a", sched.now)))
    sched.at(1001.0, lambda: seen.append(("b", sched.now)))
    loop = asyncio.get_running_loop()
    started = loop.time()
    sched.start()
    await sched.sleep(5.0)
    elapsed = loop.time() - started
    assert seen == [("a", 1001.0), ("b", 1001.0), ("c", 1003.0)]
    assert 0.04 <= elapsed < 0.5  # 5 virtual seconds at 100x
    sched.stop()


def test_daytime_start_is_nine_local() -> None:
    from callcenter.sim import daytime_start

    start = daytime_start("Asia/Shanghai", 9, now=MIDNIGHT + 3 * 3600)
    assert datetime.fromtimestamp(start, TZ).hour == 9
    assert MIDNIGHT <= start < MIDNIGHT + 86400
