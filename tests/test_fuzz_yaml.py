"""Property tests of every YAML the service reads: settings (with environment overrides),
IVR flows (loader and validator) and the routing files (shifts, roster, agents).

Whatever the text, the result is the object it describes or the module's own error naming
the file (and the line, where the text has one): never a KeyError, TypeError, RecursionError
or a hang. Documents come three ways: arbitrary text or bytes, documents built from the
real keys with values of every YAML type, and the shipped files with a few lines mutated.
"""

from __future__ import annotations

import dataclasses
import re
import types
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

import pytest
import yaml
from fuzzing import quick_and_long
from hypothesis import strategies as st

from callcenter.config import Settings, load_settings
from callcenter.core.settings_error import ConfigError
from callcenter.ivr import loader as ivr_loader
from callcenter.ivr.loader import Problem, load_text
from callcenter.ivr.prompts import load_catalogue
from callcenter.ivr.validator import validate
from callcenter.routing.directory import Directory, directory_from_mapping
from callcenter.routing.roster import PERIODS, Roster
from callcenter.routing.roster_file import roster_from_mapping
from callcenter.routing.shifts import ShiftBook, load_shifts, shifts_from_mapping
from callcenter.routing.yamlio import RoutingConfigError, parse_yaml

ROOT = Path(__file__).resolve().parent.parent

# --- values of every YAML type, and text that means something to some loader ----------------

SPECIAL_TEXT = [
    "", " ", "Asia/Shanghai", "Asia", "UTC", "Etc/GMT+8", "../x", "a" * 300, "08:00", "24:00",
    "23:59", "25:61", "8:00", "20:00-08:00", "09:00-18:00", "mon-fri", "sat", "daily", "all",
    "weekdays", "holidays", "sqlite:///x.db", "postgresql://u:pw@h/db", "redis://localhost",
    "http://x", "PJSIP/1001", "Local/1001@agents", "housekeeper", "off", "on", "yes", "no",
    "~", "null", "true", "1e400", "nan", "2026-02-30", "2026-01-01", "9999-12-31", "CN", "XX",
    "utils", "__init__", "zh", "en", "5s", "500ms", "2m", "0s", "(", "a{99999999999}",
    "(" * 600, "\x00", "中文", "day", "night", "mid", "休", "-", "kf01", "S1001", "support",
    "work", "quarter", "week", "owner", "vip", "number", "digits", "100@default",
]  # fmt: skip
SPECIAL_INTS = [0, 1, -1, 7, 65535, 65536, 10**20, 10**400]
text = st.one_of(
    st.sampled_from(SPECIAL_TEXT),
    st.text(st.characters(blacklist_categories=["Cs"]), max_size=16),
)
integers = st.one_of(st.sampled_from(SPECIAL_INTS), st.integers(-1000, 100_000))
scalars = st.one_of(
    st.none(),
    st.booleans(),
    integers,
    st.floats(allow_nan=True, allow_infinity=True),
    text,
    st.dates(min_value=date(1, 1, 2), max_value=date(9999, 12, 30)),
    st.datetimes(min_value=__import__("datetime").datetime(1, 1, 2)),
)
yaml_value = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=12,
)

# YAML syntax that tends to break loaders: tags, anchors, merges, flow collections.
YAML_TOKENS = [
    "[", "]", "{", "}", "&a ", "*a", "!!int x", "!!float y", "!!timestamp 2026-13-45",
    "!!binary %%", "!!str", "!!python/object:os.system", "!custom", "? ", "- ", ": ", "|",
    ">", "'", '"', "\t", "#", "<<: *a", "%YAML 1.1\n", "---\n", "...\n", ",", "\\", "\x01",
    "\ufeff", "0x1F", "0o17", "1_000", "12:30:00", ".inf", ".nan", "&x [*x]", "{a: &y {b: *y}}",
]  # fmt: skip
tokens = st.one_of(st.sampled_from(YAML_TOKENS), st.sampled_from(SPECIAL_TEXT), text)


def mutate(original: str, edits: list[tuple[str, int, str]]) -> str:
    """A few line-level edits of a real file: the parser's paths stay deep inside it."""
    lines = original.splitlines()
    for op, where, token in edits:
        if not lines:
            break
        i = where % len(lines)
        line = lines[i]
        if op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, line)
        elif op == "value":
            key, sep, _ = line.partition(": ")
            lines[i] = f"{key}{sep or ': '}{token}"
        elif op == "insert":
            at = where % (len(line) + 1)
            lines[i] = line[:at] + token + line[at:]
        elif op == "indent":
            lines[i] = "  " + line
        elif op == "dedent":
            lines[i] = line.lstrip()
        elif op == "truncate":
            lines = lines[: i + 1]
            lines[-1] = line[: where % (len(line) + 1)]
    return "\n".join(lines) + "\n"


