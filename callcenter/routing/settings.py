"""The routing settings: seats, shifts, rosters, routing and staffing minimums."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from callcenter.core.contracts import HasDatabase, HasTimezone
from callcenter.core.settings_checks import not_negative, positive
from callcenter.routing.staffing import MinimumRule


@dataclass(frozen=True)
class StaffingMinimum:
    """At least ``seats`` rostered / logged in during ``window`` (HH:MM-HH:MM, local)."""

    name: str = "peak"
    window: str = "09:00-18:00"
    seats: int = 8
    teams: list[str] = field(default_factory=list)  # empty: every team counts
    days: str = "all"  # all, weekdays, weekends, holidays, workdays
    title_zh: str = ""  # the rule as people call it, on the wallboard; empty: the name
    title_en: str = ""

    def check(self) -> dict[str, str]:
        try:
            MinimumRule.parse(self.name, self.window, self.seats, self.teams, self.days)
        except ValueError as exc:
            return {"window": str(exc)}
        return {}


def _default_minimums() -> list[StaffingMinimum]:
    return [
        StaffingMinimum("peak", "09:00-18:00", 8, ["hotline"]),
        StaffingMinimum("night", "21:00-08:00", 2, ["hotline"]),
    ]


@dataclass(frozen=True)
class RoutingSettings:
    """Seats, shifts, rosters and routing (docs/routing.md)."""

    shifts_file: str = "config/shifts.yaml"
    roster_file: str = "config/roster.yaml"
    agents_file: str = "config/agents.yaml"
    wrapup_s: float = 15.0
    general_queue: str = "support"
    housekeeper_ring_s: float = 20.0
    # the zone's own agents (penalty 0 in its queue) alone this long, then every member
    preference_window_s: float = 10.0
    preference_rule: str = "prefer-zone"  # its queuerules.conf rule (queues' defaultrule)
    max_wait_s: float = 120.0
    vip_priority: int = 10
    voicemail_box: str = "100@default"
    minimums: list[StaffingMinimum] = field(default_factory=_default_minimums)
    resync_interval_s: float = 300.0  # membership sync also runs this often between edges
    staffing_check_interval_s: float = 30.0
    alert_webhook_url: str = ""  # empty: no webhook
    alert_webhook_secret: str = ""  # HMAC-SHA256 key; never logged

    def __repr__(self) -> str:
        return f"RoutingSettings(roster_file={self.roster_file!r}, webhook={bool(self.alert_webhook_url)})"

    def check(self) -> dict[str, str]:
        problems = not_negative(
            self, "wrapup_s", "housekeeper_ring_s", "preference_window_s", "max_wait_s"
        )
        if not self.preference_rule.replace("-", "").replace("_", "").isalnum():
            problems["preference_rule"] = "letters, digits, - and _ only (a queuerules.conf name)"
        problems.update(positive(self, "resync_interval_s", "staffing_check_interval_s"))
        if self.alert_webhook_url and not self.alert_webhook_url.startswith(
            ("http://", "https://")
        ):
            problems["alert_webhook_url"] = "must start with http:// or https://"
        names = [m.name for m in self.minimums]
        if len(set(names)) != len(names):
            problems["minimums"] = f"rule names must be unique, got {names}"
        return problems


class RoutingCommandsContext(HasTimezone, HasDatabase, Protocol):
    """What the ``roster`` commands read of the service's settings."""

    @property
    def routing(self) -> RoutingSettings: ...
