"""Erlang B, C and A against published values and exact independent computations."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from callcenter.metrics.erlang import erlang_a, erlang_b, erlang_c
from callcenter.metrics.staffing import agents_needed


def exact_b(erlangs: Fraction, lines: int) -> Fraction:
    terms = [erlangs**k / math.factorial(k) for k in range(lines + 1)]
    return terms[-1] / sum(terms)


def exact_c(erlangs: Fraction, agents: int) -> Fraction:
    """Erlang C from its textbook definition, in exact fractions."""
    top = erlangs**agents / math.factorial(agents) * agents / (agents - erlangs)
    bottom = sum(erlangs**k / math.factorial(k) for k in range(agents)) + top
    return top / bottom


@pytest.mark.parametrize(
    ("erlangs", "lines", "published"),
    [(10, 15, 0.0365), (5, 10, 0.0184), (2, 5, 0.0367)],
)
def test_erlang_b_matches_tables_and_exact_fractions(
    erlangs: int, lines: int, published: float
) -> None:
    got = erlang_b(erlangs, lines)
    assert got == pytest.approx(float(exact_b(Fraction(erlangs), lines)), rel=1e-12)
    assert round(got, 4) == published


def test_erlang_b_survives_loads_where_factorials_overflow() -> None:
    got = erlang_b(1000.0, 1100)  # 1000**1100 / 1100! would overflow a float
    assert 0.0 < got < 0.01
    assert erlang_b(90.0, 0) == 1.0


def test_erlang_c_classic_example_needs_14_agents() -> None:
    # 100 calls per 30 minutes, AHT 180 s: 10 erlangs; target 80% answered within 20 s.
    for agents in (11, 12, 13, 14, 15):
        got = erlang_c(200, 180, agents, 20)
        want_wait = float(exact_c(Fraction(10), agents))
        assert got.p_wait == pytest.approx(want_wait, rel=1e-12)
        assert got.service_level == pytest.approx(
            1 - want_wait * math.exp(-(agents - 10) * 20 / 180), rel=1e-12
        )
        assert got.asa_s == pytest.approx(want_wait * 180 / (agents - 10), rel=1e-12)
        assert got.occupancy == pytest.approx(10 / agents)
    assert (
        erlang_c(200, 180, 13, 20).service_level < 0.80 < erlang_c(200, 180, 14, 20).service_level
    )
    staffing = agents_needed(200, 180, 20, 0.80)
    assert staffing.agents == 14
    assert round(staffing.figures.p_wait, 4) == 0.1741
    assert round(staffing.figures.service_level, 4) == 0.8884


def test_erlang_c_overload_never_meets_a_target() -> None:
    got = erlang_c(200, 180, 10, 20)
    assert got.p_wait == 1.0 and got.service_level == 0.0 and got.asa_s == math.inf


def exact_abandon(calls_per_hour: int, aht: int, agents: int, patience: int) -> Fraction:
    """P(abandon) = θ·E[queue] / λ from the chain's balance equations (truncated where
    the tail is below 1e-30), in exact fractions: an independent route to Erlang A."""
    lam, mu, theta = Fraction(calls_per_hour, 3600), Fraction(1, aht), Fraction(1, patience)
    weights = [Fraction(1)]
    n = 0
    while True:
        n += 1
        weights.append(weights[-1] * lam / (min(n, agents) * mu + max(0, n - agents) * theta))
        if n > agents and weights[-1] < Fraction(1, 10**30) * sum(weights):
            break
    total = sum(weights)
    queue = sum(max(0, k - agents) * w for k, w in enumerate(weights)) / total
    return theta * queue / lam


@pytest.mark.parametrize(("agents", "patience"), [(9, 60), (11, 90), (14, 300)])
def test_erlang_a_abandonment_matches_the_balance_equations(agents: int, patience: int) -> None:
    got = erlang_a(200, 180, agents, 20, patience)
    assert got.p_abandon == pytest.approx(
        float(exact_abandon(200, 180, agents, patience)), rel=1e-9
    )
    assert got.answer_rate == pytest.approx(1 - got.p_abandon)


def test_erlang_a_tends_to_erlang_c_with_endless_patience_and_helps_with_short_patience() -> None:
    c = erlang_c(200, 180, 13, 20)
    a = erlang_a(200, 180, 13, 20, 1e9)
    assert a.service_level == pytest.approx(c.service_level, rel=1e-6)
    assert a.asa_s == pytest.approx(c.asa_s, rel=1e-6)
    impatient = erlang_a(200, 180, 13, 20, 60)
    assert impatient.service_level > c.service_level  # those who leave stop delaying others
    assert 0 < impatient.p_abandon < 0.1
    # Stable with fewer agents than erlangs: abandonment drains the queue.
    assert erlang_a(200, 180, 8, 20, 60).answer_rate < 0.9


def test_erlang_a_staffing_meets_both_targets() -> None:
    staffing = agents_needed(200, 180, 20, 0.80, patience_s=90, answer_rate_target=0.95)
    fewer = erlang_a(200, 180, staffing.agents - 1, 20, 90)
    assert staffing.figures.service_level >= 0.80
    assert staffing.figures.answer_rate >= 0.95  # type: ignore[union-attr]
    assert fewer.service_level < 0.80 or fewer.answer_rate < 0.95
