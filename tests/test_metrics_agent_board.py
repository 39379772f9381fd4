"""The wallboard's agent rows: each seat's agent by name, with state, since when and the
pause reason (routing's agent states), else the queue member's state."""

from __future__ import annotations

from callcenter.core.events import AgentStateChanged
from callcenter.metrics.agent_board import AgentBoard


def change(at: float, interface: str, state: str, reason: str = "") -> AgentStateChanged:
    return AgentStateChanged(pbx="main", call_id="", at=at, agent=f"Agent {interface[-4:]}",
                             interface=interface, state=state, reason=reason)  # fmt: skip


def test_rows_name_each_agent_with_state_time_and_reason() -> None:
    board = AgentBoard()
    board.apply(change(100.0, "PJSIP/1002", "ready"))
    board.apply(change(160.0, "PJSIP/1002", "paused", "午餐"))
    board.apply(change(120.0, "PJSIP/1001", "on_call", "repair"))  # on a call: its queue
    names = {"PJSIP/1001": "王伟", "PJSIP/1002": "李芳"}
    rows = board.rows({"PJSIP/1001": "in_call", "PJSIP/1003": "idle"}, names)
    assert rows == [
        {"interface": "PJSIP/1003", "name": "PJSIP/1003", "state": "ready", "reason": "",
         "queue": "", "since": None},  # known only as a queue member: no name, no time yet
        {"interface": "PJSIP/1002", "name": "李芳", "state": "paused", "reason": "午餐",
         "queue": "", "since": 160.0},
        {"interface": "PJSIP/1001", "name": "王伟", "state": "on_call", "reason": "",
         "queue": "repair", "since": 120.0},
    ]  # fmt: skip


def test_an_agent_signed_off_leaves_the_board() -> None:
    board = AgentBoard()
    board.apply(change(100.0, "PJSIP/1001", "ready"))
    board.apply(change(200.0, "PJSIP/1001", "offline"))
    assert board.rows({}, {}) == []
    # no directory name: the queue member's name
    board.apply(change(300.0, "PJSIP/1001", "ready"))
    assert board.rows({}, {})[0]["name"] == "Agent 1001"
