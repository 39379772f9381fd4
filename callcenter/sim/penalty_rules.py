"""app_queue's penalty rules (queuerules.conf) and the penalty range of a waiting caller.

A caller's range starts from the channel variables ``QUEUE_MAX_PENALTY``,
``QUEUE_MIN_PENALTY`` and ``QUEUE_RAISE_PENALTY`` when they join (queue_exec); unset (or
not a number) is "no limit". Each ``penaltychange`` line of the queue's rule list then
moves the range once the caller has waited its seconds (update_qe_rule), and only a limit
that was set to begin with moves: a caller without ``QUEUE_MAX_PENALTY`` is offered to
every member however long they wait. A member is offered the caller only when its penalty,
raised to ``QUEUE_RAISE_PENALTY`` if lower, lies within [min, max] (calc_metric).

Pure functions, as app_queue.c spells them; the engine (app_queue.py) keeps one
``PenaltyRange`` per waiting caller.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

NO_LIMIT: int | None = None  # app_queue's INT_MAX


@dataclass(frozen=True, slots=True)
class PenaltyRule:
    """One ``penaltychange => <seconds>,<max>[,<min>[,<raise>]]`` line (insert_penaltychange):
    a value with a sign (or empty) is relative, else absolute; ``r`` before the raise value
    raises only members whose penalty is within [min, max]."""

    time: int
    max_value: int = 0
    max_relative: bool = True
    min_value: int = 0
    min_relative: bool = True
    raise_value: int = 0
    raise_relative: bool = True
    raise_respect_min: bool = False


@dataclass(frozen=True, slots=True)
class PenaltyRange:
    max_penalty: int | None = NO_LIMIT
    min_penalty: int | None = NO_LIMIT
    raise_penalty: int | None = NO_LIMIT
    raise_respect_min: bool = False


def _atoi(text: str) -> int:
    """C's atoi: leading sign and digits, anything else ends the number (0 if none)."""
    text = text.strip()
    sign, digits = 1, ""
    if text[:1] in "+-" and text:
        sign, text = (-1 if text[0] == "-" else 1), text[1:]
    for ch in text:
        if not ch.isdigit():
            break
        digits += ch
    return sign * int(digits) if digits else 0


def parse_penaltychange(value: str) -> PenaltyRule | None:
    """The value of a ``penaltychange`` line; None where app_queue refuses it (no comma, or
    a negative time)."""
    parts = [p.strip() for p in value.split(",")]
    if len(parts) < 2:
        return None
    time = _atoi(parts[0])
    if time < 0:
        return None
    maxstr = parts[1]
    minstr = parts[2] if len(parts) > 2 else ""
    raisestr = parts[3] if len(parts) > 3 else ""
    respect = raisestr.startswith("r")
    if respect:
        raisestr = raisestr[1:]
    return PenaltyRule(
        time=time,
        max_value=_atoi(maxstr),
        max_relative=maxstr[:1] in ("+", "-", ""),
        min_value=_atoi(minstr),
        min_relative=minstr[:1] in ("+", "-", ""),
        raise_value=_atoi(raisestr),
        raise_relative=raisestr[:1] in ("+", "-", ""),
        raise_respect_min=respect,
    )


def parse_queuerules(text: str) -> dict[str, tuple[PenaltyRule, ...]]:
    """queuerules.conf: ``[name]`` sections of ``penaltychange`` lines, each list in time
    order (a later line of the same time after the earlier ones); ``[general]`` is not a
    rule list; ``;`` starts a comment."""
    rules: dict[str, list[PenaltyRule]] = {}
    section = ""
    for raw in text.splitlines():
        line = raw.split(";", 1)[0].strip()
        if not line:
            continue
        if line.startswith("[") and "]" in line:
            section = line[1 : line.index("]")].strip()
            if section.lower() != "general":
                rules.setdefault(section, [])
            continue
        key, sep, value = line.partition("=")
        if not sep or section.lower() in ("", "general"):
            continue
        if key.strip().lower() != "penaltychange":
            continue
        rule = parse_penaltychange(value.lstrip(">"))
        if rule is not None:
            ordered = rules[section]
            index = next((i for i, r in enumerate(ordered) if rule.time < r.time), len(ordered))
            ordered.insert(index, rule)
    return {name: tuple(lines) for name, lines in rules.items()}


