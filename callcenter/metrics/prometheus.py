"""Prometheus: one registry per service, read at scrape time.

``metrics_registry(live, pbxes=..., clock=...)`` builds the service's
``CollectorRegistry``: the process (CPU, memory, open files), Python platform and garbage
collector collectors of ``prometheus_client``, and ``LiveCollector``, which reads the live
counters when Prometheus scrapes rather than being pushed on every event. Other parts of
the service register their own metrics on the same registry (``Service.metrics_registry``).

Families (docs/metrics.md lists them with their labels):

- ``callcenter_lines_in_use{pbx}``, ``callcenter_calls_in_ivr{pbx}``,
  ``callcenter_queue_waiting{pbx,queue}``, ``callcenter_queue_longest_wait_seconds{pbx,queue}``,
  ``callcenter_agents{pbx,state}``, ``callcenter_answer_rate{pbx,window}`` (hour, today),
  ``callcenter_calls_offered{pbx,window}``, ``callcenter_calls_answered{pbx,window}``,
  ``callcenter_calls_short_abandoned{pbx,window}``: gauges (the last three sum across PBXs
  into an overall answer rate);
- ``callcenter_line_capacity``, ``callcenter_answer_rate_target``: gauges (the targets);
- ``callcenter_calls_total{outcome}``: a counter of the calls finished since start.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence

from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from callcenter.metrics.live import LiveCounters, PbxLive

__all__ = ["LiveCollector", "metrics_registry"]

WINDOWS = ("hour", "today")


def metrics_registry(
    live: LiveCounters, *, pbxes: Sequence[str], clock: Callable[[], float] = time.time
) -> CollectorRegistry:
    """The service's registry: process, platform and GC metrics, and the live KPIs."""
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    registry.register(LiveCollector(live, pbxes=pbxes, clock=clock))
    return registry


class LiveCollector(Collector):
    """The live counters as gauges labelled by PBX (and queue, agent state, window).

    Every configured PBX has its lines, IVR and call-count samples even when idle, so a
    dashboard shows 0 rather than no data. The answer rate is absent while no call of the
    window counts toward it (0 of 0 is not a rate)."""

    def __init__(
        self, live: LiveCounters, *, pbxes: Sequence[str], clock: Callable[[], float]
    ) -> None:
        self._live = live
        self._pbxes = tuple(pbxes)
        self._clock = clock

    def describe(self) -> Iterable[Metric]:
        # The families without samples: registering reads no live state.
        return _families(self._live, {}, samples=False)

    def collect(self) -> Iterable[Metric]:
        now = self._clock()
        view = {name: PbxLive() for name in self._pbxes}
        view.update(self._live.by_pbx(now))
        return _families(self._live, view, samples=True)


def _per_window(name: str, documentation: str) -> GaugeMetricFamily:
    """A gauge with one sample per PBX for this hour and one for today (``WINDOWS``)."""
    return GaugeMetricFamily(name, documentation, labels=["pbx", "window"])


def _families(live: LiveCounters, view: dict[str, PbxLive], *, samples: bool) -> list[Metric]:
    th = live.thresholds
    lines = GaugeMetricFamily("callcenter_lines_in_use", "Inbound calls up now.", labels=["pbx"])
    ivr = GaugeMetricFamily("callcenter_calls_in_ivr", "Calls in the voice menu.", labels=["pbx"])
    waiting = GaugeMetricFamily(
        "callcenter_queue_waiting", "Callers waiting in a queue.", labels=["pbx", "queue"]
    )
    longest = GaugeMetricFamily(
        "callcenter_queue_longest_wait_seconds",
        "Longest current wait in a queue.",
        labels=["pbx", "queue"],
        unit="seconds",
    )
    agents = GaugeMetricFamily(
        "callcenter_agents", "Queue members by state.", labels=["pbx", "state"]
    )
    rate = _per_window(
        "callcenter_answer_rate",
        "answered / (offered - short abandons) of the calls finished this hour and today.",
    )
    offered = _per_window(
        "callcenter_calls_offered",
        "Calls that reached a queue and finished this hour and today.",
    )
    answered = _per_window(
        "callcenter_calls_answered",
        "Calls answered by an agent and finished this hour and today.",
    )
    short = _per_window(
        "callcenter_calls_short_abandoned",
        "Short abandons finished this hour and today (outside the answer rate).",
    )
    for pbx, figures in sorted(view.items()):
        lines.add_metric([pbx], figures.lines_in_use)
        ivr.add_metric([pbx], figures.calls_in_ivr)
        for queue, slot in sorted(figures.waiting.items()):
            waiting.add_metric([pbx, queue], slot.waiting)
            longest.add_metric([pbx, queue], slot.longest_wait_s)
        for state, count in sorted(figures.agents.items()):
            agents.add_metric([pbx, state], count)
        for window, tally in zip(WINDOWS, (figures.hour, figures.today), strict=True):
            offered.add_metric([pbx, window], tally.offered)
            answered.add_metric([pbx, window], tally.answered)
            short.add_metric([pbx, window], tally.short_abandons)
            if tally.answer_rate is not None:
                rate.add_metric([pbx, window], tally.answer_rate)
    capacity = GaugeMetricFamily(
        "callcenter_line_capacity", "Concurrent external lines (targets.line_capacity)."
    )
    target = GaugeMetricFamily(
        "callcenter_answer_rate_target", "The answer-rate target (targets.answer_rate)."
    )
    # Named without _total: prometheus_client adds it to counters.
    calls = CounterMetricFamily(
        "callcenter_calls", "Inbound calls finished since start, by outcome.", labels=["outcome"]
    )
    if samples:
        capacity.add_metric([], th.line_capacity)
        target.add_metric([], th.answer_rate_target)
        for outcome, count in sorted(live.outcomes.items()):
            calls.add_metric([outcome], count)
    return [lines, ivr, waiting, longest, agents, rate, offered, answered, short, capacity,
            target, calls]  # fmt: skip
