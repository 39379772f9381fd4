"""The roster over HTTP: a week with its gaps against the staffing minimums, and one
day's exceptions (leave, swaps, extra shifts) changed and written to the roster file.

``GET /api/routing/roster/week?from=YYYY-MM-DD`` (supervisors, admins): seven days, each
with the shifts worked, who is on leave, the gaps and the day's own exceptions.
``PUT /api/routing/roster/days/{day}``: that day's single-day exceptions become the
body's; the file is read afresh, the edit checked (refused with the reasons in both
languages), changed, read back (a file that would not load is refused with a short
message; the loader's file:line goes to the log) and written atomically, and membership
follows the new roster at once.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import structlog
from aiohttp import web

from callcenter.core.errors import ApiError
from callcenter.core.yamlfile import write_atomically
from callcenter.routing.http import FIRST_DAY, LAST_DAY, STATE_KEY, YEARS, RoutingState
from callcenter.routing.roster import Roster
from callcenter.routing.roster_edit import (
    DayEdit,
    apply_day_edit,
    day_edit,
    day_edit_problems,
    exception_blocks,
    replace_top_blocks,
)
from callcenter.routing.roster_file import roster_from_mapping
from callcenter.routing.shifts import ShiftBook
from callcenter.routing.staffing import Gap, check_ahead, merged_gaps
from callcenter.routing.yamlio import RoutingConfigError, parse_yaml
from callcenter.web.security import current_user, require_roles
from callcenter.web.validation import InvalidInput, read_object

log = structlog.get_logger(__name__)
WEEK_DAYS = 7


def _day(text: str, name: str) -> date:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ApiError(
            400, "bad_request", f"{name} 不是有效的日期", f"{name} is not a date like 2026-12-07"
        ) from None
    if not FIRST_DAY <= day <= LAST_DAY - timedelta(days=WEEK_DAYS):
        raise ApiError(
            400,
            "bad_request",
            f"{name} 须在 {YEARS} 年之间",
            f"{name} must lie in the years {YEARS}",
        )
    return day


def _clock_time(at: float, state: RoutingState) -> str:
    return datetime.fromtimestamp(at, state.roster.book.zone).strftime("%H:%M")


def day_view(state: RoutingState, day: date, gaps: list[Gap]) -> dict[str, Any]:
    """One day as the week view shows it (times local, HH:MM)."""
    roster, directory = state.roster, state.directory

    def name(agent: str) -> str:
        found = directory.agents.get(agent)
        return found.name if found else ""

    edit = day_edit(roster, day)
    day_gaps = [g for g in gaps if g.day == day]
    return {
        "day": day.isoformat(),
        "weekday": day.weekday(),
        "holiday": roster.calendar.name(day),
        "shifts": [
            {"agent": a.agent, "name": name(a.agent), "shift": a.shift.name,
             "label": {"zh": a.shift.label("zh"), "en": a.shift.label("en")}, "team": a.team,
             "start": _clock_time(a.start, state), "end": _clock_time(a.end, state),
             "origin": a.origin}
            for a in sorted(roster.assignments(day), key=lambda a: (a.start, a.team, a.agent))
        ],
        "leave": [
            {"agent": lv.agent, "name": name(lv.agent), "reason": lv.reason,
             "from": lv.first.isoformat(), "to": lv.last.isoformat()}
            for lv in roster.leave_on(day)
        ],
        "gaps": [
            {"rule": g.rule, "start": _clock_time(g.start, state), "end": _clock_time(g.end, state),
             "have": g.have, "need": g.need, "message": state.gap_message(g)}
            for g in day_gaps
        ],
        # what the week view shows: stretches without a break, the rules by their titles
        "gap_ranges": [
            {"start": _clock_time(r.start, state), "end": _clock_time(r.end, state),
             "short": r.short,
             "rules": {lang: [state.rule_label(n, lang) or n for n in r.rules] for lang in ("zh", "en")}}
            for r in merged_gaps(day_gaps)
        ],
        "edit": {
            "leave": [{"agent": a, "reason": r} for a, r in edit.leave],
            "swaps": [{"agent": a, "with": o} for a, o in edit.swaps],
            "extra": [{"agent": a, "shift": s, "team": t} for a, s, t in edit.extras],
        },
    }  # fmt: skip


@require_roles("supervisor", "admin")
async def roster_week(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    zone = state.roster.book.zone
    first = (
        _day(request.query["from"], "from")
        if request.query.get("from")
        else datetime.fromtimestamp(state.clock(), zone).date()
    )
    first -= timedelta(days=first.weekday())  # weeks start on Monday
    gaps = check_ahead(state.roster, state.rules, first, WEEK_DAYS)
    days = [day_view(state, first + timedelta(days=n), gaps) for n in range(WEEK_DAYS)]
    names = {a: (state.directory.agents[a].name if a in state.directory.agents else "")
             for a in state.roster.agents()}  # fmt: skip
    return web.json_response(
        {
            "from": first.isoformat(),
            "today": datetime.fromtimestamp(state.clock(), zone).date().isoformat(),
            "days": days,
            "agents": [{"agent": a, "name": n} for a, n in sorted(names.items())],
            "shifts": [
                {"shift": s.name, "label": {"zh": s.label("zh"), "en": s.label("en")}}
                for s in state.roster.book.shifts.values()
            ],
            "editable": bool(state.roster_file),
        }
    )


def _edit_from(body: dict[str, Any]) -> DayEdit:
    return DayEdit(
        tuple((str(i["agent"]), str(i.get("reason") or "leave")) for i in body.get("leave", ())),
        tuple((str(i["agent"]), str(i["with"])) for i in body.get("swaps", ())),
        tuple(
            (str(i["agent"]), str(i["shift"]), str(i.get("team") or "extra"))
            for i in body.get("extra", ())
        ),
    )


def edited_roster(path: str, book: ShiftBook, day: date, edit: DayEdit) -> tuple[str, Roster]:
    """The roster file's new text with ``day`` changed, and the roster it loads as;
    ``ApiError`` when the edit makes no sense for that day's roster."""
    text = Path(path).read_text(encoding="utf-8")
    current = roster_from_mapping(parse_yaml(text, path), path, book)
    problems = day_edit_problems(current, day, edit)
    if problems:
        raise ApiError(
            400,
            "bad_roster_edit",
            "排班修改有误：" + "；".join(zh for zh, _en in problems),
            "The roster change was refused: " + "; ".join(en for _zh, en in problems),
        )
    new_text = replace_top_blocks(text, exception_blocks(apply_day_edit(current, day, edit)))
    return new_text, roster_from_mapping(parse_yaml(new_text, path), path, book)


