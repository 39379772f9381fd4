"""The traffic model (pure): who calls when, what they press, how long they wait and talk.

Arrivals are a non-homogeneous Poisson process (thinning) whose rate follows the hour of
day in the hotline's time zone. Every call gets its own random stream derived from the
seed and its index, so a call's plan does not depend on what other calls did.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from callcenter.sim.config import TrafficParams


@dataclass(frozen=True, slots=True)
class CallPlan:
    index: int
    arrival: float  # virtual epoch seconds
    hotline: str
    caller: str
    ivr_seconds: float  # time spent in the menu before routing (or before hanging up)
    menu_digit: str  # "" when the caller presses nothing
    ivr_hangup: bool  # the caller hangs up in the menu
    patience: float  # seconds the caller waits in a queue before abandoning
    handle_seconds: float  # talk time once connected
    agent_hangs_up: bool  # who ends the talk
    recorded: bool
    voicemail_seconds: float


@dataclass(frozen=True, slots=True)
class RingResult:
    answers: bool
    delay: float  # seconds until pick-up (meaningless when not answering)


class TrafficModel:
    def __init__(
        self,
        params: TrafficParams,
        hotlines: list[str],
        *,
        seed: int,
        recorded_fraction: float,
        timezone: str,
        caller_numbers: tuple[str, ...] = (),
        unknown_caller_fraction: float = 0.2,
    ) -> None:
        if len(params.hourly_curve) != 24:
            raise ValueError("hourly_curve needs 24 values")
        if not hotlines:
            raise ValueError("at least one hotline number is needed")
        if not 0.0 <= unknown_caller_fraction <= 1.0:
            raise ValueError(
                f"unknown_caller_fraction must be between 0 and 1, got {unknown_caller_fraction}"
            )
        self.params = params
        self.hotlines = list(hotlines)
        self.seed = seed
        self.recorded_fraction = recorded_fraction
        self.caller_numbers = tuple(caller_numbers)
        self.unknown_caller_fraction = unknown_caller_fraction
        self.tz = ZoneInfo(timezone)
        peak = max(params.hourly_curve)
        if peak <= 0 or params.peak_calls_per_hour <= 0:
            raise ValueError("the traffic curve and peak_calls_per_hour must be positive")
        self._curve = [max(0.0, c) / peak for c in params.hourly_curve]
        self._max_rate = params.peak_calls_per_hour / 3600.0
        self._arrivals = random.Random(f"{seed}:arrivals")
        weights = list(params.hotline_weights[: len(self.hotlines)])
        weights += [weights[-1] if weights else 1.0] * (len(self.hotlines) - len(weights))
        self._hotline_weights = weights

    def rate_at(self, when: float) -> float:
        """Arrivals per second at a virtual instant."""
        hour = datetime.fromtimestamp(when, self.tz).hour
        return self._max_rate * self._curve[hour]

    def next_arrival(self, after: float) -> float:
        t = after
        for _ in range(1_000_000):
            t += self._arrivals.expovariate(self._max_rate)
            if self._arrivals.random() * self._max_rate <= self.rate_at(t):
                return t
        raise RuntimeError("traffic curve too close to zero to place a call")

    def plan(self, index: int, arrival: float) -> CallPlan:
        p = self.params
        rng = random.Random(f"{self.seed}:call:{index}")
        hotline = rng.choices(self.hotlines, weights=self._hotline_weights)[0]
        unknown = f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"  # always drawn: same stream
        caller = self._known_caller(index) or unknown
        digits = list(p.menu_choices)
        digit = rng.choices(digits, weights=[p.menu_choices[d] for d in digits])[0]
        return CallPlan(
            index=index,
            arrival=arrival,
            hotline=hotline,
            caller=caller,
            ivr_seconds=rng.uniform(*p.ivr_seconds),
            menu_digit=digit,
            ivr_hangup=rng.random() < p.ivr_hangup_prob,
            patience=rng.expovariate(1.0 / p.patience_mean_s),
            handle_seconds=max(
                5.0, rng.lognormvariate(math.log(p.handle_median_s), p.handle_sigma)
            ),
            agent_hangs_up=rng.random() < p.agent_hangup_prob,
            recorded=rng.random() < self.recorded_fraction,
            voicemail_seconds=rng.uniform(*p.voicemail_seconds),
        )

    def _known_caller(self, index: int) -> str:
        """One of ``caller_numbers`` for this call, or "" for an unknown caller. Drawn from
        its own stream, so the rest of the plan is the same with or without the list."""
        if not self.caller_numbers:
            return ""
        rng = random.Random(f"{self.seed}:caller:{index}")
        if rng.random() < self.unknown_caller_fraction:
            return ""
        return rng.choice(self.caller_numbers)

    def ring_stream(self, index: int) -> random.Random:
        """The random stream for agents' pick-up behaviour on one call's ring attempts."""
        return random.Random(f"{self.seed}:ring:{index}")

    def ring(self, rng: random.Random) -> RingResult:
        p = self.params
        answers = rng.random() >= p.no_answer_prob
        return RingResult(answers=answers, delay=rng.uniform(*p.answer_delay_s))
