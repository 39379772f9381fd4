"""Editing one day of the roster: that day's leave, swaps and extra shifts.

The rotations stay as written; a day is changed by its exceptions (as a supervisor
would write them in ``config/roster.yaml`` by hand). ``DayEdit`` is one day's
single-day exceptions; ``edited_text`` gives the roster file with that day's replaced
and every other line, comments included, kept; the caller reads the result back with
``roster_file.roster_from_mapping`` before writing it, so a file that would not load is
never written. Leave spanning several days is kept as it is (shown, not edited here).
``day_edit_problems`` says, in both languages and without file detail, why an edit makes
no sense to the person asking (an unknown agent or shift, a swap with nobody working, an
extra shift on top of a shift the agent already works).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from callcenter.routing.roster import Assignment, Extra, Leave, Roster, Swap

EXCEPTION_KEYS = ("leave", "swaps", "extra")
_TOP_KEY = re.compile(r"^(?P<key>[A-Za-z_][\w-]*)\s*:")


@dataclass(frozen=True)
class DayEdit:
    """What one day's exceptions become: leave (agent, reason), swaps (agent, other)
    and extra shifts (agent, shift, team)."""

    leave: tuple[tuple[str, str], ...] = ()
    swaps: tuple[tuple[str, str], ...] = ()
    extras: tuple[tuple[str, str, str], ...] = ()


def day_edit(roster: Roster, day: date) -> DayEdit:
    """The day's own exceptions, as the editor shows them."""
    return DayEdit(
        tuple((lv.agent, lv.reason) for lv in roster.leave if lv.first == lv.last == day),
        tuple((s.agent, s.other) for s in roster.swaps if s.day == day),
        tuple((e.agent, e.shift, e.team) for e in roster.extras if e.day == day),
    )


def apply_day_edit(roster: Roster, day: date, edit: DayEdit) -> Roster:
    """The roster with ``day``'s single-day exceptions replaced by ``edit`` (unchecked)."""
    leave = [lv for lv in roster.leave if not lv.first == lv.last == day]
    leave += [Leave(agent, day, day, reason) for agent, reason in edit.leave]
    swaps = [s for s in roster.swaps if s.day != day]
    swaps += [Swap(day, agent, other) for agent, other in edit.swaps]
    extras = [e for e in roster.extras if e.day != day]
    extras += [Extra(day, agent, shift, team) for agent, shift, team in edit.extras]
    return replace(
        roster,
        leave=tuple(sorted(leave, key=lambda lv: (lv.first, lv.agent))),
        swaps=tuple(sorted(swaps, key=lambda s: (s.day, s.agent))),
        extras=tuple(sorted(extras, key=lambda e: (e.day, e.agent))),
        _cache={},
    )


Problem = tuple[str, str]  # (Chinese, English)


def _shift_text(a: Assignment, roster: Roster, lang: str) -> str:
    zone = roster.book.zone
    start = datetime.fromtimestamp(a.start, zone).strftime("%H:%M")
    end = datetime.fromtimestamp(a.end, zone).strftime("%H:%M")
    return f"{a.shift.label(lang)} {start}–{end}"


def _overlaps(roster: Roster, day: date, agents: set[str]) -> list[Problem]:
    """Two shifts of one of ``agents`` that overlap, one of them starting on ``day``
    (yesterday's night shift counts)."""
    around = [a for d in (-1, 0, 1) for a in roster.assignments(day + timedelta(days=d))]
    problems: list[Problem] = []
    for agent in sorted(agents):
        mine = sorted((a for a in around if a.agent == agent), key=lambda a: a.start)
        for n, first in enumerate(mine):
            for second in mine[n + 1 :]:
                if second.start < first.end and day in (first.day, second.day):
                    problems.append((
                        f"{agent} 当天已有班次 {_shift_text(first, roster, 'zh')}，"
                        f"与 {_shift_text(second, roster, 'zh')} 时间重叠",
                        f"{agent} already works {_shift_text(first, roster, 'en')} that day, "
                        f"which overlaps {_shift_text(second, roster, 'en')}",
                    ))  # fmt: skip
    return problems


