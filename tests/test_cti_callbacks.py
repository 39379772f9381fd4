"""Callbacks (回电, 回访) as rules: scheduling, each result, the retry policy, and how a
callback stands against its due time (pure; the clock is passed in)."""

from __future__ import annotations

import dataclasses

import pytest

from callcenter.cti.callbacks import (
    Callback,
    CallbackError,
    RetryPolicy,
    cancel,
    dialled,
    due_list,
    new_callback,
    record_result,
    standing,
)

NOW = 1_800_000_000.0
POLICY = RetryPolicy(max_attempts=3, retry_delay_s=1800.0, overdue_after_s=900.0)


def callback(kind: str = "callback", due_at: float = NOW + 3600, **more: object) -> Callback:
    made = new_callback(
        kind=kind, number="13812345678", due_at=due_at, reason="  漏水   跟进 ", assignee="alice",
        actor="alice", now=NOW, owner_id=1, work_order_id=7 if kind == "satisfaction" else None,
    )  # fmt: skip
    return dataclasses.replace(made, id=1, **more)  # type: ignore[arg-type]


def test_a_new_callback_is_due_with_its_reason_in_one_line() -> None:
    made = callback()
    assert (made.state, made.reason, made.attempts, made.assignee) == (
        "due",
        "漏水 跟进",
        0,
        "alice",
    )


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"reason": "  "}, "say why"),
        ({"due_at": NOW - 3600}, "in the past"),
        ({"number": ""}, "number"),
        ({"kind": "satisfaction"}, "belongs to a work order"),
        ({"kind": "visit"}, "kind must be"),
    ],
)
def test_a_callback_without_what_it_needs_is_refused(changes: dict[str, object], why: str) -> None:
    fields: dict[str, object] = {
        "kind": "callback", "number": "13812345678", "due_at": NOW + 60, "reason": "x",
        "assignee": "alice", "actor": "alice", "now": NOW,
    }  # fmt: skip
    with pytest.raises(CallbackError, match=why) as refused:
        new_callback(**{**fields, **changes})  # type: ignore[arg-type]
    assert refused.value.zh


def test_no_answer_comes_back_after_the_delay_until_the_last_attempt_fails_it() -> None:
    cb = callback()
    cb, first = record_result(cb, "no_answer", actor="alice", now=NOW, policy=POLICY)
    assert (cb.state, cb.attempts, cb.due_at, first.retry_at) == ("due", 1, NOW + 1800, NOW + 1800)
    cb, _ = record_result(cb, "no_answer", actor="alice", now=NOW + 1800, policy=POLICY)
    assert (cb.state, cb.due_at) == ("due", NOW + 3600)
    cb, last = record_result(cb, "no_answer", actor="alice", now=NOW + 3600, policy=POLICY)
    assert (cb.state, cb.attempts, cb.last_result, last.retry_at) == (
        "failed",
        3,
        "no_answer",
        None,
    )
    with pytest.raises(CallbackError, match="failed"):
        record_result(cb, "reached", actor="alice", now=NOW + 3700, policy=POLICY)


def test_a_result_goes_on_the_call_placed_for_it_and_only_that_once() -> None:
    placed = dialled(callback(), "main", "cb1-x", NOW)
    cb, attempt = record_result(placed, "no_answer", actor="alice", now=NOW, policy=POLICY)
    assert (attempt.pbx, attempt.call_id) == ("main", "cb1-x")
    assert (cb.dial_pbx, cb.dial_call_id) == ("", "")
    _, again = record_result(cb, "retry", actor="alice", now=NOW, policy=POLICY, retry_at=NOW + 9)
    assert again.call_id == ""  # nothing dialled since
    with pytest.raises(CallbackError):
        dialled(cancel(cb, NOW), "main", "cb1-y", NOW)


def test_retry_at_the_owners_time_and_wrong_number_and_reached() -> None:
    cb, attempt = record_result(
        callback(), "retry", actor="alice", now=NOW, policy=POLICY, retry_at=NOW + 7200
    )
    assert (cb.state, cb.due_at, attempt.retry_at) == ("due", NOW + 7200, NOW + 7200)
    with pytest.raises(CallbackError, match="future"):
        record_result(callback(), "retry", actor="alice", now=NOW, policy=POLICY, retry_at=NOW)
    wrong, _ = record_result(callback(), "wrong_number", actor="alice", now=NOW, policy=POLICY)
    assert wrong.state == "failed"
    done, _ = record_result(callback(), "reached", actor="alice", now=NOW, policy=POLICY, score=2)
    assert (done.state, done.score) == ("done", None)  # a plain callback keeps no score


def test_a_follow_up_is_reached_only_with_a_score_from_1_to_5() -> None:
    for score in (None, 0, 6):
        with pytest.raises(CallbackError, match="1 to 5"):
            record_result(
                callback("satisfaction"), "reached", actor="a", now=NOW, policy=POLICY, score=score
            )
    done, attempt = record_result(
        callback("satisfaction"), "reached", actor="a", now=NOW, policy=POLICY, score=5
    )
    assert (done.state, done.score, attempt.score) == ("done", 5, 5)


def test_standing_against_the_due_time_and_the_due_list() -> None:
    cb = callback(due_at=NOW)
    assert standing(cb, NOW - 1, POLICY) == "upcoming"
    assert standing(cb, NOW, POLICY) == "due"
    assert standing(cb, NOW + 900, POLICY) == "due"
    assert standing(cb, NOW + 901, POLICY) == "overdue"
    assert standing(cancel(cb, NOW), NOW + 5000, POLICY) == "closed"
    later = dataclasses.replace(cb, id=2, due_at=NOW + 7200)
    early = dataclasses.replace(cb, id=3, due_at=NOW - 7200)
    closed = dataclasses.replace(cb, id=4, state="done")
    listed = due_list([later, cb, closed, early], NOW, POLICY, ahead_s=3600)
    assert [c.id for c in listed] == [3, 1]
    assert cb.to_dict(NOW + 901, POLICY)["standing"] == "overdue"