def mutated(*files: str) -> st.SearchStrategy[str]:
    originals = [(ROOT / f).read_text(encoding="utf-8") for f in files]
    edit = st.tuples(
        st.sampled_from(["delete", "duplicate", "value", "insert", "indent", "dedent", "truncate"]),
        st.integers(0, 10**6),
        tokens,
    )
    return st.builds(mutate, st.sampled_from(originals), st.lists(edit, min_size=1, max_size=4))


def dumped(documents: st.SearchStrategy[Any]) -> st.SearchStrategy[str]:
    return documents.map(lambda d: yaml.safe_dump(d, allow_unicode=True, sort_keys=False))


def any_text(documents: st.SearchStrategy[Any], *files: str) -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(st.characters(blacklist_categories=["Cs"]), max_size=200),
        st.lists(tokens, max_size=12).map("".join),
        dumped(documents),
        dumped(documents),
        mutated(*files),
        mutated(*files),
    )


def names_the_place(message: str, origin: str) -> None:
    assert message.startswith(origin), message[:200]


# --- settings ----------------------------------------------------------------------------------


def _typed(hint: Any) -> st.SearchStrategy[Any]:
    origin = get_origin(hint)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return settings_document(hint)
    if origin is Literal:
        return st.sampled_from(get_args(hint)) | text
    if origin in (Union, types.UnionType):
        return st.one_of(*(_typed(a) for a in get_args(hint) if a is not type(None)), st.none())
    if origin is list:
        return st.lists(_field(get_args(hint)[0]), max_size=3)
    if origin is dict:
        return st.dictionaries(text, _field(get_args(hint)[1]), max_size=3)
    if hint is bool:
        return st.booleans()
    if hint is int:
        return integers
    if hint is float:
        return st.floats(allow_nan=True, allow_infinity=True) | integers
    return text


def _field(hint: Any) -> st.SearchStrategy[Any]:
    # mostly the right type, sometimes anything
    return st.one_of(
        st.deferred(lambda: _typed(hint)), st.deferred(lambda: _typed(hint)), yaml_value
    )


def settings_document(cls: type[Any]) -> st.SearchStrategy[dict[str, Any]]:
    hints = get_type_hints(cls)
    known = st.fixed_dictionaries(
        {}, optional={f.name: _field(hints[f.name]) for f in dataclasses.fields(cls)}
    )
    unknown = st.dictionaries(text, yaml_value, max_size=1)
    return st.builds(lambda k, u: {**u, **k}, known, unknown | st.just({}) | st.just({}))


def setting_paths(cls: type[Any], prefix: str = "") -> list[str]:
    hints = get_type_hints(cls)
    out: list[str] = []
    for f in dataclasses.fields(cls):
        hint, dotted = hints[f.name], f"{prefix}{f.name}"
        out.append(dotted)
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            out += setting_paths(hint, dotted + ".")
        elif get_origin(hint) is list:
            (item,) = get_args(hint)
            if dataclasses.is_dataclass(item):
                for index in ("0", "1", "10", "99999999999"):
                    out += setting_paths(item, f"{dotted}.{index}.")
        elif get_origin(hint) is dict:
            out += [f"{dotted}.400", f"{dotted}.support"]
    return out


ENV_KEYS = ["CALLCENTER_" + p.upper().replace(".", "__") for p in setting_paths(Settings)]
environments = st.dictionaries(
    st.one_of(
        st.sampled_from(ENV_KEYS),
        st.builds(
            lambda k, s: k + s,
            st.sampled_from(ENV_KEYS),
            st.sampled_from(["__X", "__0", "___", "__²"]),
        ),
    ),
    st.one_of(tokens, st.sampled_from(["[1, 2]", "{a: 1}", "- a", "&a [*a]", "0.85", "true"])),
    max_size=4,
)
settings_texts = any_text(settings_document(Settings), "config/callcenter.yaml", "config/demo.yaml")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz-settings")