def day_edit_problems(current: Roster, day: date, edit: DayEdit) -> list[Problem]:
    """Why ``edit`` of ``day`` cannot be saved on ``current``; empty when it can."""
    problems: list[Problem] = []
    for _agent, shift, _team in edit.extras:
        if shift not in current.book.shifts:
            problems.append((f"没有名为 {shift} 的班次", f"there is no shift called {shift}"))
    if problems:
        return problems
    without_swaps = apply_day_edit(current, day, replace(edit, swaps=()))
    rostered = without_swaps.agents()
    named = [a for a, _ in edit.leave] + [a for pair in edit.swaps for a in pair]
    for agent in dict.fromkeys(named):
        if agent not in rostered:
            problems.append((
                f"{agent or '（空）'} 不在排班中（没有轮班，也没有加班）",
                f"{agent or '(empty)'} is not on the roster (no rotation, pool or extra shift)",
            ))  # fmt: skip
    working = {a.agent for a in without_swaps.assignments(day)}
    for agent, other in edit.swaps:
        if agent == other:
            problems.append((f"{agent} 不能与自己调班", f"{agent} cannot swap with themselves"))
        elif agent in rostered and other in rostered and not {agent, other} & working:
            problems.append((
                f"{agent} 和 {other} 当天都没有班次，无班可调",
                f"neither {agent} nor {other} works that day: there is nothing to swap",
            ))  # fmt: skip
    if problems:
        return problems
    touched = {a for a, _s, _t in edit.extras} | {a for pair in edit.swaps for a in pair}
    return _overlaps(apply_day_edit(current, day, edit), day, touched)


def _scalar(text: str) -> str:
    """A YAML flow scalar: plain when that is safe, else double-quoted with every
    character YAML would not take as it is written as an escape."""
    plain = re.fullmatch(r"[^\W\d][\w.@-]*", text)  # starts with a letter: never a number
    if plain and not re.fullmatch(r"true|false|null|yes|no|on|off", text, re.I):
        return text
    quoted = json.dumps(text, ensure_ascii=False)  # a JSON string is a YAML one
    return "".join(
        c if c.isprintable() else f"\\u{ord(c):04x}" if ord(c) <= 0xFFFF else f"\\U{ord(c):08x}"
        for c in quoted
    )


def exception_blocks(roster: Roster) -> dict[str, str]:
    """The ``leave:``, ``swaps:`` and ``extra:`` blocks of the roster file, one line each item."""

    def block(key: str, items: list[str]) -> str:
        if not items:
            return f"{key}: []\n"
        return f"{key}:\n" + "".join(f"  - {{{item}}}\n" for item in items)

    return {
        "leave": block("leave", [
            f"agent: {_scalar(lv.agent)}, from: {lv.first.isoformat()}, "
            f"to: {lv.last.isoformat()}, reason: {_scalar(lv.reason)}"
            for lv in roster.leave
        ]),
        "swaps": block("swaps", [
            f"date: {s.day.isoformat()}, agent: {_scalar(s.agent)}, with: {_scalar(s.other)}"
            for s in roster.swaps
        ]),
        "extra": block("extra", [
            f"date: {e.day.isoformat()}, agent: {_scalar(e.agent)}, shift: {_scalar(e.shift)}, "
            f"team: {_scalar(e.team)}"
            for e in roster.extras
        ]),
    }  # fmt: skip


def replace_top_blocks(text: str, blocks: dict[str, str]) -> str:
    """``text`` with each top-level ``key:`` block in ``blocks`` replaced (added at the end
    when missing). Comment lines and blank lines inside a replaced block are kept, after it."""
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    done: set[str] = set()
    current: str | None = None
    kept: list[str] = []
    for line in lines:
        match = _TOP_KEY.match(line)
        if match is not None:
            out.extend(kept)
            kept = []
            current = match.group("key") if match.group("key") in blocks else None
            if current is not None:
                out.append(blocks[current])
                done.add(current)
                continue
        if current is not None:
            if line.lstrip().startswith("#") or not line.strip():
                kept.append(line)
            continue
        out.append(line)
    out.extend(kept)
    missing = [blocks[k] for k in blocks if k not in done]
    if missing and out and not out[-1].endswith("\n"):
        out.append("\n")
    out.extend(missing)
    return "".join(out)
