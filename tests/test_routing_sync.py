"""Queue membership follows the roster: the pure plan, and the adapter against the
simulator over TCP as simulated time crosses shift edges, including a dropped AMI link."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

from routing_fixtures import ami_client, at, roster

from callcenter.core.events import Event, MembershipSynced, RosterDrift
from callcenter.routing.directory import Agent, Directory, Seat
from callcenter.routing.sync import (
    OFF_DUTY,
    Action,
    Membership,
    MembershipSync,
    ScaledClock,
    drift,
    plan,
)
from callcenter.sim import PbxSimulator
from callcenter.sim.config import Member, QueueConfig
from callcenter.telephony.ami import AmiClient, Fields, Message
from callcenter.testing import running_simulator

QUEUES = ["support", "repair"]


def m(queue: str, iface: str, **kw: Any) -> Membership:
    return Membership(queue, iface, kw.pop("name", iface), **kw)


def test_plan_changes_only_the_difference_and_a_repeat_plans_nothing() -> None:
    desired = [
        m("support", "PJSIP/1", penalty=0),
        m("repair", "PJSIP/1", penalty=1),
        m("support", "PJSIP/2"),
    ]
    current = [m("support", "PJSIP/1"), m("support", "PJSIP/3"), m("other", "PJSIP/9")]
    actions = plan(desired, current, QUEUES)
    assert [(a.kind, a.queue, a.interface) for a in actions] == [
        ("add", "repair", "PJSIP/1"),
        ("add", "support", "PJSIP/2"),
        ("remove", "support", "PJSIP/3"),
    ]
    assert actions[0].fields() == {
        "Action": "QueueAdd", "Queue": "repair", "Interface": "PJSIP/1",
        "MemberName": "PJSIP/1", "Penalty": "1",
    }  # fmt: skip
    assert plan(desired, desired, QUEUES) == []


def test_plan_pauses_for_breaks_and_leaves_an_agents_own_pause_alone() -> None:
    on_break = [m("support", "PJSIP/1", paused=True, reason="roster:lunch")]
    assert plan(on_break, [m("support", "PJSIP/1")], QUEUES) == [
        Action("pause", "support", "PJSIP/1", "PJSIP/1", reason="roster:lunch")
    ]
    back = [m("support", "PJSIP/1")]
    assert [a.kind for a in plan(back, on_break, QUEUES)] == ["unpause"]
    own = [m("support", "PJSIP/1", paused=True, reason="toilet")]
    assert plan(back, own, QUEUES) == []
    assert plan(on_break, own, QUEUES) == []  # already not taking calls
    assert [a.kind for a in plan([m("support", "PJSIP/1", penalty=3)], back, QUEUES)] == ["penalty"]


def test_static_members_are_paused_not_removed_and_drift_is_reported() -> None:
    static = {("support", "PJSIP/9")}
    current = [m("support", "PJSIP/9"), m("support", "PJSIP/1", status=5)]
    desired = [m("support", "PJSIP/1"), m("support", "PJSIP/2")]
    assert plan(desired, current, QUEUES, static)[-1] == Action(
        "pause", "support", "PJSIP/9", "PJSIP/9", reason=OFF_DUTY
    )
    report = drift(desired, current, QUEUES, static)
    assert report.unrostered == ("support PJSIP/9",)
    assert report.missing == ("support PJSIP/2",)
    assert report.unreachable == ("support PJSIP/1",)
    parked = [m("support", "PJSIP/9", paused=True, reason=OFF_DUTY), m("support", "PJSIP/1")]
    assert plan(desired[:1], parked, QUEUES, static) == []
    assert not drift(desired[:1], parked, QUEUES, static)


# --- against the simulator ----------------------------------------------------------------

ROSTER = """
rotations:
  - {name: days, team: hotline, anchor: 2026-11-01, pattern: [[day]], members: [ann]}
  - {name: nights, team: hotline, anchor: 2026-11-01, pattern: [[night]], members: [bob]}
  - {name: desk, team: frontdesk, anchor: 2026-11-01, pattern: [[desk_b]], members: [cat]}