def settings_load_or_name_the_place(
    workdir: Path, data: str | bytes, environ: dict[str, str]
) -> None:
    path = workdir / "settings.yaml"
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    try:
        loaded = load_settings(path, environ=environ)
    except ConfigError as exc:
        message = str(exc)
        assert message.startswith((f"{path}:", "environment")), message[:200]
        return
    assert isinstance(loaded, Settings)
    assert loaded.check() == {}


test_settings_load_or_name_the_place, test_settings_long = quick_and_long(
    settings_load_or_name_the_place,
    data=settings_texts | st.binary(max_size=200),
    environ=st.just({}) | environments,
)


@pytest.mark.parametrize(
    ("text_or_env", "where"),
    [
        ({"CALLCENTER_PBXES__99999999999__NAME": "x"}, "environment"),
        ("timezone: Asia\n", ":1:"),
        ("targets:\n  answer_rate: " + "9" * 400 + "\n", ":2:"),
        ("a: " + "[" * 5000 + "\n", ":1: invalid YAML: nested too deeply"),
        ("a: &x {b: *x}\n", ":1:"),
        ("targets: !!int x\n", ":1"),
        ("targets: !!timestamp x\n", ":1"),
        ("\x01\n", ":1"),
    ],
    ids=[
        "huge-index",
        "zone-directory",
        "huge-number",
        "deep",
        "recursive",
        "int-tag",
        "timestamp-tag",
        "control",
    ],
)
def test_settings_mistakes_found_by_fuzzing_name_the_place(
    tmp_path: Path, text_or_env: str | dict[str, str], where: str
) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(text_or_env if isinstance(text_or_env, str) else "", encoding="utf-8")
    environ = text_or_env if isinstance(text_or_env, dict) else {}
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ=environ)
    message = str(caught.value)
    assert message.startswith("environment" if where == "environment" else f"{path}{where}")


def test_settings_file_that_is_not_utf8_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_bytes(b"timezone: \xff\xfe\n")
    with pytest.raises(ConfigError, match=r"s\.yaml:1: .*UTF-8"):
        load_settings(path, environ={})


# --- IVR flows ---------------------------------------------------------------------------------

NODE_IDS = ["welcome", "main", "agent", "bye", "a", "b", "missing", "bad id"]
node_ref = st.sampled_from(NODE_IDS) | text
prompts = st.one_of(
    st.sampled_from(["welcome", "main_menu", "connecting", "goodbye", "nope"]),
    st.lists(st.sampled_from(["welcome", "invalid", "x y"]), max_size=3),
    yaml_value,
)
durations = st.one_of(
    st.sampled_from(["5s", "500ms", "2m", "0s", "4000s", "1.5", "abc"]),
    st.integers(-5, 5000),
    st.floats(allow_nan=True),
)


def _ivr_value(key: str) -> st.SearchStrategy[Any]:
    if key in ("next", "on_timeout", "on_invalid", "on_fail", "found", "not_found", "vip",
               "arrears", "housekeeper", "overflow", "after", "fallback", "otherwise", "node"):  # fmt: skip
        return node_ref
    if key in ("prompt", "invalid_prompt", "thanks", "after_say"):
        return prompts
    if key in ("timeout", "max_wait", "ring_timeout"):
        return durations
    if key in ("retries", "priority", "min", "max"):
        return integers
    if key == "options":
        return st.dictionaries(
            st.sampled_from([*"0123456789*#", "10", "a"]) | text, node_ref, max_size=4
        )
    if key == "cases":
        condition = st.fixed_dictionaries(
            {},
            optional={
                "open": st.sampled_from(["service", "nope"]) | text,
                "holiday": st.booleans() | text,
                "var": st.sampled_from(["unit", "satisfaction"]) | text,
                "equals": scalars,
                "matches": st.sampled_from(["^1", "(", "a{99999999999}", "(" * 600]) | text,
                "owner": st.sampled_from(["found", "vip", "zone", "nope"]),
                "language": st.sampled_from(["zh", "en", "fr"]),
                "unknown": scalars,
            },
        )
        case = st.fixed_dictionaries({"if": condition | yaml_value, "goto": node_ref})
        return st.lists(case | yaml_value, max_size=3)
    if key == "values":
        return st.dictionaries(text, scalars, max_size=3) | yaml_value
    if key == "to":
        return st.sampled_from(["housekeeper", "PJSIP/1001", "nowhere"]) | text
    return st.one_of(scalars, scalars, yaml_value)


