"""Erlang B, C and A, computed with recurrences that never form a factorial.

- Erlang B (M/M/N/N): the probability a call finds every line busy, by the recurrence
  ``B(0) = 1, B(n) = A·B(n-1) / (n + A·B(n-1))``, exact to rounding for any load.
- Erlang C (M/M/N, infinite patience): ``C = N·B / (N - A·(1 - B))``; service level
  ``1 - C·exp(-(N - A)·T / AHT)``; ASA ``C·AHT / (N - A)``; occupancy ``A / N``.
- Erlang A (Palm's M/M/N+M, exponential patience): the birth-death chain's stationary
  law, written relative to state N so that Erlang B gives the lower half and a convergent
  product the upper half; a caller arriving to k-th place in the queue is served with
  probability ``∏ (Nμ + jθ) / (Nμ + (j+1)θ)``, and the chance of that within T seconds
  comes from uniformising the small chain of queue positions.

``A`` is the offered load in erlangs: calls per second x AHT.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

__all__ = [
    "ErlangA",
    "ErlangC",
    "erlang_a",
    "erlang_b",
    "erlang_c",
    "offered_load",
]

_MAX_QUEUE = 100_000


def offered_load(calls_per_hour: float, aht_s: float) -> float:
    """Erlangs: the average number of calls in progress."""
    return calls_per_hour * aht_s / 3600.0


def erlang_b(erlangs: float, lines: int) -> float:
    """Blocking probability with ``lines`` lines and ``erlangs`` of offered traffic."""
    if erlangs < 0 or lines < 0:
        raise ValueError("traffic and line count must not be negative")
    blocking = 1.0
    for n in range(1, lines + 1):
        blocking = erlangs * blocking / (n + erlangs * blocking)
    return blocking


def _check(calls_per_hour: float, aht_s: float, agents: int) -> None:
    if calls_per_hour < 0:
        raise ValueError(f"calls per hour must not be negative, got {calls_per_hour}")
    if aht_s <= 0:
        raise ValueError(f"AHT must be positive, got {aht_s}")
    if agents < 0:
        raise ValueError(f"agents must not be negative, got {agents}")


@dataclass(frozen=True, slots=True)
class ErlangC:
    agents: int
    erlangs: float
    p_wait: float  # probability a call waits at all
    service_level: float  # answered within sl_seconds
    asa_s: float  # mean wait over all calls
    occupancy: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def erlang_c(calls_per_hour: float, aht_s: float, agents: int, sl_seconds: float) -> ErlangC:
    """Erlang C figures for ``agents`` agents; an overloaded queue (A ≥ N) never settles:
    everyone waits, service level 0, ASA infinite, occupancy 1."""
    _check(calls_per_hour, aht_s, agents)
    load = offered_load(calls_per_hour, aht_s)
    if load == 0:
        return ErlangC(agents, 0.0, 0.0, 1.0, 0.0, 0.0)
    if agents <= load:
        return ErlangC(agents, load, 1.0, 0.0, math.inf, 1.0)
    b = erlang_b(load, agents)
    p_wait = agents * b / (agents - load * (1 - b))
    service_level = 1.0 - p_wait * math.exp(-(agents - load) * sl_seconds / aht_s)
    asa = p_wait * aht_s / (agents - load)
    return ErlangC(agents, load, p_wait, max(0.0, service_level), asa, load / agents)


@dataclass(frozen=True, slots=True)
class ErlangA:
    agents: int
    erlangs: float
    patience_s: float
    p_wait: float
    p_abandon: float  # share of all calls that hang up in the queue
    answer_rate: float  # 1 - p_abandon
    service_level: float  # answered within sl_seconds, over all calls
    asa_s: float  # mean wait of the answered calls
    occupancy: float  # carried load / agents

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def erlang_a(
    calls_per_hour: float, aht_s: float, agents: int, sl_seconds: float, patience_s: float
) -> ErlangA:
    """Erlang A figures: callers wait an exponential ``patience_s`` on average, then hang up."""
    _check(calls_per_hour, aht_s, agents)
    if patience_s <= 0:
        raise ValueError(f"patience must be positive, got {patience_s}")
    lam = calls_per_hour / 3600.0
    mu = 1.0 / aht_s
    theta = 1.0 / patience_s
    load = lam / mu
    if lam == 0:
        return ErlangA(agents, 0.0, patience_s, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0)
    # Stationary law relative to pi_N: lower states sum to 1/B, upper ones to `upper`.
    served = agents * mu
    queue_terms: list[float] = []  # q_j = pi_{N+j} / pi_N, j >= 1
    term, upper = 1.0, 0.0
    for j in range(1, _MAX_QUEUE):
        term *= lam / (served + j * theta)
        queue_terms.append(term)
        upper += term
        if term < 1e-17 * (1.0 + upper) and lam < served + j * theta:
            break
    lower = 1.0 / erlang_b(load, agents) if agents > 0 else 1.0
    pi_n = 1.0 / (lower + upper)
    p_wait = pi_n * (1.0 + upper)
    # An arrival finding N + k - 1 in the system takes queue place k (k >= 1).
    places = [pi_n] + [pi_n * q for q in queue_terms[:-1]]
    p_served_waiting = 0.0
    wait_served = 0.0
    survive = 1.0
    mean_sum = 0.0
    for k, p_k in enumerate(places, start=1):
        rate = served + k * theta  # moving one place up, or hanging up, from place k
        survive *= (served + (k - 1) * theta) / rate
        mean_sum += 1.0 / rate
        p_served_waiting += p_k * survive
        wait_served += p_k * survive * mean_sum
    p_abandon = p_wait - p_served_waiting
    answered = 1.0 - p_abandon
    within = (1.0 - p_wait) + _served_within(places, served, theta, sl_seconds)
    asa = wait_served / answered if answered > 0 else math.inf
    occupancy = min(1.0, load * answered / agents) if agents else 1.0
    return ErlangA(
        agents=agents,
        erlangs=load,
        patience_s=patience_s,
        p_wait=p_wait,
        p_abandon=max(0.0, p_abandon),
        answer_rate=min(1.0, answered),
        service_level=min(1.0, within),
        asa_s=asa,
        occupancy=occupancy,
    )


def _served_within(places: list[float], served: float, theta: float, seconds: float) -> float:
    """Σ_k P(arrive at place k) · P(reach an agent within `seconds` before hanging up).

    Backward equation over places, solved by uniformisation: u = exp(Q t) · 1_served.
    """
    size = len(places)
    if size == 0 or seconds <= 0:
        return 0.0
    top = served + size * theta
    steps_mean = top * seconds
    # u[k] for k = 1..size: P(served within the time left | at place k); place 0 = served.
    u = [0.0] * (size + 1)
    u[0] = 1.0
    total = [0.0] * (size + 1)
    limit = int(steps_mean + 10.0 * math.sqrt(steps_mean) + 20)
    log_mean = math.log(steps_mean) if steps_mean > 0 else 0.0
    for m in range(limit + 1):
        weight = math.exp(-steps_mean + m * log_mean - math.lgamma(m + 1))
        if weight > 0:
            for k in range(1, size + 1):
                total[k] += weight * u[k]
        if m == limit:
            break
        nxt = [1.0] + [0.0] * size
        for k in range(1, size + 1):
            up = served + (k - 1) * theta  # to place k-1
            stay = 1.0 - (up + theta) / top  # theta: hangs up (absorbing, worth 0)
            nxt[k] = (up * u[k - 1]) / top + stay * u[k]
        u = nxt
    return sum(p * total[k] for k, p in enumerate(places, start=1))
