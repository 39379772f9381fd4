"""Which call an action goes on, decided without sockets: the seats' memory of the calls
that popped there, and who may write on which call."""

from __future__ import annotations

from typing import Any

import pytest

from callcenter.cti.call_access import (
    CallRefused,
    StoredCall,
    check_work_order_caller,
    resolve_call,
)
from callcenter.cti.popper import PopState, PopUpdate
from callcenter.cti.seat_calls import SeatCallLog
from callcenter.web.security import User

ALICE = User(1, "alice", "agent", agent="Agent 1001", interface="PJSIP/1001")
BOB = User(2, "bob", "agent", agent="Agent 1002", interface="PJSIP/1002")
SUE = User(3, "sue", "supervisor")


def pop(call_id: str, seat: str, state: PopState, at: float, *owners: int) -> PopUpdate:
    card: dict[str, Any] = {
        "caller_number": "13812345678",
        "started_at": 1000.0,
        "owners": [{"id": o} for o in owners],
    }
    return PopUpdate(seat, "main", call_id, state, at, card)


def stored(call_id: str, agent: str = "", interface: str = "", *seats: str) -> StoredCall:
    return StoredCall("main", call_id, "13900001111", 900.0, agent, interface, frozenset(seats))


def test_the_log_keeps_every_seat_a_call_popped_on_and_whether_it_was_answered() -> None:
    log = SeatCallLog()
    log.note(pop("c1", "PJSIP/1001", "ringing", 1010.0, 7))
    log.note(pop("c1", "PJSIP/1002", "ringing", 1010.0, 7))
    log.note(pop("c1", "PJSIP/1001", "answered", 1015.0, 7))
    log.note(pop("c1", "PJSIP/1002", "missed", 1015.0, 7))
    log.note(pop("c1", "PJSIP/1001", "ended", 1090.0, 7))
    seen = log.at_seat("PJSIP/1001", "main", "c1")
    assert seen is not None
    assert (seen.state, seen.answered, seen.owner_ids, seen.started_at) == (
        "ended",
        True,
        (7,),
        1000.0,
    )
    missed = log.at_seat("PJSIP/1002", "main", "c1")
    assert missed is not None and not missed.answered
    assert log.at_seat("PJSIP/1003", "main", "c1") is None
    assert {c.interface for c in log.seats_of("main", "c1")} == {"PJSIP/1001", "PJSIP/1002"}


def test_the_log_forgets_calls_older_than_its_window_and_beyond_its_size() -> None:
    log = SeatCallLog(keep_s=3600.0, max_calls=3)
    log.note(pop("old", "PJSIP/1001", "ended", 1000.0))
    log.note(pop("kept", "PJSIP/1001", "ended", 2000.0))
    log.note(pop("new", "PJSIP/1001", "ringing", 4700.0))
    assert [c.call_id for c in log.seats_of("main", "old")] == []  # 3700 s older than the newest
    assert len(log) == 2
    for n in range(3):
        log.note(pop(f"more{n}", "PJSIP/1001", "ringing", 4800.0 + n))
    assert len(log) == 3 and log.seats_of("main", "kept") == []


def test_an_agent_writes_on_calls_that_popped_at_their_seat_or_that_they_took() -> None:
    log = SeatCallLog()
    log.note(pop("c1", "PJSIP/1001", "ended", 1090.0, 7))
    at_alice = log.seats_of("main", "c1")
    target = resolve_call(ALICE, "main", "c1", at_alice, None)
    assert (target.call_id, target.caller_number, target.owner_ids) == ("c1", "13812345678", {7})
    with pytest.raises(CallRefused) as refused:
        resolve_call(BOB, "main", "c1", at_alice, None)
    assert (
        refused.value.status == 403 and "did not ring at your seat (PJSIP/1002)" in refused.value.en
    )
    # stored records: the agent who took it, or a seat one of its legs rang
    assert (
        resolve_call(BOB, "main", "s1", [], stored("s1", "Agent 1002")).caller_number
        == "13900001111"
    )
    assert resolve_call(ALICE, "main", "s2", [], stored("s2", "", "", "PJSIP/1001")).call_id == "s2"
    with pytest.raises(CallRefused) as theirs:
        resolve_call(ALICE, "main", "s1", [], stored("s1", "Agent 1002", "PJSIP/1002"))
    assert theirs.value.status == 403
    # supervisors: any call that is known at all
    assert resolve_call(SUE, "main", "c1", at_alice, None).owner_ids == {7}
    with pytest.raises(CallRefused) as unknown:
        resolve_call(SUE, "main", "nope", [], None)
    assert unknown.value.status == 404 and unknown.value.en == "no call main/nope is known"
    with pytest.raises(CallRefused) as no_pbx:
        resolve_call(ALICE, "", "c1", [], None)
    assert no_pbx.value.status == 400


def test_a_work_orders_number_and_owner_must_be_its_calls() -> None:
    log = SeatCallLog()
    log.note(pop("c1", "PJSIP/1001", "answered", 1015.0, 7, 8))  # a shared number
    target = resolve_call(ALICE, "main", "c1", log.seats_of("main", "c1"), None)
    check_work_order_caller(target, "+86 138 1234 5678", 8, [])  # another spelling, a sharer
    check_work_order_caller(target, "", None, [])
    with pytest.raises(CallRefused, match="owner_id 9 is not an owner"):
        check_work_order_caller(target, "", 9, [])
    check_work_order_caller(target, "", 9, [9])  # the directory knows the number as 9's now
    with pytest.raises(CallRefused, match=r"caller_number \*\*\*0000 is not the caller"):
        check_work_order_caller(target, "13700000000", 7, [])
    log.note(pop("c2", "PJSIP/1001", "answered", 1015.0))  # an unknown number
    unknown = resolve_call(ALICE, "main", "c2", log.seats_of("main", "c2"), None)
    check_work_order_caller(unknown, "", 9, [])  # the caller said who they are
