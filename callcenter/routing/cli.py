"""``callcenter roster show``, ``roster check``, ``roster occupancy`` and ``roster queuerules``."""

from __future__ import annotations

import argparse
import json
import sys
import unicodedata
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from callcenter.core.i18n import Catalogue
from callcenter.routing.directory import Directory, load_directory
from callcenter.routing.duty import duty_row, on_duty
from callcenter.routing.loading import RoutingData, load_routing
from callcenter.routing.occupancy import (
    OCCUPANCY_DEFINITION,
    AgentOccupancy,
    occupancy_range,
    summarize,
    total,
)
from callcenter.routing.queuerules import queuerules_text
from callcenter.routing.settings import RoutingCommandsContext
from callcenter.routing.staffing import check_ahead
from callcenter.routing.yamlio import RoutingConfigError

# The settings arrive from the ``callcenter`` command, which reads and validates the
# file on the first call (a command that needs none never reads it).
SettingsLoader = Callable[[], RoutingCommandsContext]

TEXT = Catalogue({  # key: (Chinese, English)
    "agent": ("坐席", "Agent"), "name": ("姓名", "Name"), "shift": ("班次", "Shift"),
    "team": ("组", "Team"), "hours": ("时间", "Hours"), "status": ("状态", "Status"),
    "on_break": ("休息", "break"), "working": ("在岗", "working"),
    "nobody": ("{at} 无人在岗", "nobody on duty at {at}"),
    "count": ("{at} 在岗 {n} 人", "{n} on duty at {at}"),
    "ok": ("{first} 起 {days} 天内排班满足所有最低人数要求",
           "the roster meets every minimum for {days} days from {first}"),
    "gaps": ("{first} 起 {days} 天内有 {n} 处人手缺口:",
             "{n} gap(s) against the minimums in {days} days from {first}:"),
    "on_call": ("通话", "On call"), "wrap_up": ("话后", "Wrap-up"), "ready": ("空闲", "Ready"),
    "paused": ("小休", "Paused"), "available": ("可用", "Available"),
    "occupancy": ("占用率", "Occupancy"), "total": ("合计", "total"),
    "none": ("{first} 至 {last} 无坐席状态记录", "no agent state time from {first} to {last}"),
})  # fmt: skip


def register(subparsers: Any) -> None:
    roster = subparsers.add_parser("roster", help="who is on duty; staffing gaps ahead")
    commands = roster.add_subparsers(dest="roster_command", required=True)
    show = commands.add_parser("show", help="the agents on duty at an instant")
    show.add_argument("--at", default=None, help="local time, e.g. 2026-12-01T03:00 (default: now)")
    show.add_argument("--team", action="append", default=[], help="only this team (repeatable)")
    show.set_defaults(func=cmd_show)
    check = commands.add_parser("check", help="list every gap against the staffing minimums")
    check.add_argument("--days", type=int, default=14)
    check.add_argument(
        "--from", dest="first", default=None, help="first day YYYY-MM-DD (default: today)"
    )
    check.set_defaults(func=cmd_check)
    rules = commands.add_parser(
        "queuerules", help="Asterisk's queuerules.conf for the preference window (to stdout)"
    )
    rules.set_defaults(func=cmd_queuerules)
    occupancy = commands.add_parser(
        "occupancy", help="time on calls over time available, per agent (from the database)"
    )
    occupancy.add_argument("--from", dest="first", required=True,
                           help="local date or time, e.g. 2026-12-01 or 2026-12-01T08:00")  # fmt: skip
    occupancy.add_argument("--to", dest="last", required=True, help="end (excluded), same form")
    occupancy.add_argument("--agent", action="append", default=[], help="only this agent")
    occupancy.set_defaults(func=cmd_occupancy)
    for sub in (show, check, occupancy):  # each prints a table or JSON, in either language
        sub.add_argument("--format", choices=("table", "json"), default="table")
        sub.add_argument("--lang", choices=("zh", "en"), default="zh")
        sub.add_argument("--config", default=argparse.SUPPRESS, help=argparse.SUPPRESS)


def _load(settings_loader: SettingsLoader) -> RoutingData:
    settings = settings_loader()
    return load_routing(settings.routing, settings.timezone)


def parse_at(text: str | None, data: RoutingData) -> datetime:
    zone = data.book.zone
    if text is None:
        return datetime.now(zone)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--at {text!r} is not a time like 2026-12-01T03:00") from None
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment.astimezone(zone)


def duty_rows(data: RoutingData, at: float, teams: list[str], lang: str) -> list[dict[str, Any]]:
    zone = data.book.zone
    rows = []
    for d in on_duty(data.roster, at, teams):
        a = d.assignment
        row = duty_row(d, data.directory, zone, a.shift.label(lang), timespec="minutes")
        rows.append({**row, "origin": a.origin})
    return rows


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max([_width(h)] + [_width(r[i]) for r in rows]) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c + " " * (w - _width(c)) for c, w in zip(cells, widths, strict=True)
        ).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def cmd_queuerules(args: argparse.Namespace, settings_loader: SettingsLoader) -> int:
    routing = settings_loader().routing
    sys.stdout.write(queuerules_text(routing.preference_rule, routing.preference_window_s))
    return 0


