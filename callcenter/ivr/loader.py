"""YAML -> ``Flow``, keeping the line and column of every node and key for messages.

The loader reports every problem it finds (``file:line:column: reason``) instead of
stopping at the first; graph checks live in ``validator.py``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from callcenter.core.yamlfile import YamlSyntaxError, parse_yaml_text, yaml_problem_zh
from callcenter.ivr import schema as s
from callcenter.ivr.schema import Flow, Mark, Node

DTMF = set("0123456789*#")
ID_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_DURATION_S = 3600.0


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    line: int
    column: int
    reason: str
    reason_zh: str = ""  # for a Chinese page, where we have it; empty: the English reason

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.reason}"


def yaml_syntax_problem(file: str, exc: YamlSyntaxError) -> Problem:
    return Problem(
        file, exc.line, exc.column, f"YAML syntax: {exc.problem}",
        f"YAML 语法错误：{yaml_problem_zh(exc.problem)}",
    )  # fmt: skip


class _Bad(ValueError):
    """A value is wrong; the reader turns it into a Problem at the value's position."""


def parse_duration(value: Any) -> float:
    """``5``, ``1.5``, ``"5s"``, ``"500ms"``, ``"2m"`` -> seconds; positive, at most 1 h."""
    if isinstance(value, bool):
        raise _Bad(f"a duration must be a number of seconds or like '5s', got {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min)?\s*", str(value))
        if not m:
            raise _Bad(f"bad duration {value!r} (use seconds, or '5s', '500ms', '2m')")
        factor = {"ms": 0.001, "s": 1.0, None: 1.0, "m": 60.0, "min": 60.0}[m.group(2)]
        seconds = float(m.group(1)) * factor
    if not 0 < seconds <= MAX_DURATION_S:
        raise _Bad(f"duration {value!r} must be more than 0 and at most 1 hour")
    return seconds


class _Reader:
    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []
        self.marks: dict[tuple[str, ...], Mark] = {}

    def problem(self, node: yaml.Node | None, reason: str) -> None:
        mark = node.start_mark if node is not None else None
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        self.problems.append(Problem(self.file, line, col, reason))

    def mark(self, path: tuple[str, ...], node: yaml.Node) -> None:
        self.marks[path] = Mark(node.start_mark.line + 1, node.start_mark.column + 1)

    def items(
        self, node: yaml.Node, what: str, dup: str = "duplicate key"
    ) -> list[tuple[str, yaml.Node, yaml.Node]]:
        if not isinstance(node, yaml.MappingNode):
            self.problem(node, f"{what} must be a mapping")
            return []
        out, seen = [], set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                self.problem(key_node, f"{dup} {key!r}")
                continue
            seen.add(key)
            out.append((key, key_node, value_node))
        return out

    def scalar(self, node: yaml.Node) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            raise _Bad("must be a single value")
        try:
            return yaml.SafeLoader("").construct_object(node)
        except (yaml.YAMLError, ValueError, TypeError, OverflowError, AttributeError) as exc:
            # a tag the text does not fit (!!int x) or one no loader knows (!custom)
            raise _Bad(f"not a valid value: {getattr(exc, 'problem', None) or exc}") from None

    def text(self, node: yaml.Node) -> str:
        value = self.scalar(node)
        if value is None or isinstance(value, bool):
            raise _Bad(f"must be text, got {value!r}")
        return str(value)

    def ident(self, node: yaml.Node) -> str:
        value = self.text(node)
        if not ID_RE.match(value):
            raise _Bad(f"{value!r} is not a valid name (letters, digits, '_' or '-')")
        return value

    def prompts(self, node: yaml.Node) -> tuple[str, ...]:
        if isinstance(node, yaml.SequenceNode):
            return tuple(self.ident(n) for n in node.value)
        return (self.ident(node),)


# value readers by spec name: (reader, node) -> value
Spec = Callable[[_Reader, yaml.Node], Any]


def _int(r: _Reader, n: yaml.Node) -> int:
    v = r.scalar(n)
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise _Bad(f"must be a whole number, 0 or more, got {v!r}")
    return v


