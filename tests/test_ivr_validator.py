"""Flow loading and validation: every problem at once, each at file:line:column."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from callcenter.ivr.loader import load_text, parse_duration
from callcenter.ivr.prompts import load_catalogue
from callcenter.ivr.validator import validate, validate_paths

ROOT = Path(__file__).resolve().parent.parent
FLOWS = ROOT / "ivr_flows"
SIM_QUEUES = {"support", "repair", "complaint"}


def problems_of(text: str, **kw: object) -> list[str]:
    flow, found = load_text(text, "f.yaml")
    flows = [flow] if flow is not None else []
    return [str(p) for p in found + validate(flows, **kw)]  # type: ignore[arg-type]


def test_shipped_flows_pass_with_the_simulator_queues_and_prompt_texts() -> None:
    catalogue, problems = load_catalogue(FLOWS / "prompts")
    flows, found = validate_paths([FLOWS], queues=SIM_QUEUES, catalogue=catalogue)
    assert problems + found == []
    assert "hotline" in {f.name for f in flows}


def test_a_queue_named_like_a_reserved_route_is_refused_at_its_line() -> None:
    text = """\
flow: f
start: pick
nodes:
  pick:
    kind: menu
    prompt: menu
    options: {1: a, 2: b}
    on_timeout: a
  a: {kind: queue, queue: voicemail}
  b: {kind: queue, queue: Hangup}
"""
    found = problems_of(text, queues={"voicemail", "Hangup", "support"})
    reason = "a name HOTLINE_ROUTE keeps for the IVR's ends (done, fallback, hangup, "
    reason += "voicemail, in any case), not for a queue"
    assert found == [
        f"f.yaml:9:27: queue 'voicemail': {reason}",
        f"f.yaml:10:27: queue 'Hangup': {reason}",
    ]


def test_yaml_syntax_error_is_reported_at_its_line() -> None:
    assert problems_of("flow: a\nnodes:\n  x: {kind: hangup\n") == [
        "f.yaml:4:1: YAML syntax: expected ',' or '}', but got '<stream end>'"
    ]


@pytest.mark.parametrize(
    ("text", "zh"),
    [
        ("flow: a\nnodes:\n  x: {kind: hangup\n", "此处应为 ',' 或 '}'，实际是 文件结尾"),
        ("a: b: c\n", "此处不能写键值（冒号后缺空格或缩进不对？）"),
        ("a: 'open\n", "文件意外结束（引号或括号没有闭合？）"),
        ("a: 1\n\tb: 2\n", "字符 '\\t' 不能出现在这里（制表符？）"),
        ("", "流程文件是空的"),
    ],
)  # fmt: skip
def test_yaml_mistakes_are_said_in_chinese_too(text: str, zh: str) -> None:
    _flow, (problem,) = load_text(text, "f.yaml")
    assert problem.reason_zh.removeprefix("YAML 语法错误：") == zh


BROKEN = """\
flow: broken
start: welcome
schedules:
  office: {days: mon-fri, hours: "08:00-20:00"}
nodes:
  welcome: {kind: play, prompt: hi, next: main}
  main:
    kind: menu
    prompt: menu
    options:
      1: q
      1: q
      2: nowhere
    timeout: 5x
    on_timeout: spin
  spin: {kind: play, prompt: hi, next: spin2}
  spin2: {kind: set, values: {a: 1}, next: spin}
  q: {kind: queue, queue: sales, colour: red}
  orphan: {kind: hangup}
  when:
    kind: branch
    cases:
      - if: {open: night}
        goto: q
    otherwise: q
  odd: {kind: teleport}
