"""The metrics settings: the hotline's targets and the reports' and wallboard's settings."""

from __future__ import annotations

from dataclasses import dataclass, field
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


REPORT_VIEWS = ("interval", "day", "shift", "queue", "hotline", "agent")
REPORT_FORMATS = ("csv", "xlsx")


@dataclass(frozen=True)
class ScheduledReports:
    """Daily and weekly report files, e-mail ready: written to ``folder`` and/or posted,
    signed, to ``webhook_url``. A daily run covers yesterday, a weekly run (on Mondays)
    the week from Monday to Sunday before; both run at ``at``, local time."""

    daily: bool = False
    weekly: bool = False
    at: str = "06:30"  # local HH:MM
    views: list[str] = field(default_factory=lambda: ["queue", "shift", "hotline", "agent"])
    formats: list[str] = field(default_factory=lambda: ["csv", "xlsx"])
    lang: str = "zh"
    folder: str = ""  # empty: no files written
    webhook_url: str = ""  # empty: nothing posted
    webhook_secret: str = ""  # HMAC-SHA256 key; never logged

    def __repr__(self) -> str:  # the secret never reaches a log line
        return (
            f"ScheduledReports(daily={self.daily}, weekly={self.weekly}, at={self.at!r}, "
            f"folder={self.folder!r}, webhook={bool(self.webhook_url)})"
        )

    @property
    def enabled(self) -> bool:
        return (self.daily or self.weekly) and bool(self.folder or self.webhook_url)

    def check(self) -> dict[str, str]:
        problems = {}
        hours, sep, minutes = self.at.partition(":")
        if not (sep and hours.isdigit() and minutes.isdigit()
                and int(hours) < 24 and int(minutes) < 60):  # fmt: skip
            problems["at"] = f"must be a local time HH:MM, got {self.at!r}"
        unknown = sorted(set(self.views) - set(REPORT_VIEWS))
        if unknown or not self.views:
            problems["views"] = f"must list some of {', '.join(REPORT_VIEWS)}, got {self.views}"
        if not self.formats or set(self.formats) - set(REPORT_FORMATS):
            problems["formats"] = f"must list csv and/or xlsx, got {self.formats}"
        if self.lang not in ("zh", "en"):
            problems["lang"] = f"must be zh or en, got {self.lang!r}"
        if self.webhook_url and not self.webhook_url.startswith(("http://", "https://")):
            problems["webhook_url"] = "must start with http:// or https://"
        if self.webhook_url and len(self.webhook_secret) < 16:
            problems["webhook_secret"] = "must be at least 16 characters when a webhook is set"
        if (self.daily or self.weekly) and not (self.folder or self.webhook_url):
            problems["folder"] = "daily or weekly reports need a folder or a webhook_url"
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
    scheduled_reports: ScheduledReports = field(default_factory=ScheduledReports)

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