def _bool(r: _Reader, n: yaml.Node) -> bool:
    v = r.scalar(n)
    if not isinstance(v, bool):
        raise _Bad(f"must be true or false, got {v!r}")
    return v


def _choice(*allowed: str) -> Spec:
    def read(r: _Reader, n: yaml.Node) -> str:
        v = r.text(n)
        if v not in allowed:
            raise _Bad(f"must be one of {', '.join(allowed)}, got {v!r}")
        return v

    return read


def _digit(r: _Reader, n: yaml.Node) -> str:
    v = r.text(n)
    if v and not set(v) <= DTMF:
        raise _Bad(f"must be DTMF keys (0-9, *, #), got {v!r}")
    return v


def _regex(r: _Reader, n: yaml.Node) -> str:
    v = r.text(n)
    try:
        re.compile(v)
    except (re.error, RecursionError, OverflowError) as exc:  # "((((...", "a{99999999999}"
        raise _Bad(f"bad pattern {v[:40]!r}: {exc}") from None
    return v


TARGET, PROMPTS, TEXT = _Reader.ident, _Reader.prompts, _Reader.text
DURATION: Spec = lambda r, n: parse_duration(r.scalar(n))  # noqa: E731
LANGUAGE = _choice(*s.LANGUAGES)

# kind -> yaml key -> (dataclass field, reader, required)
KEYS: dict[str, dict[str, tuple[str, Spec, bool]]] = {
    "play": {"prompt": ("prompt", PROMPTS, True), "next": ("next", TARGET, True),
             "say": ("say", _Reader.ident, False), "say_as": ("say_as", _choice("number", "digits"), False),
             "after_say": ("after_say", PROMPTS, False)},
    "menu": {"prompt": ("prompt", PROMPTS, True), "options": ("options", lambda r, n: None, True),
             "on_timeout": ("on_timeout", TARGET, True), "on_invalid": ("on_invalid", TARGET, False),
             "timeout": ("timeout_s", DURATION, False), "retries": ("retries", _int, False),
             "invalid_prompt": ("invalid_prompt", PROMPTS, False)},
    "collect": {"prompt": ("prompt", PROMPTS, True), "into": ("into", _Reader.ident, True),
                "next": ("next", TARGET, True), "on_fail": ("on_fail", TARGET, True),
                "min": ("min_digits", _int, False), "max": ("max_digits", _int, False),
                "terminator": ("terminator", _digit, False), "pattern": ("pattern", _regex, False),
                "timeout": ("timeout_s", DURATION, False), "retries": ("retries", _int, False),
                "invalid_prompt": ("invalid_prompt", PROMPTS, False)},
    "lookup": {"what": ("what", _choice("owner", "balance"), False),
               "found": ("found", TARGET, True), "not_found": ("not_found", TARGET, True),
               "vip": ("vip", TARGET, False), "arrears": ("arrears", TARGET, False),
               "housekeeper": ("housekeeper", TARGET, False),
               "unit": ("unit", _Reader.ident, False), "into": ("into", _Reader.ident, False)},
    "branch": {"cases": ("cases", lambda r, n: None, True), "otherwise": ("otherwise", TARGET, True)},
    "queue": {"queue": ("queue", TEXT, True), "priority": ("priority", _int, False),
              "max_wait": ("max_wait_s", DURATION, False),
              "announce_position": ("announce_position", _bool, False),
              "overflow": ("overflow", TARGET, False), "after": ("after", TARGET, False),
              "prompt": ("prompt", PROMPTS, False)},
    "dial": {"to": ("to", TEXT, True), "fallback": ("fallback", TARGET, True),
             "ring_timeout": ("ring_timeout_s", DURATION, False), "after": ("after", TARGET, False),
             "overflow": ("overflow", TARGET, False), "prompt": ("prompt", PROMPTS, False)},
    "voicemail": {"mailbox": ("mailbox", TEXT, False), "callback": ("callback", _bool, False),
                  "reason": ("reason", TEXT, False), "prompt": ("prompt", PROMPTS, False)},
    "survey": {"prompt": ("prompt", PROMPTS, True), "next": ("next", TARGET, True),
               "into": ("into", _Reader.ident, False), "timeout": ("timeout_s", DURATION, False),
               "retries": ("retries", _int, False), "invalid_prompt": ("invalid_prompt", PROMPTS, False),
               "thanks": ("thanks", PROMPTS, False)},
    "set": {"values": ("values", lambda r, n: None, False), "language": ("language", LANGUAGE, False),
            "next": ("next", TARGET, True)},
    "goto": {"flow": ("flow", _Reader.ident, True), "node": ("node", _Reader.ident, False)},
    "hangup": {"prompt": ("prompt", PROMPTS, False)},
}  # fmt: skip
CONDITION_KEYS = {"open", "holiday", "var", "equals", "matches", "owner", "language"}
OWNER_ATTRS = ("found", "vip", "arrears", "housekeeper", "zone", "language")


