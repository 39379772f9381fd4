"""PostgreSQL stopped for a few seconds mid-traffic and started again: the writer keeps the
finished calls while the database is away, says so once, and catches up when it returns;
every call is stored exactly once, as the PBX's own records say.

The server is a private cluster on a free port (the shared one on 5432 is left alone)."""

from __future__ import annotations

import asyncio
import dataclasses
import io
from pathlib import Path

import structlog
from fault_fixtures import assert_exact, private_postgres, reconcile, until
from service_fixtures import service_settings

from callcenter.service import Service
from callcenter.sim import TrafficParams, default_queues
from callcenter.testing import running_simulator


async def test_postgres_restarted_mid_traffic_loses_and_doubles_nothing(tmp_path: Path) -> None:
    calls = 240
    with private_postgres() as server:
        async with running_simulator(
            tmp_path / "pbx",
            seed=33,
            speed=100,
            secret="s",
            queues=default_queues(20),
            traffic=TrafficParams(peak_calls_per_hour=1800, handle_median_s=120),
        ) as pbx:
            base = service_settings(tmp_path, pbx)
            settings = dataclasses.replace(
                base, database=dataclasses.replace(base.database, url=server.url)
            )
            service = Service(
                settings, managed_queues=set(), web_enabled=False, call_lines=io.StringIO()
            )
            await service.start()
            try:
                pbx.start_traffic(calls)
                await until(lambda: service.finished_inbound >= calls // 4)
                with structlog.testing.capture_logs() as logs:
                    await asyncio.to_thread(server.stop)
                    ended_before = len(pbx.finished)
                    # Away while calls keep ending.
                    await until(lambda: len(pbx.finished) >= ended_before + 30)
                    await until(lambda: not service.writer.available)
                    assert service.writer.pending > 0
                    assert service.ready()["database"] is False
                    await asyncio.to_thread(server.start)
                    await pbx.wait_finished(timeout=120)
                    await until(
                        lambda: (
                            service.finished_inbound >= calls
                            and not service.trackers["main"].open_calls()
                        )
                    )
                    await service.settle()
                assert service.writer.available
                assert service.writer.pending == 0
                assert service.writer.rejected == 0
            finally:
                await service.stop()
            summary = await reconcile(server.url, pbx)
    print(summary)
    assert_exact(summary, calls)
    events = [entry["event"] for entry in logs]
    # One clear warning when the outage starts, one line when it is over.
    assert events.count("database unavailable: keeping call records and retrying") == 1
    assert "database available again" in events