def _ivr_node(kind: str) -> st.SearchStrategy[dict[str, Any]]:
    spec = ivr_loader.KEYS[kind]
    return st.fixed_dictionaries(
        {"kind": st.just(kind)}, optional={key: _ivr_value(key) for key in [*spec, "bogus"]}
    )


ivr_node = st.sampled_from(sorted(ivr_loader.KEYS)).flatmap(_ivr_node) | yaml_value
schedule = st.fixed_dictionaries(
    {},
    optional={
        "days": st.sampled_from(["daily", "mon-fri", "sat-mon", "xyz"])
        | st.lists(st.sampled_from(["mon", "sun", "fri-tue", "7"])),
        "hours": st.sampled_from(["07:00-22:00", "22:00-07:00", "25:00-26:00", "7-8"]) | text,
        "holidays": st.sampled_from(["open", "closed", "maybe"]),
    },
)
flow_document = st.fixed_dictionaries(
    {},
    optional={
        "flow": st.sampled_from(["hotline", "other", "bad name"]) | text,
        "description": scalars,
        "languages": st.lists(st.sampled_from(["zh", "en", "fr"]), max_size=3) | yaml_value,
        "start": node_ref,
        "schedules": st.dictionaries(st.sampled_from(["service", "night"]), schedule | yaml_value),
        "nodes": st.dictionaries(st.sampled_from(NODE_IDS), ivr_node, max_size=6) | yaml_value,
    },
)
flow_texts = any_text(flow_document, "ivr_flows/hotline.yaml")
CATALOGUE, _ = load_catalogue(ROOT / "ivr_flows" / "prompts")
HOTLINE_FILE = str(ROOT / "ivr_flows" / "hotline.yaml")
HOTLINE, _ = load_text(
    (ROOT / "ivr_flows" / "hotline.yaml").read_text(encoding="utf-8"), HOTLINE_FILE
)
FLOW_FILE = "ivr_flows/fuzzed.yaml"


def assert_problems_name_the_place(problems: list[Problem], files: set[str]) -> None:
    for problem in problems:
        assert isinstance(problem, Problem)
        assert problem.file in files and problem.line >= 1 and problem.column >= 1
        assert problem.reason


def flow_loads_and_validates_or_reports(text: str) -> None:
    flow, problems = load_text(text, FLOW_FILE)
    assert_problems_name_the_place(problems, {FLOW_FILE})
    if flow is None:
        assert problems
        return
    assert HOTLINE is not None
    found = validate(
        [flow, HOTLINE], queues={"support", "repair", "complaint"}, catalogue=CATALOGUE
    )
    assert_problems_name_the_place(found, {FLOW_FILE, HOTLINE_FILE})


test_flows_load_and_validate_or_report, test_flows_long = quick_and_long(
    flow_loads_and_validates_or_reports, quick=400, text=flow_texts
)


@pytest.mark.parametrize(
    "text",
    [
        "flow: f\nstart: a\nnodes:\n  a: {kind: play, prompt: !!int x, next: a}\n",
        "flow: f\nstart: a\nnodes:\n  a: {kind: queue, queue: support, priority: !!float y}\n",
        "flow: f\nstart: a\nnodes:\n  a: {kind: hangup, prompt: !custom x}\n",
        "flow: f\nstart: a\nnodes:\n  a: {kind: hangup, prompt: !!timestamp x}\n",
        "flow: f\nstart: a\nnodes:\n  a:\n    kind: collect\n    prompt: p\n    into: v\n"
        "    next: a\n    on_fail: a\n    pattern: '" + "(" * 600 + "'\n",
        "flow: f\nstart: a\nnodes:\n  a: {kind: collect, prompt: p, into: v, next: a, on_fail: a,"
        " pattern: 'a{99999999999}'}\n",
        "flow: f\nnodes: " + "[" * 5000 + "\n",
        "flow: f\x01\n",
    ],
    ids=[
        "int-tag",
        "float-tag",
        "unknown-tag",
        "timestamp-tag",
        "deep-pattern",
        "huge-repeat",
        "deep",
        "control",
    ],
)
def test_flow_mistakes_found_by_fuzzing_are_problems(text: str) -> None:
    _flow, problems = load_text(text, FLOW_FILE)
    assert problems
    assert_problems_name_the_place(problems, {FLOW_FILE})


# --- routing files -----------------------------------------------------------------------------