def cmd_show(args: argparse.Namespace, settings_loader: SettingsLoader) -> int:
    t = TEXT.all(args.lang)
    try:
        data = _load(settings_loader)
        moment = parse_at(args.at, data)
    except (RoutingConfigError, ValueError) as exc:
        print(f"callcenter roster: {exc}", file=sys.stderr)
        return 2
    rows = duty_rows(data, moment.timestamp(), args.team, args.lang)
    if args.format == "json":
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    at = moment.strftime("%Y-%m-%d %H:%M %Z")
    if not rows:
        print(t["nobody"].format(at=at))
        return 0
    print(t["count"].format(at=at, n=len(rows)))
    cells = [
        [
            r["agent"],
            r["name"],
            r["shift_label"],
            r["team"],
            f"{r['start'][11:16]}-{r['end'][11:16]}",
            f"{t['on_break']} ({r['on_break']})" if r["on_break"] else t["working"],
        ]
        for r in rows
    ]
    headers = [t["agent"], t["name"], t["shift"], t["team"], t["hours"], t["status"]]
    print(table(headers, cells))
    return 0


def cmd_check(args: argparse.Namespace, settings_loader: SettingsLoader) -> int:
    t = TEXT.all(args.lang)
    try:
        data = _load(settings_loader)
        first = (
            date.fromisoformat(args.first) if args.first else datetime.now(data.book.zone).date()
        )
        if args.days < 1:
            raise ValueError(f"--days must be at least 1, got {args.days}")
    except (RoutingConfigError, ValueError) as exc:
        print(f"callcenter roster: {exc}", file=sys.stderr)
        return 2
    gaps = check_ahead(data.roster, data.rules, first, args.days)
    zone = data.book.zone
    if args.format == "json":
        print(
            json.dumps(
                [
                    {
                        "rule": g.rule,
                        "day": g.day.isoformat(),
                        "start": datetime.fromtimestamp(g.start, zone).isoformat(
                            timespec="minutes"
                        ),
                        "end": datetime.fromtimestamp(g.end, zone).isoformat(timespec="minutes"),
                        "have": g.have,
                        "need": g.need,
                    }
                    for g in gaps
                ],
                ensure_ascii=False,
                indent=2,
            )
        )
    elif not gaps:
        print(t["ok"].format(first=first.isoformat(), days=args.days))
    else:
        print(t["gaps"].format(first=first.isoformat(), days=args.days, n=len(gaps)))
        rules = {rule.name: rule for rule in data.rules}
        for gap in gaps:
            rule = rules.get(gap.rule)
            print("  " + gap.describe(zone, args.lang, rule.label(args.lang) if rule else ""))
    return 1 if gaps else 0


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.2f}h"


def cmd_occupancy(args: argparse.Namespace, settings_loader: SettingsLoader) -> int:
    from callcenter.db import create_engine_for, upgrade
    from callcenter.routing.store import AgentTimeStore

    t = TEXT.all(args.lang)
    settings = settings_loader()
    zone = ZoneInfo(settings.timezone)
    try:
        start, end = occupancy_range(args.first, args.last, 0.0, zone)
    except ValueError as exc:
        why = {
            "from": "--from is not a date or time like 2026-12-01T08:00",
            "to": "--to is not a date or time like 2026-12-01T20:00",
            "order": "--to must be later than --from",
        }.get(str(exc), "the range is longer than a year")
        print(f"callcenter roster: {why}", file=sys.stderr)
        return 2
    upgrade(settings.database.url)
    engine = create_engine_for(settings.database.url)
    try:
        store = AgentTimeStore(engine)
        seconds: dict[str, dict[str, float]] = {}
        for row in store.time_by_state(start, end, args.agent):
            seconds.setdefault(row.agent, {})[row.state] = row.seconds
    finally:
        engine.dispose()
    rows = summarize(seconds)
    directory = _directory(settings.routing.agents_file)
    first = datetime.fromtimestamp(start, zone).isoformat(timespec="minutes")
    last = datetime.fromtimestamp(end, zone).isoformat(timespec="minutes")
    if args.format == "json":
        overall = total(rows).as_dict()
        del overall["agent"]
        agents = [
            {**r.as_dict(), "name": a.name if (a := directory.agents.get(r.agent)) else ""}
            for r in rows
        ]
        body = {"from": first, "to": last, "definition": OCCUPANCY_DEFINITION,
                "agents": agents, "total": overall}  # fmt: skip
        print(json.dumps(body, ensure_ascii=False, indent=2))
        return 0
    if not rows:
        print(t["none"].format(first=first, last=last))
        return 0
    print(f"{first} .. {last}   {OCCUPANCY_DEFINITION[args.lang]}")

    def cells(r: AgentOccupancy, name: str) -> list[str]:
        occ = r.occupancy
        return [
            r.agent or t["total"], name, _hours(r.seconds.get("on_call", 0.0)),
            _hours(r.seconds.get("wrap_up", 0.0)), _hours(r.seconds.get("ready", 0.0)),
            _hours(r.seconds.get("paused", 0.0)), _hours(r.available_s),
            "-" if occ is None else f"{occ:.1%}",
        ]  # fmt: skip

    headers = [t["agent"], t["name"], t["on_call"], t["wrap_up"], t["ready"], t["paused"],
               t["available"], t["occupancy"]]  # fmt: skip
    body_rows = [cells(r, a.name if (a := directory.agents.get(r.agent)) else "") for r in rows]
    body_rows.append(cells(total(rows), ""))
    print(table(headers, body_rows))
    return 0


def _directory(path: str) -> Directory:
    """Names for the report; without a readable agents file the ids alone are shown."""
    try:
        return load_directory(path) if Path(path).exists() else Directory()
    except RoutingConfigError:
        return Directory()