@require_roles("supervisor", "admin")
async def put_roster_day(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    day = _day(request.match_info["day"], "day")
    try:
        body = dict(await read_object(request))
    except InvalidInput as exc:
        raise exc.error() from None
    if not state.roster_file:
        raise ApiError(
            409, "roster_not_editable", "排班表没有文件，无法修改", "the roster has no file to edit"
        )
    edit = _edit_from(body)
    # read, change and write with nothing awaited in between: two edits never interleave
    try:
        text, roster = edited_roster(state.roster_file, state.roster.book, day, edit)
    except RoutingConfigError as exc:  # the admin cannot act on file:line; the log keeps it
        log.warning("roster edit would not load", day=day.isoformat(), problem=str(exc))
        raise ApiError(
            400,
            "bad_roster_edit",
            "排班文件按此修改无法读取，未保存；详情见服务日志",
            "The roster file would not load with this change, so nothing was saved; "
            "the service log has the details",
        ) from None
    write_atomically(state.roster_file, text)
    state.replace_roster(roster)
    user = current_user(request)
    log.info("roster day changed", day=day.isoformat(), by=user.login if user else "",
             leave=len(edit.leave), swaps=len(edit.swaps), extras=len(edit.extras))  # fmt: skip
    gaps = check_ahead(roster, state.rules, day, 1)
    return web.json_response(day_view(state, day, gaps))


def setup(app: web.Application) -> None:
    """Adds the roster routes; ``routing.http.setup`` has put the state on the app."""
    app.router.add_get("/api/routing/roster/week", roster_week)
    app.router.add_put("/api/routing/roster/days/{day}", put_roster_day)