BOOK = load_shifts(ROOT / "config" / "shifts.yaml")
SHIFT_NAMES = sorted(BOOK.shifts)
ORIGIN = "config/fuzzed.yaml"
dates = st.one_of(
    st.dates(min_value=date(1, 1, 2), max_value=date(9999, 12, 30)),
    st.dates(min_value=date(2024, 1, 1), max_value=date(2027, 12, 31)),
    st.datetimes(),
    st.sampled_from(["2026-02-30", "2026-01-01", "x"]),
)
agents = st.sampled_from(["kf01", "kf02", "zl01", "gj01", "nobody"])
pattern_row = st.one_of(
    st.lists(st.sampled_from([*SHIFT_NAMES, "off", "休", "-", "nope"]), min_size=1, max_size=7).map(
        " ".join
    ),
    st.lists(st.sampled_from([*SHIFT_NAMES, "off"]), max_size=7),
    yaml_value,
)
rotation = st.fixed_dictionaries(
    {},
    optional={
        "name": st.sampled_from(["r1", "r2"]) | scalars,
        "team": st.sampled_from(["hotline", "zone"]) | scalars,
        "anchor": dates,
        "pattern": st.lists(pattern_row, max_size=3) | yaml_value,
        "members": st.one_of(
            st.lists(agents | scalars, max_size=4),
            st.fixed_dictionaries(
                {},
                optional={
                    "pool": st.sampled_from(["p1", "p2"]) | scalars,
                    "slots": st.lists(integers | scalars, max_size=3) | yaml_value,
                },
            ),
            yaml_value,
        ),
        "holidays": st.sampled_from(["work", "off", "maybe"]) | scalars,
        "from": dates,
        "until": dates,
        "bogus": scalars,
    },
)
pool = st.fixed_dictionaries(
    {},
    optional={
        "agents": st.lists(agents | scalars, max_size=4) | yaml_value,
        "anchor": dates,
        "every": st.sampled_from([*PERIODS, "decade"]) | scalars,
        "step": integers | scalars,
    },
)
exception_entry = st.fixed_dictionaries(
    {},
    optional={
        "agent": agents | scalars,
        "with": agents | scalars,
        "from": dates,
        "to": dates,
        "date": dates,
        "shift": st.sampled_from([*SHIFT_NAMES, "nope"]) | scalars,
        "reason": scalars,
        "team": scalars,
    },
)
roster_document = st.fixed_dictionaries(
    {},
    optional={
        "holidays": st.sampled_from(["CN", "", "XX", "utils", "__init__", "HolidayBase"]) | scalars,
        "extra_holidays": st.dictionaries(dates.map(str) | text, scalars, max_size=3) | yaml_value,
        "pools": st.dictionaries(
            st.sampled_from(["p1", "p2"]) | text, pool | yaml_value, max_size=2
        )
        | yaml_value,
        "rotations": st.lists(rotation | yaml_value, max_size=3) | yaml_value,
        "leave": st.lists(exception_entry, max_size=2) | yaml_value,
        "swaps": st.lists(exception_entry, max_size=2) | yaml_value,
        "extra": st.lists(exception_entry, max_size=2) | yaml_value,
    },
)
clock = st.sampled_from(["08:00", "20:00", "24:00", "00:00", "25:00", "12:30", "8"]) | scalars
shift = st.fixed_dictionaries(
    {},
    optional={
        "start": clock,
        "end": clock,
        "label_zh": scalars,
        "label_en": scalars,
        "breaks": st.lists(
            st.fixed_dictionaries({}, optional={"start": clock, "end": clock, "reason": scalars}),
            max_size=2,
        )
        | yaml_value,
        "bogus": scalars,
    },
)
shifts_document = st.fixed_dictionaries(
    {},
    optional={
        "timezone": st.sampled_from(["Asia/Shanghai", "Asia", "a" * 300, "", "UTC"]) | scalars,
        "shifts": st.dictionaries(
            st.sampled_from(["day", "night", "off"]) | text, shift | yaml_value
        )
        | yaml_value,
    },
)
directory_document = st.fixed_dictionaries(
    {},
    optional={
        "seats": st.dictionaries(
            st.sampled_from(["S1", "S2"]) | text,
            st.fixed_dictionaries(
                {},
                optional={
                    "interface": st.sampled_from(["PJSIP/1001", "PJSIP/", "x"]) | scalars,
                    "label": scalars,
                },
            )
            | yaml_value,
            max_size=3,
        )
        | yaml_value,
        "agents": st.dictionaries(
            agents | text,
            st.fixed_dictionaries(
                {},
                optional={
                    "name": scalars,
                    "seat": st.sampled_from(["S1", "S2", "S9"]) | scalars,
                    "team": scalars,
                    "queues": st.dictionaries(text, integers | scalars, max_size=2)
                    | st.sampled_from(["support:0;repair:1", "support:x", "a b"])
                    | yaml_value,
                    "language": st.sampled_from(["zh", "en", "fr"]) | scalars,
                    "skills": yaml_value,
                    "roles": yaml_value,
                    "vip_handler": scalars,
                },
            )
            | yaml_value,
            max_size=3,
        )
        | yaml_value,
        "zones": st.dictionaries(
            text,
            st.fixed_dictionaries(
                {},
                optional={
                    "name_zh": scalars,
                    "name_en": scalars,
                    "buildings": yaml_value,
                    "housekeeper": agents | scalars,
                    "queue": scalars,
                },
            )
            | yaml_value,
            max_size=2,
        )
        | yaml_value,
    },
)
routing_texts = st.one_of(
    any_text(roster_document, "config/roster.yaml"),
    any_text(shifts_document, "config/shifts.yaml"),
    any_text(directory_document, "config/agents.yaml"),
)