"""


def directory() -> Directory:
    seats = {f"S{n}": Seat(f"S{n}", f"PJSIP/100{n}") for n in (1, 2, 3)}
    agents = {
        "ann": Agent("ann", "安", "S1", "hotline", {"support": 0, "repair": 1}),
        "bob": Agent("bob", "柏", "S2", "hotline", {"support": 0}),
        "cat": Agent("cat", "陈", "S3", "frontdesk", {"support": 2}),
    }
    return Directory(seats, agents, {})


def sim_config(start: str) -> dict[str, Any]:
    static = Member("PJSIP/1009", "Static 1009")  # from queues.conf: QueueRemove refuses it
    return {
        "queues": [QueueConfig("support", [static]), QueueConfig("repair", [])],
        "start_epoch": at(start),
        "speed": 20.0,
    }


def membership(sim: PbxSimulator) -> dict[str, dict[str, tuple[str, int, bool, str]]]:
    return {
        name: {i: (mm.name, mm.penalty, mm.paused, mm.paused_reason) for i, mm in q.members.items()}
        for name, q in sim.pbx.queues.items()
    }


async def wait_for(condition: Any, timeout: float = 60.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


async def test_membership_follows_the_roster_across_the_20_00_edge(tmp_path: Path) -> None:
    async with running_simulator(tmp_path, **sim_config("2026-12-01T19:59:30")) as sim:
        ami = await ami_client(sim)
        events: list[Event] = []
        sync = MembershipSync(
            ami, directory(), roster(ROSTER), ScaledClock(lambda: sim.now, sim.config.speed),
            pbx="sim", publish=events.append,
        )  # fmt: skip
        first = await sync.sync_now()
        assert first.complete
        assert membership(sim) == {
            "support": {
                "PJSIP/1009": ("Static 1009", 0, True, OFF_DUTY),
                "PJSIP/1001": ("ann", 0, False, ""),
                "PJSIP/1003": ("cat", 2, False, ""),
            },
            "repair": {"PJSIP/1001": ("ann", 1, False, "")},
        }
        again = await sync.sync_now()
        assert again.applied == [] and again.complete and not again.drift
        assert [type(e) for e in events] == [MembershipSynced, RosterDrift]  # the first only

        # A changed penalty is one QueuePenalty, not a remove and add.
        d = directory()
        ann = d.agents["ann"]
        sync.update(
            directory=d.replace(
                agents={
                    **d.agents,
                    "ann": type(ann)(**{**ann.__dict__, "queues": {"support": 3, "repair": 1}}),
                }
            )
        )
        changed = await sync.sync_now()
        assert [a.kind for a in changed.applied] == ["penalty"], changed
        assert sim.pbx.queues["support"].members["PJSIP/1001"].penalty == 3

        task = asyncio.create_task(sync.run())
        try:
            night = {
                "support": {
                    "PJSIP/1009": ("Static 1009", 0, True, OFF_DUTY),
                    "PJSIP/1003": ("cat", 2, False, ""),
                    "PJSIP/1002": ("bob", 0, False, ""),
                },
                "repair": {},
            }
            # The edge's actions go one by one: wait for the last of them, not the first.
            await wait_for(lambda: membership(sim) == night)
            assert sim.now >= at("2026-12-01T20:00")
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await ami.close()


class DropsTheLink:
    """The real client, but the simulator cuts every AMI link after ``after`` actions."""

    def __init__(self, ami: AmiClient, sim: PbxSimulator, after: int) -> None:
        self.ami, self.sim, self.left = ami, sim, after

    async def send_action(self, fields: Fields, timeout: float | None = None) -> Message:
        if self.left == 0:
            self.sim.drop_ami_connections(0.3)
            await asyncio.sleep(0.05)
        self.left -= 1
        return await self.ami.send_action(fields, timeout)

    async def send_list_action(self, fields: Fields, timeout: float | None = None) -> list[Message]:
        return await self.ami.send_list_action(fields, timeout)


async def test_an_interrupted_sync_is_finished_by_the_next_without_doubling(tmp_path: Path) -> None:
    async with running_simulator(tmp_path, **sim_config("2026-12-01T16:00")) as sim:
        added: Counter[tuple[str, str]] = Counter()

        def count(ev: dict[str, str]) -> None:
            if ev.get("Event") == "QueueMemberAdded":
                added[(ev["Queue"], ev["Interface"])] += 1

        sim.add_listener(count)
        ami = await ami_client(sim)
        link = DropsTheLink(ami, sim, after=1)
        sync = MembershipSync(link, directory(), roster(ROSTER), ScaledClock(lambda: sim.now, 20.0))
        try:
            cut = await sync.sync_now()
            assert not cut.complete and len(cut.applied) == 1 and cut.failed
            await wait_for(lambda: ami.connected)
            done = await sync.sync_now()
            assert done.complete
            final = await sync.sync_now()
            assert final.applied == [] and final.complete
        finally:
            await ami.close()
        assert set(membership(sim)["support"]) == {"PJSIP/1009", "PJSIP/1001", "PJSIP/1003"}
        assert set(membership(sim)["repair"]) == {"PJSIP/1001"}
        assert set(added.values()) == {1}
        assert sync.next_wake(at("2026-12-01T16:00"), complete=False) == at("2026-12-01T16:00") + 5
        assert sync.next_wake(at("2026-12-01T16:00"), complete=True) == at("2026-12-01T16:05")