def _number(value: str | None) -> int | None:
    """sscanf("%30d"): a leading integer, else no limit."""
    if value is None:
        return NO_LIMIT
    text = value.strip()
    body = text[1:] if text[:1] in "+-" else text
    digits = ""
    for ch in body:
        if not ch.isdigit():
            break
        digits += ch
    if not digits:
        return NO_LIMIT
    return int(digits) * (-1 if text.startswith("-") else 1)


def range_from_variables(variables: Mapping[str, str]) -> PenaltyRange:
    """The range queue_exec reads from the caller's channel variables."""
    raise_text = variables.get("QUEUE_RAISE_PENALTY")
    respect = raise_text is not None and raise_text.startswith("r")
    if respect and raise_text is not None:
        raise_text = raise_text[1:]
    return PenaltyRange(
        max_penalty=_number(variables.get("QUEUE_MAX_PENALTY")),
        min_penalty=_number(variables.get("QUEUE_MIN_PENALTY")),
        raise_penalty=_number(raise_text),
        raise_respect_min=respect,
    )


def apply_rule(current: PenaltyRange, rule: PenaltyRule) -> tuple[PenaltyRange, dict[str, str]]:
    """update_qe_rule: the caller's new range and the channel variables app_queue sets (in
    its order: max, min, raise), only for limits that were set."""
    out: dict[str, str] = {}
    new = current
    max_penalty = NO_LIMIT
    if current.max_penalty is not None:
        max_penalty = current.max_penalty + rule.max_value if rule.max_relative else rule.max_value
        max_penalty = max(0, max_penalty)
        out["QUEUE_MAX_PENALTY"] = str(max_penalty)
        new = replace(new, max_penalty=max_penalty)
    if current.min_penalty is not None:
        min_penalty = current.min_penalty + rule.min_value if rule.min_relative else rule.min_value
        min_penalty = max(0, min_penalty)
        if max_penalty is not None and min_penalty > max_penalty:
            min_penalty = max_penalty
        out["QUEUE_MIN_PENALTY"] = str(min_penalty)
        new = replace(new, min_penalty=min_penalty)
    if current.raise_penalty is not None:
        raised = (
            current.raise_penalty + rule.raise_value if rule.raise_relative else rule.raise_value
        )
        raised = max(0, raised)
        if max_penalty is not None and raised > max_penalty:
            raised = max_penalty
        respect = rule.raise_respect_min
        out["QUEUE_RAISE_PENALTY"] = f"r{raised}" if respect else str(raised)
        new = replace(new, raise_penalty=raised, raise_respect_min=respect)
    return new, out


def offered_penalty(member_penalty: int, limits: PenaltyRange) -> int | None:
    """calc_metric: the penalty a member is ranked by for this caller, or None when the
    caller's range leaves the member out."""
    penalty = member_penalty
    raised = limits.raise_penalty
    if (
        raised is not None
        and penalty < raised
        and not (
            limits.raise_respect_min
            and limits.min_penalty is not None
            and penalty < limits.min_penalty
        )
    ):
        penalty = raised
    if limits.max_penalty is not None and penalty > limits.max_penalty:
        return None
    if limits.min_penalty is not None and penalty < limits.min_penalty:
        return None
    return penalty


def rule_argument(data: str, asterisk_version: str) -> str:
    """The ``rule`` argument of ``Queue(data)``: the 9th before Asterisk 21, the 8th from
    21 on (app_macro's ``macro`` argument went away); "" (the queue's defaultrule) when
    absent."""
    try:
        major = int(asterisk_version.split(".", 1)[0])
    except ValueError:
        major = 22
    args = data.split(",")
    index = 7 if major >= 21 else 8
    return args[index].strip() if len(args) > index else ""