def _options(r: _Reader, nid: str, node: yaml.Node) -> dict[str, str]:
    out: dict[str, str] = {}
    for digit, key_node, value in r.items(node, "options", dup="duplicate digit"):
        if len(digit) != 1 or digit not in DTMF:
            r.problem(key_node, f"menu option {digit!r} must be one key: 0-9, * or #")
            continue
        try:
            out[digit] = r.ident(value)
            r.mark(("nodes", nid, f"options.{digit}"), value)
        except _Bad as exc:
            r.problem(value, f"options.{digit}: {exc}")
    if isinstance(node, yaml.MappingNode) and not node.value:
        r.problem(node, "a menu needs at least one option")
    return out


def _condition(r: _Reader, node: yaml.Node) -> s.Condition:
    fields: dict[str, Any] = {}
    for key, key_node, value in r.items(node, "a condition ('if')"):
        if key not in CONDITION_KEYS:
            r.problem(
                key_node, f"unknown condition {key!r} (known: {', '.join(sorted(CONDITION_KEYS))})"
            )
            continue
        try:
            if key == "holiday":
                fields[key] = _bool(r, value)
            elif key == "owner":
                attr = r.text(value)
                if attr not in OWNER_ATTRS:
                    raise _Bad(
                        f"unknown owner attribute {attr!r} (known: {', '.join(OWNER_ATTRS)})"
                    )
                fields[key] = attr
            elif key == "matches":
                fields[key] = _regex(r, value)
            elif key == "language":
                fields[key] = LANGUAGE(r, value)
            else:
                fields[key] = r.text(value)
        except _Bad as exc:
            r.problem(value, f"{key}: {exc}")
    kinds = [k for k in ("open", "holiday", "var", "owner", "language") if k in fields]
    if len(kinds) != 1 and isinstance(node, yaml.MappingNode):
        r.problem(node, "a condition needs exactly one of open, holiday, var, owner, language")
    if ("equals" in fields or "matches" in fields) and "var" not in fields:
        r.problem(node, "equals/matches only go with var")
    return s.Condition(**fields)


def _cases(r: _Reader, nid: str, node: yaml.Node) -> tuple[s.Case, ...]:
    if not isinstance(node, yaml.SequenceNode) or not node.value:
        r.problem(node, "cases must be a list of {if: ..., goto: ...}")
        return ()
    out = []
    for i, item in enumerate(node.value):
        entry = {k: (kn, v) for k, kn, v in r.items(item, "a case")}
        for key, (kn, _) in entry.items():
            if key not in ("if", "goto"):
                r.problem(kn, f"unknown key {key!r} in a case (known: if, goto)")
        if "if" not in entry or "goto" not in entry:
            r.problem(item, "a case needs 'if' and 'goto'")
            continue
        try:
            goto = r.ident(entry["goto"][1])
        except _Bad as exc:
            r.problem(entry["goto"][1], f"goto: {exc}")
            continue
        r.mark(("nodes", nid, f"cases.{i}"), entry["goto"][1])
        r.mark(("nodes", nid, f"cases.{i}.if"), entry["if"][1])
        out.append(s.Case(_condition(r, entry["if"][1]), goto))
    return tuple(out)


