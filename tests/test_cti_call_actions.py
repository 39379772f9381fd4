"""A wrap-up or a work order is stored on the call its form names, over real HTTP: not on a
newer call that popped since, and never on a call the agent has no right to (refused with
a 4xx naming the problem, in English and Chinese, and nothing stored)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from cti_fixtures import Client, add_users, client_for, serving, sqlite_engine
from sqlalchemy import select
from store_fixtures import make_record
from test_cti_http import HEADER, OWNER_ROWS, ring

from callcenter.calls.store import CallStore
from callcenter.core.events import AgentAnswered, ChannelHungUp, Event
from callcenter.cti.feature import CtiFeature
from callcenter.cti.importer import parse_rows
from callcenter.cti.store import dispositions_table

ZHANG = "13812345678"  # owner 1, 张三
CALL_A = "1800000100.1"  # 张三 calls alice
CALL_B = "1800000200.1"  # then an unknown number, also at alice's seat
CALL_BOB = "1800000300.1"  # a call at bob's seat
STORED_BOB = "1795000000.1"  # a finished call bob took, stored before this process started
STORED_MISSED = "1795000100.1"  # rang alice's phone, the caller gave up: stored, not popped


@dataclass
class Desk:
    cti: CtiFeature
    alice: Client
    bob: Client
    sue: Client

    def dispositions(self) -> list[tuple[str, str, str, str]]:
        d = dispositions_table.c
        query = select(d.call_id, d.user_login, d.disposition, d.note).order_by(d.call_id)
        with self.cti.records.engine.connect() as connection:
            return [tuple(row) for row in connection.execute(query)]  # type: ignore[misc]


def answered_then_ended(call_id: str, seat: str, at: float) -> list[Event]:
    return [
        AgentAnswered(pbx="main", call_id=call_id, at=at, queue="repair", interface=seat),
        ChannelHungUp(pbx="main", call_id=call_id, channel_id=call_id, at=at + 60,
                      channel="PJSIP/trunk-00000001"),
    ]  # fmt: skip


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[Desk]:
    engine = sqlite_engine(tmp_path)
    cti = CtiFeature(engine)
    add_users(cti.accounts)
    await cti.directory.import_owners(parse_rows(HEADER, OWNER_ROWS).records)
    CallStore(engine).upsert_calls(
        [
            make_record(STORED_BOB, pbx="main", agent="Agent 1002", agent_interface="PJSIP/1002",
                        legs=1),
            make_record(STORED_MISSED, pbx="main", outcome="abandoned", agent="",
                        agent_interface="", legs=2),  # its second leg rang PJSIP/1001
        ]
    )  # fmt: skip
    await cti.start()
    # 张三 calls alice, talks and hangs up; then an unknown number rings alice; bob has a call.
    events = [
        *ring(CALL_A, ZHANG, "PJSIP/1001", at=1_800_000_100.0),
        *answered_then_ended(CALL_A, "PJSIP/1001", at=1_800_000_115.0),
        *ring(CALL_B, "13700000000", "PJSIP/1001", at=1_800_000_200.0),
        *ring(CALL_BOB, "13900001111", "PJSIP/1002", at=1_800_000_300.0),
    ]
    for event in events:
        cti.on_event(event)
    app = web.Application()
    cti.routes(app)
    async with (
        serving(app) as base,
        client_for(base, "alice") as alice,
        client_for(base, "bob") as bob,
        client_for(base, "sue") as sue,
    ):
        yield Desk(cti, alice, bob, sue)
    await cti.stop()
    engine.dispose()


def _order(call_id: str, **extra: Any) -> dict[str, Any]:
    return {"kind": "repair", "description": "厨房水管漏水", "pbx": "main", "call_id": call_id,
            **extra}  # fmt: skip


async def test_the_wrap_up_and_work_order_land_on_the_call_named_not_the_newest(
    desk: Desk,
) -> None:
    status, saved = await desk.alice.post_json(
        "/api/seat/disposition",
        {"pbx": "main", "call_id": CALL_A, "disposition": "callback", "note": "明早回电"},
    )
    assert status == 200 and saved == {
        "saved": True, "pbx": "main", "call_id": CALL_A, "disposition": "callback"
    }  # fmt: skip
    status, order = await desk.alice.post_json(
        "/api/workorders", _order(CALL_A, owner_id=1, caller_number=ZHANG)
    )
    assert status == 201 and isinstance(order, dict), order
    assert (order["call_id"], order["owner_id"], order["caller_number"]) == (CALL_A, 1, ZHANG)
    assert desk.dispositions() == [(CALL_A, "alice", "callback", "明早回电")]
    _, listing = await desk.alice.get_json("/api/workorders")
    assert isinstance(listing, dict)
    assert [(o["call_id"], o["owner_id"]) for o in listing["work_orders"]] == [(CALL_A, 1)]
    # The number is the call's own, whatever the form wrote (+86 is the same number).
    status, again = await desk.alice.post_json(
        "/api/workorders", _order(CALL_A, owner_id=1, caller_number="+86 138 1234 5678")
    )
    assert status == 201 and isinstance(again, dict) and again["caller_number"] == ZHANG


async def test_an_unknown_caller_may_name_any_owner_and_the_number_comes_from_the_call(
    desk: Desk,
) -> None:
    status, order = await desk.alice.post_json("/api/workorders", _order(CALL_B, owner_id=2))
    assert status == 201 and isinstance(order, dict), order
    assert (order["call_id"], order["owner_id"], order["caller_number"]) == (
        CALL_B, 2, "13700000000"
    )  # fmt: skip


async def test_a_call_found_only_in_the_stored_records_is_checked_against_them(
    desk: Desk,
) -> None:
    status, _ = await desk.bob.post_json(
        "/api/seat/disposition", {"pbx": "main", "call_id": STORED_BOB, "disposition": "resolved"}
    )
    assert status == 200  # bob took it
    status, _ = await desk.alice.post_json(
        "/api/seat/disposition", {"pbx": "main", "call_id": STORED_MISSED, "disposition": "other"}
    )
    assert status == 200  # it rang her phone
    assert desk.dispositions() == [(STORED_BOB, "bob", "resolved", ""),
                                   (STORED_MISSED, "alice", "other", "")]  # fmt: skip


async def test_a_call_in_progress_across_a_restart_is_known_from_the_tracker(
    desk: Desk,
) -> None:
    # The service restarted mid-call: no pop of it here, no stored record, but the tracker
    # rebuilt it from Asterisk's channels; alice's phone is one of its legs.
    talking = make_record("1800000400.1", pbx="main", outcome="in_progress", ended_at=None,
                          agent="", agent_interface="", legs=2)  # fmt: skip
    desk.cti.deps.open_call = lambda pbx, call_id: (
        talking if (pbx, call_id) == ("main", talking.call_id) else None
    )
    body = {"pbx": "main", "call_id": talking.call_id, "disposition": "callback"}
    status, _ = await desk.alice.post_json("/api/seat/disposition", body)
    assert status == 200
    status, answer = await desk.bob.post_json("/api/seat/disposition", body)
    assert status == 403 and isinstance(answer, dict) and "did not ring" in answer["error"]["en"]
    assert desk.dispositions() == [(talking.call_id, "alice", "callback", "")]


@pytest.mark.parametrize(
    ("call_id", "status", "message", "message_zh"),
    [
        (CALL_BOB, 403, f"call main/{CALL_BOB} did not ring at your seat (PJSIP/1001)",
         f"来电 main/{CALL_BOB} 没有在您的坐席（PJSIP/1001）振铃"),
        (STORED_BOB, 403, f"call main/{STORED_BOB} did not ring at your seat (PJSIP/1001)",
         "不是您的来电"),
        ("1800009999.9", 404, "no call main/1800009999.9 is known", "找不到来电 main/1800009999.9"),
    ],
)  # fmt: skip
async def test_a_call_the_agent_has_no_right_to_is_refused_and_nothing_stored(
    desk: Desk, call_id: str, status: int, message: str, message_zh: str
) -> None:
    for path, body in [
        ("/api/seat/disposition", {"pbx": "main", "call_id": call_id, "disposition": "callback"}),
        ("/api/workorders", _order(call_id)),
    ]:
        got, answer = await desk.alice.post_json(path, body)
        assert got == status and isinstance(answer, dict), (path, got, answer)
        assert answer["error"]["en"].startswith(message), answer
        assert message_zh in answer["error"]["zh"], answer
    assert desk.dispositions() == []
    _, orders = await desk.sue.get_json("/api/workorders")
    assert orders == {"work_orders": []}


async def test_supervisors_may_write_on_any_known_call(desk: Desk) -> None:
    status, _ = await desk.sue.post_json(
        "/api/seat/disposition", {"pbx": "main", "call_id": CALL_BOB, "disposition": "other"}
    )
    assert status == 200
    status, order = await desk.sue.post_json("/api/workorders", _order(STORED_BOB))
    assert status == 201 and isinstance(order, dict) and order["call_id"] == STORED_BOB
    status, _ = await desk.sue.post_json("/api/workorders", _order("1800009999.9"))
    assert status == 404


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (_order(CALL_A, owner_id=2), f"owner_id 2 is not an owner of the number that made call main/{CALL_A}"),
        (_order(CALL_A, caller_number="13700000000"), f"caller_number ***0000 is not the caller of call main/{CALL_A} (***5678)"),
        ({"kind": "repair", "call_id": CALL_A}, "pbx: needed with call_id"),
        ({"kind": "repair", "pbx": "main"}, "pbx: given without call_id"),
    ],
)  # fmt: skip
async def test_a_work_order_whose_caller_or_owner_is_not_the_calls_is_refused(
    desk: Desk, body: dict[str, Any], message: str
) -> None:
    status, answer = await desk.alice.post_json("/api/workorders", body)
    assert status == 400 and isinstance(answer, dict) and answer["error"]["en"] == message, answer
    _, orders = await desk.sue.get_json("/api/workorders")
    assert orders == {"work_orders": []}


async def test_a_seat_that_only_rang_has_no_say_on_the_call_another_agent_took(
    desk: Desk,
) -> None:
    """A queue that rings several seats: alice answers; bob's phone only rang."""
    shared, stored_shared = "1800000400.1", "1795000200.1"
    ringing_bob = ring(shared, "13900002222", "PJSIP/1002", at=1_800_000_400.0)[-1]
    for event in (
        *ring(shared, "13900002222", "PJSIP/1001", at=1_800_000_400.0),
        ringing_bob,
        *answered_then_ended(shared, "PJSIP/1001", at=1_800_000_415.0),
    ):
        desk.cti.on_event(event)
    # stored: alice (Agent 1001) took it; its legs rang PJSIP/1001 and PJSIP/1002
    CallStore(desk.cti.records.engine).upsert_calls(
        [make_record(stored_shared, pbx="main", legs=3)]
    )
    for call_id in (shared, stored_shared):
        body = {"pbx": "main", "call_id": call_id, "disposition": "resolved"}
        status, answer = await desk.bob.post_json("/api/seat/disposition", body)
        assert status == 403 and isinstance(answer, dict), (call_id, status, answer)
        status, _ = await desk.bob.post_json("/api/workorders", _order(call_id))
        assert status == 403
        status, _ = await desk.alice.post_json("/api/seat/disposition", body)
        assert status == 200
    assert [(c, who) for c, who, _, _ in desk.dispositions()] == [
        (stored_shared, "alice"),
        (shared, "alice"),
    ]


async def test_a_call_wrapped_up_twice_and_corrected_is_one_row_with_the_latest(
    desk: Desk,
) -> None:
    today = "1795000300.1"
    CallStore(desk.cti.records.engine).upsert_calls(
        [make_record(today, pbx="main", started_at=time.time() - 60)]
    )
    for client, disposition in ((desk.alice, "resolved"), (desk.alice, "callback"),
                                (desk.sue, "other")):  # fmt: skip
        body = {"pbx": "main", "call_id": today, "disposition": disposition}
        status, _ = await client.post_json("/api/seat/disposition", body)
        assert status == 200
    assert [(who, what) for c, who, what, _ in desk.dispositions() if c == today] == [
        ("alice", "callback"),  # her second wrap-up replaced her first
        ("sue", "other"),
    ]
    status, listing = await desk.alice.get_json("/api/seat/calls/today")
    assert status == 200 and isinstance(listing, dict)
    rows = [c for c in listing["calls"] if c["call_id"] == today]
    assert [r["disposition"] for r in rows] == ["other"]  # one row: the latest word
