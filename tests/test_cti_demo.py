"""The demo estate: its owners file imports cleanly and fits the zones of agents.yaml, the
simulator's callers come from its numbers (seeded), and those callers pop owner cards."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from aiohttp import web
from cti_fixtures import add_users, client_for, serving, sqlite_engine

from callcenter.cti.demo import DEMO_OWNERS_FILE, demo_owner_numbers, load_demo_owners
from callcenter.cti.feature import CtiFeature
from callcenter.cti.importer import parse_rows, read_table
from callcenter.routing.directory import load_directory
from callcenter.sim import TrafficParams
from callcenter.sim.traffic import TrafficModel
from callcenter.telephony.ami import AmiClient
from callcenter.telephony.ami_events import translate
from callcenter.testing import running_simulator

ROOT = Path(__file__).resolve().parent.parent
OWNERS = ROOT / DEMO_OWNERS_FILE
HOTLINES = ["4008001000", "4008002000", "4008003000"]


def test_the_demo_file_is_clean_and_fits_the_zones_and_housekeepers() -> None:
    header, rows = read_table(OWNERS)
    raw_phones = [row[header.index("电话")] for row in rows]
    parsed = parse_rows(*read_table(OWNERS))
    assert parsed.problems == []
    assert 200 <= len(parsed.records) <= 1000
    directory = load_directory(ROOT / "config" / "agents.yaml")
    for record in parsed.records:
        zone = directory.zones[record.zone]
        assert directory.agents[zone.housekeeper].name == record.housekeeper, record.code
        assert record.units and record.phones, record.code
        assert all(directory.zone_of_building(u.building) == zone for u in record.units)
    assert any(r.vip for r in parsed.records)
    assert any(r.arrears_cents for r in parsed.records)
    assert any(len(r.units) > 1 for r in parsed.records)
    # Varied spellings: +86 mobiles, 021 landlines with and without extensions.
    assert any(p.startswith("+86") for p in raw_phones)
    assert any("021" in p for p in raw_phones)
    assert any("转" in p for p in raw_phones)
    keys = demo_owner_numbers(OWNERS)
    assert any(k.startswith("021") for k in keys) and any(k.startswith("1") for k in keys)
    assert all(k.isdigit() for k in keys)


def test_the_cli_imports_the_file_without_a_bad_row(tmp_path: Path) -> None:
    config = tmp_path / "callcenter.yaml"
    config.write_text(f"database:\n  url: sqlite:///{tmp_path / 'cc.db'}\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "callcenter.cli", "--config", str(config), "owners", "import",
         str(OWNERS)],
        capture_output=True, text=True, cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "300 owner(s) created" in done.stdout


async def test_load_demo_owners_imports_once_and_feeds_the_lookup(tmp_path: Path) -> None:
    engine = sqlite_engine(tmp_path)
    cti = CtiFeature(engine)
    await cti.start()
    assert await load_demo_owners(cti, OWNERS) == 300
    assert await load_demo_owners(cti, OWNERS) == 0  # a second start imports nothing
    # The file writes YZ00005's landline as "021-60155640"; a trunk presents it as digits.
    (owner,) = cti.directory.find("02160155640")
    assert owner.code == "YZ00005" and owner.zone == "east" and owner.housekeeper == "曹琳"
    await cti.stop()
    engine.dispose()


def model(numbers: tuple[str, ...], *, seed: int = 3, unknown: float = 0.2) -> TrafficModel:
    return TrafficModel(
        TrafficParams(), HOTLINES, seed=seed, recorded_fraction=0.2, timezone="Asia/Shanghai",
        caller_numbers=numbers, unknown_caller_fraction=unknown,
    )  # fmt: skip


def test_callers_are_drawn_from_the_list_deterministically() -> None:
    numbers = demo_owner_numbers(OWNERS)
    plans = [model(numbers).plan(i, 0.0) for i in range(2000)]
    assert plans == [model(numbers).plan(i, 0.0) for i in range(2000)]
    assert [p.caller for p in plans] != [model(numbers, seed=4).plan(i, 0.0).caller for i in range(2000)]  # fmt: skip
    known = sum(1 for p in plans if p.caller in numbers)
    assert 0.75 < known / len(plans) < 0.85  # unknown_caller_fraction 0.2
    assert len({p.caller for p in plans if p.caller in numbers}) > len(numbers) // 2
    assert all(model(numbers, unknown=0.0).plan(i, 0.0).caller in numbers for i in range(500))
    # Everything but the caller is the plan the same seed gives without a list.
    bare = [model(()).plan(i, 0.0) for i in range(200)]
    assert [(p.hotline, p.patience, p.recorded) for p in bare] == [
        (p.hotline, p.patience, p.recorded) for p in plans[:200]
    ]


async def test_a_demo_owner_calling_pops_their_card(tmp_path: Path) -> None:
    engine = sqlite_engine(tmp_path)
    cti = CtiFeature(engine)
    add_users(cti.accounts)
    await cti.start()
    await load_demo_owners(cti, OWNERS)
    numbers = demo_owner_numbers(OWNERS)
    app = web.Application()
    cti.routes(app)
    rings: list[dict[str, Any]] = []

    def on_message(message: dict[str, str]) -> None:
        event = translate(message, "sim")
        if event is not None:
            cti.on_event(event)

    async with (
        running_simulator(
            tmp_path / "pbx", seed=5, speed=40, secret="s", caller_numbers=numbers,
            unknown_caller_fraction=0.0,
        ) as pbx,
        serving(app) as base,
        client_for(base, "alice") as alice,
    ):  # fmt: skip
        ami = AmiClient("127.0.0.1", pbx.ami_port, "callcenter", "s", on_event=on_message)
        await ami.start()

        async def listen() -> None:
            async with alice.http.ws_connect(f"{base}/ws/seat") as ws:
                async for message in ws:
                    frame = json.loads(message.data)
                    if frame.get("type") == "pop" and frame.get("state") == "ringing":
                        rings.append(frame)

        listener = asyncio.create_task(listen())
        try:
            pbx.start_traffic(30)
            deadline = time.monotonic() + 60
            while len(rings) < 2 and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
        finally:
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)
            await ami.close()
    await cti.stop()
    engine.dispose()

    assert len(rings) >= 2
    by_key = {p.key: r for r in parse_rows(*read_table(OWNERS)).records for p in r.phones}
    for frame in rings:
        assert frame["caller_number"] in numbers
        assert frame["known"] is True
        names = {o["name"] for o in frame["owners"]}
        assert by_key[frame["caller_number"]].name in names
        assert all(o["zone"] in ("east", "west") and o["housekeeper"] for o in frame["owners"])