def routing_file_loads_or_names_the_place(text: str) -> None:
    try:
        data = parse_yaml(text, ORIGIN)
    except RoutingConfigError as exc:
        names_the_place(str(exc), ORIGIN)
        return
    try:
        book = shifts_from_mapping(data, ORIGIN, "Asia/Shanghai")
        assert isinstance(book, ShiftBook) and book.shifts
    except RoutingConfigError as exc:
        names_the_place(str(exc), ORIGIN)
    try:
        roster = roster_from_mapping(data, ORIGIN, BOOK)
    except RoutingConfigError as exc:
        names_the_place(str(exc), ORIGIN)
    else:
        assert isinstance(roster, Roster)
        # a roster that loads can be asked who works, on any day near its anchors
        for day in (date(2026, 1, 1), date(2026, 10, 1), date(2025, 12, 31) + timedelta(days=59)):
            roster.assignments(day)
    try:
        directory = directory_from_mapping(data, ORIGIN)
        assert isinstance(directory, Directory) and directory.problems() == []
    except RoutingConfigError as exc:
        names_the_place(str(exc), ORIGIN)


test_routing_files_load_or_name_the_place, test_routing_long = quick_and_long(
    routing_file_loads_or_names_the_place, quick=400, text=routing_texts
)


@pytest.mark.parametrize(
    "text",
    [
        "shifts:\n  day: {start: !!int x, end: '20:00'}\n",
        "timezone: Asia\nshifts:\n  day: {start: '08:00', end: '20:00'}\n",
        "timezone: " + "a" * 300 + "\nshifts:\n  day: {start: '08:00', end: '20:00'}\n",
        "holidays: utils\nrotations: []\n",
        "rotations: []\nleave:\n- {agent: kf01, from: 2026-01-01 10:00:00, to: 2026-01-02}\n",
        "rotations: []\nleave:\n- {agent: kf01, from: !!timestamp x}\n",
        "a: " + "[" * 5000 + "\n",
        "a: \x01\n",
    ],
    ids=[
        "int-tag",
        "zone-directory",
        "zone-too-long",
        "country",
        "datetime",
        "timestamp-tag",
        "deep",
        "control",
    ],
)
def test_routing_mistakes_found_by_fuzzing_name_the_place(text: str) -> None:
    with pytest.raises(RoutingConfigError) as caught:
        data = parse_yaml(text, ORIGIN)
        if "shifts" in data:
            shifts_from_mapping(data, ORIGIN, "Asia/Shanghai")
        roster_from_mapping(data, ORIGIN, BOOK)
    assert re.match(re.escape(ORIGIN) + r":\d+: ", str(caught.value)), str(caught.value)


def test_agent_skills_that_are_no_list_name_the_place() -> None:
    # Found by the routing property: "skills: true" raised TypeError (and a 500 from the API).
    data = parse_yaml("agents:\n  kf01: {name: 王伟, skills: true}\n", ORIGIN)
    with pytest.raises(RoutingConfigError, match=r"^config/fuzzed\.yaml:2: agents\.kf01\.skills"):
        directory_from_mapping(data, ORIGIN)