def _values(r: _Reader, node: yaml.Node) -> dict[str, str]:
    out = {}
    for key, key_node, value in r.items(node, "values"):
        try:
            if not ID_RE.match(key):
                raise _Bad(f"{key!r} is not a valid variable name")
            v = r.scalar(value)
            out[key] = "" if v is None else str(v).lower() if isinstance(v, bool) else str(v)
        except _Bad as exc:
            r.problem(key_node, f"values.{key}: {exc}")
    return out


def _node(r: _Reader, nid: str, node: yaml.Node) -> Node:
    entries = {k: (kn, v) for k, kn, v in r.items(node, f"node {nid!r}")}
    if "kind" not in entries:
        r.problem(node, f"node {nid!r} needs a kind (one of {', '.join(KEYS)})")
        return s.Hangup(nid)  # a stand-in, so one mistake is reported once
    kind_node = entries.pop("kind")[1]
    kind = str(getattr(kind_node, "value", ""))
    if kind not in KEYS:
        r.problem(kind_node, f"unknown node kind {kind!r} (known: {', '.join(KEYS)})")
        return s.Hangup(nid)
    spec = KEYS[kind]
    kwargs: dict[str, Any] = {"id": nid}
    ok = True
    for key, (key_node, value) in entries.items():
        if key not in spec:
            r.problem(
                key_node, f"unknown key {key!r} for a {kind} node (known: kind, {', '.join(spec)})"
            )
            continue
        r.mark(("nodes", nid, key), value)
        field_name, read, _ = spec[key]
        try:
            if key == "options":
                kwargs[field_name] = _options(r, nid, value)
            elif key == "cases":
                kwargs[field_name] = _cases(r, nid, value)
            elif key == "values":
                kwargs[field_name] = _values(r, value)
            else:
                kwargs[field_name] = read(r, value)
        except _Bad as exc:
            r.problem(value, f"{key}: {exc}")
            ok = ok and not spec[key][2]  # a bad optional value: keep checking the rest
    for key, (_, _, required) in spec.items():
        if required and key not in entries:
            r.problem(node, f"{kind} node {nid!r} needs {key!r}")
            ok = False
    if kind == "menu" and "on_timeout" in kwargs:
        kwargs.setdefault("on_invalid", kwargs["on_timeout"])
    if kind == "collect" and kwargs.get("min_digits", 1) > kwargs.get("max_digits", 10):
        r.problem(node, f"collect node {nid!r}: min is larger than max")
        ok = False
    if not ok:
        return s.Hangup(nid)
    built: Node = s.KIND_BY_NAME[kind](**kwargs)
    return built


def _schedule(r: _Reader, name: str, node: yaml.Node) -> s.Schedule | None:
    entries = {k: (kn, v) for k, kn, v in r.items(node, f"schedule {name!r}")}
    for key, (kn, _) in entries.items():
        if key not in ("days", "hours", "holidays"):
            r.problem(
                kn, f"unknown key {key!r} in schedule {name!r} (known: days, hours, holidays)"
            )
    try:
        days = _days(r, entries["days"][1]) if "days" in entries else frozenset(range(7))
        if "hours" not in entries:
            raise _Bad(f"schedule {name!r} needs hours like '08:00-20:00'")
        hours_node = entries["hours"][1]
        m = re.fullmatch(r"(\d\d):(\d\d)-(\d\d):(\d\d)", r.text(hours_node))
        if not m or int(m[1]) > 24 or int(m[3]) > 24 or int(m[2]) > 59 or int(m[4]) > 59:
            r.problem(hours_node, "hours must look like '08:00-20:00' (may cross midnight)")
            return None
        holidays = r.text(entries["holidays"][1]) if "holidays" in entries else "closed"
        if holidays not in ("closed", "open"):
            r.problem(entries["holidays"][1], "holidays must be 'closed' or 'open'")
            return None
    except _Bad as exc:
        r.problem(node, str(exc))
        return None
    start, end = int(m[1]) * 60 + int(m[2]), int(m[3]) * 60 + int(m[4])
    return s.Schedule(name, days, start, end, holidays == "closed")


