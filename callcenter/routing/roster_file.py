"""Reading ``config/roster.yaml`` into a ``Roster``; every error names file:line and key."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import holidays as holidays_lib

from callcenter.routing.roster import (
    OFF_CELLS,
    PERIODS,
    Extra,
    HolidayCalendar,
    Leave,
    Pool,
    Roster,
    Rotation,
    Swap,
)
from callcenter.routing.shifts import ShiftBook
from callcenter.routing.yamlio import LineDict, LineList, Where, load_yaml


def load_roster(path: str | Path, book: ShiftBook) -> Roster:
    return roster_from_mapping(load_yaml(path), str(path), book)


def _date(where: Where, value: Any, line: int, key: str) -> date:
    if isinstance(value, datetime):  # 2026-01-01 10:00 read as a moment: its day
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise where.error(line, key, f"must be a date YYYY-MM-DD, got {value!r}") from None


def roster_from_mapping(data: LineDict, origin: str, book: ShiftBook) -> Roster:
    where = Where(origin)
    where.check_keys(
        data, "roster",
        {"holidays", "extra_holidays", "pools", "rotations", "leave", "swaps", "extra"},
        {"rotations"},
    )  # fmt: skip
    extra_days: dict[date, str] = {}
    raw_extra = data.get("extra_holidays") or LineDict()
    extra_map = where.mapping(raw_extra, data.line_of("extra_holidays"), "extra_holidays")
    for key, label in extra_map.items():
        extra_days[_date(where, key, extra_map.line_of(key), "extra_holidays")] = str(label)
    country = str(data.get("holidays", "CN") or "")
    if country:
        try:
            if country not in holidays_lib.list_supported_countries():  # not "utils"
                raise NotImplementedError(country)
            holidays_lib.country_holidays(country, years=2026)
        except NotImplementedError:
            raise where.error(
                data.line_of("holidays"), "holidays", f"unknown country code {country!r}"
            ) from None
    pools = _pools(where, data)
    rotations = _rotations(where, data, book, pools)
    known_agents = {a for r in rotations for a in r.members} | {
        a for p in pools.values() for a in p.agents
    }
    leave, swaps, extras = _exceptions(where, data, book, known_agents)
    return Roster(
        book, rotations, pools, leave, swaps, extras, HolidayCalendar(country, extra_days)
    )


def _pools(where: Where, data: LineDict) -> dict[str, Pool]:
    pools: dict[str, Pool] = {}
    raw = data.get("pools") or LineDict()
    mapping = where.mapping(raw, data.line_of("pools"), "pools")
    for name, spec in mapping.items():
        dotted = f"pools.{name}"
        body = where.mapping(spec, mapping.line_of(name), dotted)
        where.check_keys(body, dotted, {"agents", "anchor", "every", "step"}, {"agents", "anchor"})
        agents = where.sequence(body["agents"], body.line_of("agents"), f"{dotted}.agents")
        if not agents:
            raise where.error(body.line_of("agents"), f"{dotted}.agents", "must not be empty")
        every = str(body.get("every", "quarter"))
        if every not in PERIODS:
            raise where.error(
                body.line_of("every"), f"{dotted}.every", f"must be one of {', '.join(PERIODS)}"
            )
        step = body.get("step", 1)
        if not isinstance(step, int) or step < 0:
            raise where.error(body.line_of("step"), f"{dotted}.step", "must be a whole number >= 0")
        pools[name] = Pool(
            name,
            tuple(str(a) for a in agents),
            _date(where, body["anchor"], body.line_of("anchor"), f"{dotted}.anchor"),
            every,
            step,
        )
    return pools


def _rows(
    where: Where, body: LineDict, dotted: str, book: ShiftBook
) -> tuple[tuple[str, ...], ...]:
    raw = where.sequence(body["pattern"], body.line_of("pattern"), f"{dotted}.pattern")
    rows: list[tuple[str, ...]] = []
    for index, row in enumerate(raw):
        line = raw.line_of(index)
        cells = row.split() if isinstance(row, str) else row
        if not isinstance(cells, list) or not cells:
            raise where.error(
                line, f"{dotted}.pattern.{index}", "must be a list of shift names or off"
            )
        names = tuple(str(c) for c in cells)
        for cell in names:
            if cell.lower() not in OFF_CELLS and cell not in book.shifts:
                raise where.error(
                    line, f"{dotted}.pattern.{index}",
                    f"unknown shift {cell!r} (shifts: {', '.join(sorted(book.shifts))}, or off)",
                )  # fmt: skip
        if rows and len(names) != len(rows[0]):
            raise where.error(
                line,
                f"{dotted}.pattern.{index}",
                f"must have {len(rows[0])} days like the first row",
            )
        rows.append(names)
    if not rows:
        raise where.error(raw.line, f"{dotted}.pattern", "must have at least one row")
    return tuple(rows)


def _rotations(
    where: Where, data: LineDict, book: ShiftBook, pools: dict[str, Pool]
) -> tuple[Rotation, ...]:
    raw = where.sequence(data["rotations"], data.line_of("rotations"), "rotations")
    out: list[Rotation] = []
    names: set[str] = set()
    for index, spec in enumerate(raw):
        dotted = f"rotations.{index}"
        body = where.mapping(spec, raw.line_of(index), dotted)
        where.check_keys(
            body, dotted,
            {"name", "team", "anchor", "pattern", "members", "holidays", "from", "until"},
            {"name", "anchor", "pattern", "members"},
        )  # fmt: skip
        name = where.text(body["name"], body.line_of("name"), f"{dotted}.name")
        if name in names:
            raise where.error(
                body.line_of("name"), f"{dotted}.name", f"duplicate rotation {name!r}"
            )
        names.add(name)
        rows = _rows(where, body, dotted, book)
        members: tuple[str, ...] = ()
        pool, slots = "", tuple[int, ...]()
        raw_members = body["members"]
        mline = body.line_of("members")
        if isinstance(raw_members, LineDict):
            where.check_keys(raw_members, f"{dotted}.members", {"pool", "slots"}, {"pool", "slots"})
            pool = str(raw_members["pool"])
            if pool not in pools:
                raise where.error(mline, f"{dotted}.members.pool", f"unknown pool {pool!r}")
            slot_list = where.sequence(raw_members["slots"], mline, f"{dotted}.members.slots")
            size = len(pools[pool].agents)
            if not all(isinstance(s, int) and 0 <= s < size for s in slot_list):
                raise where.error(
                    mline, f"{dotted}.members.slots", f"must be numbers from 0 to {size - 1}"
                )
            slots = tuple(int(s) for s in slot_list)
        elif isinstance(raw_members, LineList):
            members = tuple(str(m) for m in raw_members)
            dupes = sorted({m for m in members if members.count(m) > 1})
            if dupes:
                raise where.error(mline, f"{dotted}.members", f"listed twice: {', '.join(dupes)}")
        else:
            raise where.error(
                mline, f"{dotted}.members", "must be a list of agents or {pool, slots}"
            )
        if not members and not slots:
            raise where.error(mline, f"{dotted}.members", "must not be empty")
        holidays_mode = str(body.get("holidays", "work"))
        if holidays_mode not in ("work", "off"):
            raise where.error(body.line_of("holidays"), f"{dotted}.holidays", "must be work or off")
        out.append(
            Rotation(
                name=name,
                team=str(body.get("team", name)),
                anchor=_date(where, body["anchor"], body.line_of("anchor"), f"{dotted}.anchor"),
                rows=rows,
                members=members,
                pool=pool,
                slots=slots,
                work_holidays=holidays_mode == "work",
                valid_from=_date(where, body["from"], body.line_of("from"), f"{dotted}.from")
                if "from" in body
                else None,
                valid_until=_date(where, body["until"], body.line_of("until"), f"{dotted}.until")
                if "until" in body
                else None,
            )
        )
    return tuple(out)


def _exceptions(
    where: Where, data: LineDict, book: ShiftBook, known: set[str]
) -> tuple[tuple[Leave, ...], tuple[Swap, ...], tuple[Extra, ...]]:
    def items(key: str) -> list[tuple[str, LineDict]]:
        raw = data.get(key) or LineList()
        seq = where.sequence(raw, data.line_of(key), key)
        return [
            (f"{key}.{i}", where.mapping(v, seq.line_of(i), f"{key}.{i}"))
            for i, v in enumerate(seq)
        ]

    extras: list[Extra] = []
    for dotted, body in items("extra"):
        where.check_keys(
            body, dotted, {"date", "agent", "shift", "team"}, {"date", "agent", "shift"}
        )
        shift = str(body["shift"])
        if shift not in book.shifts:
            raise where.error(body.line_of("shift"), f"{dotted}.shift", f"unknown shift {shift!r}")
        day = _date(where, body["date"], body.line_of("date"), f"{dotted}.date")
        name = where.text(body["agent"], body.line_of("agent"), f"{dotted}.agent")
        extras.append(Extra(day, name, shift, str(body.get("team", "extra"))))
    # anyone rostered can take leave or swap, extra shifts included (a planned day may be
    # all extra shifts); a name rostered nowhere is a typo
    rostered = known | {e.agent for e in extras}

    def agent(body: LineDict, dotted: str, key: str = "agent") -> str:
        name = where.text(body[key], body.line_of(key), f"{dotted}.{key}")
        if name not in rostered:
            raise where.error(
                body.line_of(key), f"{dotted}.{key}",
                f"{name!r} is in no rotation, pool or extra shift",
            )  # fmt: skip
        return name

    leave: list[Leave] = []
    for dotted, body in items("leave"):
        where.check_keys(body, dotted, {"agent", "from", "to", "reason"}, {"agent", "from"})
        first = _date(where, body["from"], body.line_of("from"), f"{dotted}.from")
        last = _date(where, body.get("to", first), body.line_of("to"), f"{dotted}.to")
        if last < first:
            raise where.error(body.line_of("to"), f"{dotted}.to", "ends before it starts")
        leave.append(Leave(agent(body, dotted), first, last, str(body.get("reason", "leave"))))
    swaps: list[Swap] = []
    for dotted, body in items("swaps"):
        where.check_keys(body, dotted, {"date", "agent", "with"}, {"date", "agent", "with"})
        day = _date(where, body["date"], body.line_of("date"), f"{dotted}.date")
        swaps.append(Swap(day, agent(body, dotted), agent(body, dotted, "with")))
    return tuple(leave), tuple(swaps), tuple(extras)
