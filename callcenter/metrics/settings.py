"""The metrics settings: the hotline's targets and the reports' and wallboard's settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from callcenter.core.contracts import DatabaseAddress
from callcenter.core.settings_checks import at_least_one, not_negative
from callcenter.routing.settings import RoutingSettings


@dataclass(frozen=True)
class Targets:
    line_capacity: int = 90
    answer_rate: float = 0.90
    service_level_s: float = 20.0
    service_level_target: float = 0.80
    short_abandon_s: float = 5.0

    def check(self) -> dict[str, str]:
        problems = at_least_one(self, "line_capacity")
        for name in ("answer_rate", "service_level_target"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                problems[name] = f"must be between 0 and 1, got {value}"
        problems.update(not_negative(self, "service_level_s", "short_abandon_s"))
        return problems


@dataclass(frozen=True)
class MetricsSettings:
    """Reports, staffing and the wallboard (thresholds themselves are in ``targets``)."""

    wrapup_s: float = 0.0  # after-call work added to each answered call's talk for AHT
    high_lines_fraction: float = 0.8  # lines alert and "seconds high" at this share of capacity
    patience_s: float = 0.0  # mean caller patience for Erlang A; 0: estimated from history
    interval_min: int = 30  # default report and staffing interval (15, 30 or 60)
    # A staffing plan (JSON, as `callcenter demo` writes it): the reports page shows its
    # predicted answer rate beside the actual one; "": none
    plan_file: str = ""

    def check(self) -> dict[str, str]:
        problems = {}
        if self.wrapup_s < 0 or self.patience_s < 0:
            problems["wrapup_s"] = "wrapup_s and patience_s must not be negative"
        if not 0.0 < self.high_lines_fraction <= 1.0:
            problems["high_lines_fraction"] = f"must be in (0, 1], got {self.high_lines_fraction}"
        if self.interval_min not in (15, 30, 60):
            problems["interval_min"] = f"must be 15, 30 or 60, got {self.interval_min}"
        return problems


class MetricsCommandsContext(Protocol):
    """What the ``staffing``, ``report`` and ``metrics`` commands read of the service's
    settings (the routing settings: the roster a staffing plan is checked against)."""

    @property
    def timezone(self) -> str: ...

    @property
    def targets(self) -> Targets: ...

    @property
    def metrics(self) -> MetricsSettings: ...

    @property
    def routing(self) -> RoutingSettings: ...

    @property
    def database(self) -> DatabaseAddress: ...
