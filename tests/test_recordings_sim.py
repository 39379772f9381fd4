"""The simulator leaves MixMonitor files at the end of recorded calls, and the live linker
indexes each against its call (agent, caller, queue) as the service sees the calls end."""

from __future__ import annotations

import asyncio
import dataclasses
import time
import wave
from pathlib import Path

from service_fixtures import service_settings

from callcenter.recordings.store import SearchFilters
from callcenter.service import Service
from callcenter.sim.recorder import recording_seconds
from callcenter.testing import running_simulator


def test_recording_length_follows_the_call() -> None:
    assert recording_seconds(0) == 1.0
    assert recording_seconds(120) == 2.0
    assert recording_seconds(3600) == 4.0


async def test_simulated_recordings_are_indexed_and_linked_live(tmp_path: Path) -> None:
    rec_dir = tmp_path / "recordings"
    async with running_simulator(
        tmp_path / "pbx", seed=3, speed=500, secret="s", recorded_fraction=1.0,
        recordings_dir=str(rec_dir),
    ) as pbx:  # fmt: skip
        base = service_settings(tmp_path, pbx)
        settings = dataclasses.replace(
            base,
            recordings=dataclasses.replace(
                base.recordings, root=str(rec_dir), watch_interval_s=0.1, settle_s=0.0
            ),
        )
        # The service's own linker, as configured; the simulator's static members answer.
        service = Service(settings, web_enabled=False, managed_queues=set())
        store = service.recordings.store
        linker = service.recordings.linker
        await service.start()
        try:
            await pbx.run(8)
            recorded = [o for o in pbx.finished if o.recorded]
            total = 0
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                total, rows = store.search(SearchFilters(), limit=100)
                if total >= len(recorded) and all(r["call_id"] for r in rows):
                    break
                await asyncio.sleep(0.05)
        finally:
            await service.settle()
            await service.stop()
    assert recorded, "the simulator recorded no call"
    assert total == len(recorded)
    by_call = {r["call_id"]: r for r in rows}
    for outcome in recorded:
        row = by_call[outcome.call_id]
        assert row["agent"] == outcome.agent
        assert row["queue"] == outcome.queue
        assert row["caller_number"] == outcome.caller
        assert row["path"] == f"{outcome.call_id}.wav"
        with wave.open(str(rec_dir / row["path"])) as audio:
            assert (audio.getframerate(), audio.getnchannels(), audio.getsampwidth()) == (
                8000,
                1,
                2,
            )
        assert 1.0 <= row["duration_s"] <= 4.0
    assert not linker.state.awaiting
