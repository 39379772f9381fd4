"""The wallboard's agent rows (pure): each seat's agent, state, time in state, pause reason
and, ringing, on a call or wrapping up, the queue of that call.

Folded from ``AgentStateChanged`` (routing's agent states: ready, ringing, on_call, wrap_up,
paused with its reason, logged_in, offline) and, for seats routing has not spoken about
yet, the queue-member state the live counters keep. ``rows`` names each agent as the
directory does (``names``: interface -> name), else by the queue member's name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from callcenter.core.events import AgentStateChanged, Event

__all__ = ["AgentBoard", "AgentRow"]

# queue-member states (live counters) as routing names them, for seats routing has not
# reported on
_FROM_MEMBER = {"idle": "ready", "in_call": "on_call", "ringing": "ringing",
                "paused": "paused", "offline": "logged_in"}  # fmt: skip


@dataclass(slots=True)
class AgentRow:
    interface: str
    agent: str
    state: str
    reason: str
    since: float | None  # when the state began; None: before this service saw it


@dataclass
class AgentBoard:
    _rows: dict[str, AgentRow] = field(default_factory=dict)  # by interface

    def apply(self, event: Event) -> None:
        if not isinstance(event, AgentStateChanged) or not event.interface:
            return
        if event.state == "offline":
            self._rows.pop(event.interface, None)
            return
        self._rows[event.interface] = AgentRow(
            event.interface, event.agent, event.state, event.reason, event.at
        )

    def rows(self, members: Mapping[str, str], names: Mapping[str, str]) -> list[dict[str, Any]]:
        """One row per seat signed in (routing's view, else the queue member's ``members``:
        interface -> live state), sorted by name then seat: the order a person scans."""
        out: dict[str, dict[str, Any]] = {}
        for interface, member_state in members.items():
            out[interface] = {
                "interface": interface, "name": names.get(interface) or interface,
                "state": _FROM_MEMBER.get(member_state, member_state), "reason": "",
                "queue": "", "since": None,
            }  # fmt: skip
        for interface, row in self._rows.items():
            # routing's reason is the pause reason when paused, else the call's queue
            paused = row.state == "paused"
            out[interface] = {
                "interface": interface,
                "name": names.get(interface) or row.agent or interface,
                "state": row.state,
                "reason": row.reason if paused else "",
                "queue": "" if paused else row.reason,
                "since": row.since,
            }
        return sorted(out.values(), key=lambda r: (r["name"], r["interface"]))
