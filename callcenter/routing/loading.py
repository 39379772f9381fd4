"""Everything the routing feature reads from its files, loaded in one go from the settings."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from pathlib import Path

from callcenter.routing.decisions import RoutingRules
from callcenter.routing.directory import Directory, load_directory
from callcenter.routing.roster import Roster
from callcenter.routing.roster_file import load_roster
from callcenter.routing.settings import RoutingSettings
from callcenter.routing.shifts import ShiftBook, load_shifts
from callcenter.routing.staffing import MinimumRule


@dataclass(frozen=True)
class RoutingData:
    book: ShiftBook
    roster: Roster
    directory: Directory
    rules: tuple[MinimumRule, ...]


def minimum_rules(settings: RoutingSettings) -> tuple[MinimumRule, ...]:
    return tuple(
        replace(
            MinimumRule.parse(m.name, m.window, m.seats, m.teams, m.days),
            title_zh=m.title_zh,
            title_en=m.title_en,
        )
        for m in settings.minimums
    )


def load_routing(settings: RoutingSettings, timezone: str) -> RoutingData:
    """Read shifts, roster and agents; raises RoutingConfigError naming file:line."""
    book = load_shifts(settings.shifts_file, timezone)
    roster = load_roster(settings.roster_file, book)
    directory = (
        load_directory(settings.agents_file) if Path(settings.agents_file).exists() else Directory()
    )
    return RoutingData(book, roster, directory, minimum_rules(settings))


def routing_rules(settings: RoutingSettings) -> RoutingRules:
    """The decision's rules: each one a setting of the same name sets; the rest keep their
    defaults."""
    configurable = {f.name for f in fields(RoutingSettings)}
    names = [f.name for f in fields(RoutingRules) if f.name in configurable]
    return RoutingRules(**{name: getattr(settings, name) for name in names})
