"""Callbacks (回电) and satisfaction follow-ups (回访) as plain data and rules (pure: the
clock is passed in).

A callback is a promise to ring an owner back by ``due_at``, for a ``reason``; it is
scheduled from a call's workspace or from a work order. Each attempt's result is kept:

    reached        -> done (a 回访 needs the owner's 1-5 score)
    no_answer      -> due again ``retry_delay_s`` later, or ``failed`` after ``max_attempts``
    wrong_number   -> failed (nobody will answer that number for this owner)
    retry          -> due again at the time the owner asked for (``retry_at``)

Dialling the owner names the call placed (``dialled``); the result recorded next goes on
that call too. ``standing`` tells the due list how a callback stands against its due time.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal, cast, get_args

from callcenter.cti.refusal import Refusal

Kind = Literal["callback", "satisfaction"]
State = Literal["due", "done", "failed", "cancelled"]
Result = Literal["reached", "no_answer", "wrong_number", "retry"]
Standing = Literal["upcoming", "due", "overdue", "closed"]
KINDS: tuple[str, ...] = get_args(Kind)
RESULTS: tuple[str, ...] = get_args(Result)
REASON_MAX = 500


class CallbackError(Refusal):
    """The callback or its result does not fit; ``en`` and ``zh`` say why."""


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 3
    retry_delay_s: float = 1800.0
    overdue_after_s: float = 900.0


@dataclass(frozen=True)
class Callback:
    id: int
    kind: Kind
    state: State
    number: str  # the number to ring, as the caller presented it
    due_at: float
    assignee: str  # the login who rings back
    created_by: str
    created_at: float
    updated_at: float
    reason: str = ""
    owner_id: int | None = None
    pbx: str = ""  # the call it was promised on, if any
    call_id: str = ""
    work_order_id: int | None = None
    attempts: int = 0
    last_result: str = ""
    score: int | None = None
    dial_pbx: str = ""  # the call last placed to the owner, until its result is recorded
    dial_call_id: str = ""

    def to_dict(self, now: float, policy: RetryPolicy) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["standing"] = standing(self, now, policy)
        return data


@dataclass(frozen=True)
class Attempt:
    at: float
    actor: str
    result: Result
    note: str = ""
    retry_at: float | None = None
    score: int | None = None
    pbx: str = ""  # the call the attempt was made on ("" when none was placed from the seat)
    call_id: str = ""


def new_callback(
    *,
    kind: str,
    number: str,
    due_at: float,
    reason: str,
    assignee: str,
    actor: str,
    now: float,
    owner_id: int | None = None,
    pbx: str = "",
    call_id: str = "",
    work_order_id: int | None = None,
) -> Callback:
    """A callback to schedule, or ``CallbackError``: it needs a number, a reason (what the
    owner is waiting for) and a due time not in the past; a 回访 belongs to a work order."""
    if kind not in KINDS:
        raise CallbackError(f"kind must be one of {', '.join(KINDS)}", "类型只能是回电或回访")
    if not number.strip():
        raise CallbackError("a callback needs a number to ring", "回电需要号码")
    reason = " ".join(reason.split())[:REASON_MAX]
    if not reason:
        raise CallbackError("say why the owner is called back", "请填写回电原因")
    if due_at < now - 60:  # a minute's slack for the page's clock
        raise CallbackError("the due time is in the past", "回电时间已过")
    if kind == "satisfaction" and work_order_id is None:
        raise CallbackError("a satisfaction follow-up belongs to a work order", "回访必须关联工单")
    return Callback(
        id=0, kind=cast(Kind, kind), state="due", number=number, due_at=due_at, assignee=assignee,
        created_by=actor, created_at=now, updated_at=now, reason=reason, owner_id=owner_id,
        pbx=pbx, call_id=call_id, work_order_id=work_order_id,
    )  # fmt: skip


def record_result(
    callback: Callback,
    result: str,
    *,
    actor: str,
    now: float,
    policy: RetryPolicy,
    retry_at: float | None = None,
    score: int | None = None,
    note: str = "",
) -> tuple[Callback, Attempt]:
    """The callback after one attempt's ``result``, and the attempt to keep."""
    if callback.state != "due":
        raise CallbackError(
            f"this callback is {callback.state}: nothing more to record", "此回电已结束，无需再记录"
        )
    if result not in RESULTS:
        raise CallbackError(f"result must be one of {', '.join(RESULTS)}", "结果无效")
    attempts = callback.attempts + 1
    changes: dict[str, Any] = {
        "attempts": attempts, "last_result": result, "updated_at": now,
        "dial_pbx": "", "dial_call_id": "",  # the next result needs a call of its own
    }  # fmt: skip
    if result == "reached":
        if callback.kind == "satisfaction" and (score is None or not 1 <= score <= 5):
            raise CallbackError(
                "a follow-up records the owner's score, 1 to 5", "回访需记录 1-5 分满意度"
            )
        changes["state"] = "done"
        changes["score"] = score if callback.kind == "satisfaction" else None
    elif result == "wrong_number":
        changes["state"] = "failed"
    elif result == "retry":
        if retry_at is None or retry_at <= now:
            raise CallbackError("retry needs a time in the future", "再次回电需要一个将来的时间")
        changes["due_at"] = retry_at
    elif attempts >= policy.max_attempts:  # no answer, and that was the last try
        changes["state"] = "failed"
    else:
        changes["due_at"] = now + policy.retry_delay_s
    attempt = Attempt(
        now, actor, cast(Result, result), note, changes.get("due_at"), changes.get("score"),
        callback.dial_pbx, callback.dial_call_id,
    )  # fmt: skip
    return dataclasses.replace(callback, **changes), attempt


def dialled(callback: Callback, pbx: str, call_id: str, now: float) -> Callback:
    """The callback once a call to the owner is placed: its result goes on that call."""
    if callback.state != "due":
        raise CallbackError(f"this callback is {callback.state}: nothing to dial", "此回电已结束")
    return dataclasses.replace(callback, dial_pbx=pbx, dial_call_id=call_id, updated_at=now)


def cancel(callback: Callback, now: float) -> Callback:
    if callback.state != "due":
        raise CallbackError(f"this callback is {callback.state} already", "此回电已结束")
    return dataclasses.replace(callback, state="cancelled", updated_at=now)


def standing(callback: Callback, now: float, policy: RetryPolicy) -> Standing:
    """``overdue`` once the due time is ``overdue_after_s`` behind, ``due`` from the due
    time on, ``upcoming`` before it; ``closed`` when nothing is left to do."""
    if callback.state != "due":
        return "closed"
    if now > callback.due_at + policy.overdue_after_s:
        return "overdue"
    return "due" if now >= callback.due_at else "upcoming"


def due_list(
    callbacks: list[Callback], now: float, policy: RetryPolicy, ahead_s: float
) -> list[Callback]:
    """Open callbacks falling due within ``ahead_s``: the most overdue first."""
    wanted = [c for c in callbacks if c.state == "due" and c.due_at <= now + ahead_s]
    return sorted(wanted, key=lambda c: (c.due_at, c.id))
