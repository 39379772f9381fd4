"""Work orders (派单) as a pure state machine, with their timers against due times.

    new -> dispatched -> in_progress -> done -> callback_scheduled -> satisfaction_recorded
        -> closed                      (the owner was satisfied)
        -> reopened -> dispatched ...  (not satisfied: dispatched a second time, 二次派单)

``transition`` checks an action against the current state and returns the changed order
and a history entry; it never touches a database or a clock (``now`` is passed in).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal, get_args

from callcenter.cti.refusal import Refusal

State = Literal[
    "new",
    "dispatched",
    "in_progress",
    "done",
    "callback_scheduled",
    "satisfaction_recorded",
    "closed",
    "reopened",
]
Action = Literal[
    "dispatch", "start", "finish", "schedule_callback", "record_satisfaction", "close", "reopen"
]
KINDS = ("repair", "complaint", "enquiry", "fee")
PRIORITIES = ("low", "normal", "high", "urgent")
OPEN_STATES: frozenset[str] = frozenset(get_args(State)) - {"closed"}
SATISFIED_FROM = 4  # scores 1-5; 4 and 5 count as satisfied

# action -> (states it is allowed from, state it leads to)
_MOVES: dict[str, tuple[frozenset[str], str]] = {
    "dispatch": (frozenset({"new", "reopened"}), "dispatched"),
    "start": (frozenset({"dispatched"}), "in_progress"),
    "finish": (frozenset({"in_progress", "dispatched"}), "done"),
    "schedule_callback": (frozenset({"done", "callback_scheduled"}), "callback_scheduled"),
    "record_satisfaction": (frozenset({"callback_scheduled"}), "satisfaction_recorded"),
    "close": (frozenset({"satisfaction_recorded"}), "closed"),
    "reopen": (frozenset({"satisfaction_recorded", "closed"}), "reopened"),
}


class WorkOrderError(Refusal):
    """The action does not fit the order's state or its data; ``en`` and ``zh`` say why
    (the seat page shows the one in its language)."""


@dataclass(frozen=True)
class WorkOrder:
    id: int
    kind: str
    priority: str
    state: State
    created_by: str
    created_at: float
    updated_at: float
    owner_id: int | None = None
    caller_number: str = ""
    pbx: str = ""
    call_id: str = ""
    category: str = ""
    department: str = ""
    description: str = ""
    assignee: str = ""
    due_at: float | None = None
    callback_at: float | None = None
    satisfaction: int | None = None
    dispatch_count: int = 0

    def to_dict(self, now: float | None = None) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        if now is not None:
            data["timer"] = timer(self, now)
        return data


@dataclass(frozen=True)
class HistoryEntry:
    at: float
    actor: str
    action: str
    from_state: str
    to_state: str
    note: str = ""


def validate_new(kind: str, priority: str, due_at: float | None, now: float) -> None:
    if kind not in KINDS:
        known = ", ".join(KINDS)
        raise WorkOrderError(
            f"type must be one of {known}, got {kind!r}", f"工单类型应为 {known} 之一"
        )
    if priority not in PRIORITIES:
        known = ", ".join(PRIORITIES)
        raise WorkOrderError(
            f"priority must be one of {known}, got {priority!r}", f"优先级应为 {known} 之一"
        )
    if due_at is not None and due_at <= now:
        raise WorkOrderError("the due time must be in the future", "完成时限须晚于现在")


def transition(
    order: WorkOrder,
    action: str,
    *,
    actor: str,
    now: float,
    assignee: str = "",
    department: str = "",
    callback_at: float | None = None,
    satisfaction: int | None = None,
    note: str = "",
) -> tuple[WorkOrder, HistoryEntry]:
    move = _MOVES.get(action)
    if move is None:
        known = ", ".join(_MOVES)
        raise WorkOrderError(
            f"unknown action {action!r} (known: {known})", f"没有这个操作（可选：{known}）"
        )
    allowed, target = move
    if order.state not in allowed:
        raise WorkOrderError(
            f"cannot {action} a work order that is {order.state}",
            "工单的状态已变，不能这样操作（请刷新后再试）",
        )
    changes: dict[str, Any] = {"state": target, "updated_at": now}
    if action == "dispatch":
        if not (assignee or order.assignee or department or order.department):
            raise WorkOrderError(
                "dispatching needs a department or an assignee", "派单须指定部门或处理人"
            )
        changes["assignee"] = assignee or order.assignee
        changes["department"] = department or order.department
        changes["dispatch_count"] = order.dispatch_count + 1
    elif action == "schedule_callback":
        if callback_at is None:
            raise WorkOrderError("scheduling a callback needs its time", "安排回访须选择时间")
        changes["callback_at"] = callback_at
    elif action == "record_satisfaction":
        if satisfaction is None or not 1 <= satisfaction <= 5:
            raise WorkOrderError("satisfaction is a score from 1 to 5", "满意度为 1 到 5 分")
        changes["satisfaction"] = satisfaction
    elif action == "close":
        if order.satisfaction is None or order.satisfaction < SATISFIED_FROM:
            raise WorkOrderError(
                "an unsatisfied owner's order is reopened, not closed",
                "业主不满意的工单应重开，不能关闭",
            )
    elif action == "reopen":
        changes["satisfaction"] = None
        changes["callback_at"] = None
    entry = HistoryEntry(now, actor, action, order.state, target, note)
    return dataclasses.replace(order, **changes), entry


TimerState = Literal["none", "on_time", "due_soon", "overdue", "finished"]


def timer(order: WorkOrder, now: float, due_soon_s: float = 3600.0) -> dict[str, Any]:
    """How the order stands against its due time; the clock stops once the work is done."""
    if order.due_at is None:
        return {"state": "none", "remaining_s": None}
    if order.state not in ("new", "dispatched", "in_progress", "reopened"):
        return {"state": "finished", "remaining_s": None}
    remaining = order.due_at - now
    state: TimerState = (
        "overdue" if remaining < 0 else "due_soon" if remaining < due_soon_s else "on_time"
    )
    return {"state": state, "remaining_s": round(remaining)}
