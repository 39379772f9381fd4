"""/metrics of a running service: what Prometheus scrapes after simulated calls."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
from prometheus_client import Counter
from prometheus_client.parser import text_string_to_metric_families
from service_fixtures import service_settings

from callcenter.core.events import ChannelCreated, QueueJoined
from callcenter.routing.sync import ScaledClock
from callcenter.service import Service
from callcenter.testing import running_simulator

SPEED = 500.0
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def _scrape(port: int) -> tuple[dict[str, str], Samples]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{port}/metrics") as response,
    ):
        assert response.status == 200
        text = await response.text()
    types: dict[str, str] = {}
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        types[family.name] = family.type
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return types, samples


async def test_a_running_service_exposes_process_metrics_and_live_kpis(tmp_path: Path) -> None:
    async with running_simulator(tmp_path / "pbx", seed=8, speed=SPEED, secret="s") as pbx:
        service = Service(
            service_settings(tmp_path, pbx),
            pbx_clock=ScaledClock(lambda: pbx.now, SPEED),
            managed_queues=set(),
        )
        # Other parts of the service add their metrics to the same registry.
        extra = Counter("callcenter_test_things", "Things.", registry=service.metrics.registry)
        extra.inc()
        await service.start()
        try:
            await pbx.run(20)
            deadline = time.monotonic() + 60
            while service.finished_inbound < 20 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            assert service.finished_inbound >= 20
            # A caller waiting in a queue right now (the simulator's callers are answered
            # within moments, too quickly to be caught waiting by a scrape).
            now = pbx.now
            service.metrics.live.apply(ChannelCreated(pbx="main", call_id="w1", channel_id="w1",
                                              at=now, channel="PJSIP/trunk-9",
                                              context="from-pstn"))  # fmt: skip
            service.metrics.live.apply(QueueJoined(pbx="main", call_id="w1", channel_id="w1", at=now,
                                           queue="support"))  # fmt: skip
            assert service.web_port is not None
            types, samples = await _scrape(service.web_port)
        finally:
            await service.stop()

    assert samples[("process_cpu_seconds_total", ())] > 0
    assert types["process_cpu_seconds"] == "counter"
    assert any(name == "python_info" for name, _ in samples)  # labelled with the version
    assert types["python_gc_objects_collected"] == "counter"
    assert samples[("callcenter_test_things_total", ())] == 1

    main = (("pbx", "main"),)
    assert samples[("callcenter_lines_in_use", main)] >= 1
    assert samples[("callcenter_queue_waiting", (("pbx", "main"), ("queue", "support")))] >= 1
    assert ("callcenter_queue_longest_wait_seconds", (("pbx", "main"), ("queue", "support"))) in (
        samples
    )
    offered = samples[("callcenter_calls_offered", (("pbx", "main"), ("window", "today")))]
    answered = samples[("callcenter_calls_answered", (("pbx", "main"), ("window", "today")))]
    assert offered >= 1 and answered >= 1
    rate = samples[("callcenter_answer_rate", (("pbx", "main"), ("window", "today")))]
    assert 0 < rate <= 1
    agent_states = {
        dict(labels)["state"] for name, labels in samples if name == "callcenter_agents"
    }
    assert agent_states  # the simulator's members, by state
    finished = sum(v for (name, _), v in samples.items() if name == "callcenter_calls_total")
    assert finished >= 20  # the simulated calls, by outcome
    assert types["callcenter_calls"] == "counter"
    for gauge in ("lines_in_use", "queue_waiting", "agents", "answer_rate", "line_capacity"):
        assert types[f"callcenter_{gauge}"] == "gauge"