def _days(r: _Reader, node: yaml.Node) -> frozenset[int]:
    words = (
        [r.text(n) for n in node.value] if isinstance(node, yaml.SequenceNode) else [r.text(node)]
    )
    out: set[int] = set()
    for word in words:
        word = word.lower().strip()
        if word in ("daily", "all"):
            out |= set(range(7))
            continue
        first, _, last = word.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise _Bad(f"days: {word!r} is not like 'mon-fri', 'sat' or 'daily'")
        a, b = DAYS.index(first), DAYS.index(last or first)
        out |= set(range(a, b + 1)) if a <= b else set(range(a, 7)) | set(range(b + 1))
    return frozenset(out)


TOP_KEYS = ("flow", "description", "languages", "start", "schedules", "nodes")


def load_text(text: str, file: str) -> tuple[Flow | None, list[Problem]]:
    """Parse one flow file. A flow is returned whenever the YAML parsed, even with
    problems, so that the validator can report graph problems in the same run."""
    r = _Reader(file)
    try:
        root = parse_yaml_text(text, yaml.SafeLoader, yaml.SafeLoader.get_single_node)
    except YamlSyntaxError as exc:
        return None, [yaml_syntax_problem(file, exc)]
    if root is None:
        return None, [Problem(file, 1, 1, "empty flow file", "流程文件是空的")]
    r.marks[()] = Mark(1, 1)
    top = {k: (kn, v) for k, kn, v in r.items(root, "a flow file")}
    for key, (kn, _) in top.items():
        if key not in TOP_KEYS:
            r.problem(kn, f"unknown key {key!r} (known: {', '.join(TOP_KEYS)})")
    name = Path(file).stem
    fields: dict[str, Any] = {}
    for key in ("flow", "start", "description"):
        if key in top:
            try:
                fields[key] = r.ident(top[key][1]) if key != "description" else r.text(top[key][1])
                r.mark((key,), top[key][1])
            except _Bad as exc:
                r.problem(top[key][1], f"{key}: {exc}")
    languages = s.LANGUAGES
    if "languages" in top:
        node = top["languages"][1]
        try:
            languages = tuple(LANGUAGE(r, n) for n in getattr(node, "value", [])) or s.LANGUAGES
        except _Bad as exc:
            r.problem(node, f"languages: {exc}")
    schedules = {}
    if "schedules" in top:
        for sname, _, snode in r.items(top["schedules"][1], "schedules"):
            sched = _schedule(r, sname, snode)
            if sched is not None:
                schedules[sname] = sched
    nodes: dict[str, Node] = {}
    if "nodes" not in top:
        r.problem(root, "a flow needs 'nodes'")
    else:
        for nid, key_node, value in r.items(top["nodes"][1], "nodes", dup="duplicate node id"):
            if not ID_RE.match(nid):
                r.problem(key_node, f"{nid!r} is not a valid node id")
                continue
            r.mark(("nodes", nid), key_node)
            nodes[nid] = _node(r, nid, value)
    if "start" not in fields:
        r.problem(root, "a flow needs 'start' (the first node)")
    flow = Flow(
        name=fields.get("flow", name),
        start=fields.get("start", ""),
        nodes=nodes,
        languages=languages,
        schedules=schedules,
        description=fields.get("description", ""),
        file=file,
        marks=dict(r.marks),
    )
    return flow, r.problems


def flow_files(paths: Iterable[str | Path]) -> tuple[list[Path], list[Problem]]:
    """Expand files and directories (``*.yaml``/``*.yml``, not below ``prompts/``)."""
    out: list[Path] = []
    problems: list[Problem] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            out += sorted(
                p
                for p in path.rglob("*")
                if p.suffix in (".yaml", ".yml") and "prompts" not in p.relative_to(path).parts
            )
        elif path.is_file():
            out.append(path)
        else:
            problems.append(Problem(str(path), 1, 1, "no such file or directory"))
    return out, problems


def load_files(paths: Iterable[str | Path]) -> tuple[list[Flow], list[Problem]]:
    files, problems = flow_files(paths)
    flows: list[Flow] = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Problem(str(path), 1, 1, f"cannot read: {exc}"))
            continue
        flow, found = load_text(text, str(path))
        problems += found
        if flow is not None:
            flows.append(flow)
    return flows, problems