"""


def test_every_problem_is_reported_at_once_with_positions() -> None:
    found = problems_of(BROKEN, queues=SIM_QUEUES)
    expected = [
        "f.yaml:12:7: duplicate digit '1'",
        "f.yaml:13:10: options.2: no node named 'nowhere'",
        "f.yaml:14:14: timeout: bad duration '5x' (use seconds, or '5s', '500ms', '2m')",
        "f.yaml:16:3: a loop that waits for no input through spin -> spin2",
        "f.yaml:16:3: dead end: no path from 'spin' reaches a queue, dial, voicemail or hangup",
        "f.yaml:17:3: dead end: no path from 'spin2' reaches a queue, dial, voicemail or hangup",
        "f.yaml:18:27: unknown queue 'sales' (known: complaint, repair, support)",
        "f.yaml:18:34: unknown key 'colour' for a queue node (known: kind, queue, priority, max_wait, announce_position, overflow, after, prompt)",
        "f.yaml:19:3: node 'orphan' is unreachable from the start",
        "f.yaml:20:3: node 'when' is unreachable from the start",
        "f.yaml:23:13: unknown schedule 'night' (known: office)",
        "f.yaml:26:3: node 'odd' is unreachable from the start",
        "f.yaml:26:15: unknown node kind 'teleport' (known: play, menu, collect, lookup, branch, queue, dial, voicemail, survey, set, goto, hangup)",
    ]
    for line in expected:
        assert line in found
    assert len(found) == len(expected), found


def test_a_menu_that_times_out_into_itself_strands_a_silent_caller() -> None:
    text = """\
start: m
nodes:
  m: {kind: menu, prompt: p, options: {1: q}, on_timeout: again}
  again: {kind: play, prompt: p, next: m}
  q: {kind: queue, queue: support}
"""
    assert problems_of(text) == [
        "f.yaml:3:3: a caller who presses nothing never leaves: loop through m -> again"
    ]


def test_missing_prompt_texts_and_audio_are_reported(tmp_path: Path) -> None:
    (tmp_path / "zh.yaml").write_text("hi: 你好\n", encoding="utf-8")
    (tmp_path / "en.yaml").write_text("hi: hello\nbye: bye\n", encoding="utf-8")
    (tmp_path / "zh").mkdir()
    (tmp_path / "zh" / "hi.wav").write_bytes(b"RIFF")
    catalogue, problems = load_catalogue(tmp_path, check_audio=True)
    assert problems == []
    text = "start: a\nnodes:\n  a: {kind: play, prompt: [hi, bye], next: b}\n  b: {kind: hangup}\n"
    found = problems_of(text, catalogue=catalogue)
    assert found == [
        "f.yaml:3:27: prompt: prompt 'bye' has no zh text",
        f"f.yaml:3:27: prompt: prompt audio missing: {tmp_path}/en/bye.wav (run 'callcenter prompts build')",
        f"f.yaml:3:27: prompt: prompt audio missing: {tmp_path}/en/hi.wav (run 'callcenter prompts build')",
    ]


def test_goto_across_flows_and_duplicate_names(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "flow: a\nstart: x\nnodes:\n  x: {kind: goto, flow: b, node: nope}\n"
    )
    (tmp_path / "b.yaml").write_text("flow: b\nstart: y\nnodes:\n  y: {kind: hangup}\n")
    (tmp_path / "c.yaml").write_text("flow: b\nstart: y\nnodes:\n  y: {kind: hangup}\n")
    _, found = validate_paths([tmp_path])
    assert [str(p) for p in found] == [
        f"{tmp_path}/a.yaml:4:34: goto: flow 'b' has no node 'nope'",
        f"{tmp_path}/c.yaml:1:7: flow 'b' is also defined in {tmp_path}/b.yaml",
    ]


def test_durations() -> None:
    assert parse_duration("500ms") == 0.5
    assert parse_duration("2m") == 120.0
    assert parse_duration(7) == 7.0
    for bad in ("0s", "-1", "2h", True, "soon"):
        try:
            parse_duration(bad)
        except ValueError:
            continue
        raise AssertionError(f"{bad!r} accepted")


def test_validate_command_exit_codes(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(BROKEN)
    cmd = [sys.executable, "-m", "callcenter.cli", "ivr", "validate"]
    ok = subprocess.run([*cmd, str(FLOWS)], cwd=ROOT, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    refused = subprocess.run([*cmd, str(FLOWS), str(bad)], cwd=ROOT, capture_output=True, text=True)
    assert refused.returncode == 1
    assert f"{bad}:12:7: duplicate digit '1'" in refused.stderr
