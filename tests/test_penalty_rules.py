"""app_queue's penalty rules as the simulator applies them (update_qe_rule, calc_metric),
the queuerules.conf the service ships for the preference window, and the
max_wait_while_idle_s computation."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from callcenter.cli import main
from callcenter.config import load_settings
from callcenter.demo import shipped_queues
from callcenter.metrics.idle_wait import max_wait_while_idle, overlap, wait_while_idle
from callcenter.routing.queuerules import OPEN_PENALTY, queuerules_text, rule_seconds
from callcenter.sim.call_state import Agent, Queue, QueueMember
from callcenter.sim.config import QueueConfig
from callcenter.sim.penalty_rules import (
    PenaltyRange,
    PenaltyRule,
    apply_rule,
    offered_penalty,
    parse_penaltychange,
    parse_queuerules,
    range_from_variables,
    rule_argument,
)

ROOT = Path(__file__).resolve().parent.parent

SAMPLE = """
[general]
; realtime_rules = yes

[myrule]
penaltychange => 60,10,5 ; later line, earlier in the list once sorted
penaltychange => 30,+3
penaltychange => 75,,7
penaltychange => 90,,,20
penaltychange => 120,5,3,r20
penaltychange => oops
"""


def test_queuerules_parse_as_app_queue_reads_the_sample() -> None:
    rules = parse_queuerules(SAMPLE)
    assert list(rules) == ["myrule"]
    assert [r.time for r in rules["myrule"]] == [30, 60, 75, 90, 120]  # "oops" has no comma
    first, second, third, fourth, fifth = rules["myrule"]
    assert (first.max_value, first.max_relative, first.min_relative) == (3, True, True)
    assert (second.max_value, second.max_relative, second.min_value, second.min_relative) == (
        10, False, 5, False,
    )  # fmt: skip
    assert (third.max_value, third.max_relative, third.min_value) == (0, True, 7)
    assert (fourth.raise_value, fourth.raise_relative) == (20, False)
    assert (fifth.raise_value, fifth.raise_respect_min) == (20, True)
    assert parse_penaltychange("-5,3") is None  # a negative time is refused


def test_only_limits_set_at_join_move_and_they_never_go_below_zero() -> None:
    rule = PenaltyRule(time=10, max_value=99, max_relative=False)
    unlimited, variables = apply_rule(PenaltyRange(), rule)
    assert unlimited == PenaltyRange() and variables == {}  # no QUEUE_MAX_PENALTY: no rule
    start = range_from_variables({"QUEUE_MAX_PENALTY": "0"})
    widened, variables = apply_rule(start, rule)
    assert widened.max_penalty == 99 and variables == {"QUEUE_MAX_PENALTY": "99"}
    lower = PenaltyRule(time=5, max_value=-4, min_value=9, min_relative=False)
    both = range_from_variables({"QUEUE_MAX_PENALTY": "2", "QUEUE_MIN_PENALTY": "1"})
    moved, variables = apply_rule(both, lower)
    # max 2-4 -> 0; min 9 is above max -> max
    assert (moved.max_penalty, moved.min_penalty) == (0, 0)
    assert variables == {"QUEUE_MAX_PENALTY": "0", "QUEUE_MIN_PENALTY": "0"}
    raised, variables = apply_rule(
        range_from_variables({"QUEUE_MAX_PENALTY": "5", "QUEUE_RAISE_PENALTY": "1"}),
        PenaltyRule(time=1, raise_value=20, raise_relative=False, raise_respect_min=True),
    )
    assert raised.raise_penalty == 5 and variables["QUEUE_RAISE_PENALTY"] == "r5"
    assert range_from_variables({"QUEUE_MAX_PENALTY": "x"}).max_penalty is None


def test_members_outside_the_callers_range_are_not_offered_the_caller() -> None:
    zone_first = PenaltyRange(max_penalty=0)
    assert offered_penalty(0, zone_first) == 0
    assert offered_penalty(5, zone_first) is None
    assert offered_penalty(5, PenaltyRange(max_penalty=99)) == 5
    assert offered_penalty(1, PenaltyRange(min_penalty=2)) is None
    # raised to 3 and ranked so, even into the range; "r3" leaves those below the min out
    assert offered_penalty(0, PenaltyRange(raise_penalty=3)) == 3
    assert offered_penalty(0, PenaltyRange(min_penalty=2, raise_penalty=3)) == 3
    respect = PenaltyRange(min_penalty=2, raise_penalty=3, raise_respect_min=True)
    assert offered_penalty(0, respect) is None
    assert offered_penalty(2, respect) == 3


def test_the_best_member_is_the_lowest_penalty_in_range_then_the_longest_idle() -> None:
    agents: dict[str, Agent] = {}
    queue = Queue(QueueConfig("zone-east"))
    hotline = queue.add_member(agents, "PJSIP/1001", "kf01", 5, dynamic=True, login_time=0)
    zone = queue.add_member(agents, "PJSIP/1022", "zl01", 0, dynamic=True, login_time=0)
    other = queue.add_member(agents, "PJSIP/1023", "zl02", 0, dynamic=True, login_time=0)
    zone.last_call, other.last_call = 50, 40
    assert queue.pick(100.0, PenaltyRange(max_penalty=0)) is other  # idle since 40
    other.paused = zone.paused = True
    assert queue.pick(100.0, PenaltyRange(max_penalty=0)) is None
    assert queue.pick(100.0, PenaltyRange(max_penalty=99)) is hotline
    assert queue.available_count(100.0) == 1  # whatever the caller's range
    assert isinstance(hotline, QueueMember)


def test_the_shipped_queuerules_are_the_ones_the_settings_write() -> None:
    settings = load_settings(ROOT / "config" / "callcenter.yaml")
    routing = settings.routing
    text = queuerules_text(routing.preference_rule, routing.preference_window_s)
    assert (ROOT / "docker" / "asterisk" / "queuerules.conf").read_text() == text
    (rule,) = parse_queuerules(text)[routing.preference_rule]
    assert rule.time == rule_seconds(routing.preference_window_s) == 10
    assert (rule.max_value, rule.max_relative) == (OPEN_PENALTY, False)
    assert rule_seconds(7.5) == 8


@dataclass(frozen=True)
class Stay:
    queue: str
    joined_at: float
    left_at: float
    rings: tuple[tuple[float, float], ...] = ()


def test_wait_while_idle_counts_free_time_beyond_the_window_only() -> None:
    idle = {"zone-east": [(100.0, 108.0), (115.0, 118.0), (130.0, 140.0)]}
    assert overlap(105.0, 120.0, idle["zone-east"]) == 3.0 + 3.0
    stay = Stay("zone-east", 100.0, 135.0)
    assert wait_while_idle(stay, idle, 10.0) == 3.0 + 5.0  # from 110 on
    assert wait_while_idle(stay, idle, 0.0) == 8.0 + 3.0 + 5.0
    assert wait_while_idle(Stay("zone-east", 100.0, 109.0), idle, 10.0) == 0.0  # left in it
    assert wait_while_idle(Stay("support", 100.0, 135.0), idle, 10.0) == 0.0
    stays = [stay, Stay("zone-east", 120.0, 145.0)]
    assert max_wait_while_idle(stays, idle, 10.0) == 10.0  # 130..140
    assert max_wait_while_idle([], idle, 10.0) == 0.0


def test_time_the_caller_rings_at_a_member_is_an_offer_not_a_wait() -> None:
    idle = {"support": [(100.0, 130.0)]}  # another member sits free all along
    rung = Stay("support", 100.0, 130.0, rings=((112.0, 127.0),))  # rang out after 15 s
    assert wait_while_idle(rung, idle, 10.0) == 2.0 + 3.0
    assert wait_while_idle(rung, idle, 10.0, ringing_included=True) == 20.0
    assert max_wait_while_idle([rung], idle, 10.0, ringing_included=True) == 20.0


def test_the_demo_queues_follow_the_shipped_queues_conf() -> None:
    settings = load_settings(ROOT / "config" / "callcenter.yaml")
    text = (ROOT / "docker" / "asterisk" / "queues.conf").read_text()
    sections: dict[str, dict[str, str]] = {}
    current = ""
    for raw in text.splitlines():
        line = raw.split(";", 1)[0].strip()
        if line.startswith("["):
            current = line[1 : line.index("]")]
            sections[current] = {}
        elif "=" in line and current:
            key, _, value = line.partition("=")
            sections[current][key.strip()] = value.strip()
    template = sections["callcenter-queue"]  # [name](callcenter-queue): the template's lines
    for queue in shipped_queues(settings):
        own = sections[queue.name]
        assert queue.retry == float(template["retry"]) == 1.0, queue.name
        assert queue.defaultrule == own.get("defaultrule", ""), queue.name
    zone_rules = {q.name: q.defaultrule for q in shipped_queues(settings) if q.defaultrule}
    assert zone_rules == {"zone-east": "prefer-zone", "zone-west": "prefer-zone"}


def test_queues_rule_argument_moved_when_macro_left_in_asterisk_21() -> None:
    assert rule_argument("zone-east,c,,,120,,,prefer-zone", "22.10.1") == "prefer-zone"
    assert rule_argument("zone-east,c,,,120,,,,prefer-zone", "20.5.0") == "prefer-zone"
    assert rule_argument("zone-east,c,,,120", "22.10.1") == ""  # the queue's defaultrule


def test_the_queuerules_command_prints_the_shipped_file(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    assert main(["roster", "queuerules"]) == 0
    assert capsys.readouterr().out == (ROOT / "docker/asterisk/queuerules.conf").read_text()
