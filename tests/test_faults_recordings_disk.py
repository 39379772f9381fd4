"""The recordings disk full: MixMonitor's files stop being written part way through the
day, and the cache for browser copies has no room either. Every call is still recorded
exactly once, nothing crashes, playback that needs the cache says why it cannot, and the
recordings index reports the recorded calls whose files are missing."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import logging
import struct
from pathlib import Path

import pytest
import structlog
from cti_fixtures import add_users, client_for
from fault_fixtures import assert_exact, fill, reconcile, tiny_filesystem, until
from service_fixtures import service_settings

from callcenter.db import create_engine_for
from callcenter.recordings.maintenance import find_orphans
from callcenter.recordings.store import RecordingStore
from callcenter.service import Service
from callcenter.sim import TrafficParams, default_queues
from callcenter.testing import running_simulator


def write_ulaw_wav(path: Path, seconds: float = 1.0) -> None:
    """A G.711 µ-law WAV, as MixMonitor writes with the ``wav`` format on a µ-law call:
    browsers cannot play it, so playback goes through a PCM copy in the cache."""
    data = bytes([0xFF, 0x7F] * int(4000 * seconds))
    fmt = struct.pack("<HHIIHHH", 7, 1, 8000, 8000, 1, 8, 0)  # WAVE_FORMAT_MULAW
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", len(data)) + data
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)


async def test_recordings_disk_full_loses_no_call_and_reports_the_missing_files(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    calls = 160
    with (
        tiny_filesystem(tmp_path / "recordings", "256k") as root,
        tiny_filesystem(tmp_path / "cache", "64k") as cache,
    ):
        write_ulaw_wav(root / "ulaw-1.wav")
        fill(cache)
        async with running_simulator(
            tmp_path / "pbx",
            seed=9,
            speed=200,
            secret="s",
            queues=default_queues(20),
            traffic=TrafficParams(peak_calls_per_hour=1800, handle_median_s=90),
            recorded_fraction=0.6,
            recordings_dir=str(root),
        ) as pbx:
            base = service_settings(tmp_path, pbx)
            settings = dataclasses.replace(
                base,
                recordings=dataclasses.replace(
                    base.recordings, root=str(root), cache_dir=str(cache), settle_s=0.0,
                    watch_interval_s=0.2, late_grace_s=0.5,
                ),
            )  # fmt: skip
            service = Service(
                settings, managed_queues=set(), web_enabled=True, call_lines=io.StringIO()
            )
            await service.start()
            try:
                add_users(service.cti.accounts)
                with (
                    caplog.at_level(logging.WARNING, logger="callcenter.sim.pbx"),
                    structlog.testing.capture_logs() as logs,
                ):
                    await pbx.run(calls, timeout=120)
                    await until(
                        lambda: (
                            service.finished_inbound >= calls
                            and not service.trackers["main"].open_calls()
                        )
                    )
                    await service.settle()
                    linker = service.recordings.linker
                    await until(lambda: len(linker.orphans) >= 1)
                    await asyncio.sleep(1.0)  # past the grace of the last calls' files
                    await linker.scan_now()
                    base_url = f"http://127.0.0.1:{service.web_port}"
                    async with client_for(base_url, "sue") as sue:
                        status, found = await sue.get_json("/api/recordings?limit=500")
                        assert status == 200 and isinstance(found, dict)
                        ulaw = [r for r in found["recordings"] if r["path"] == "ulaw-1.wav"]
                        status, link = await sue.post_json(
                            f"/api/recordings/{ulaw[0]['id']}/link", {}
                        )
                        assert status == 200 and isinstance(link, dict), link
                        async with sue.http.get(base_url + link["url"]) as played:
                            refused = (played.status, await played.json())
                        # The service is still there for everything else.
                        assert (await sue.get_json("/api/calls?limit=1"))[0] == 200
            finally:
                await service.stop()
            summary = await reconcile(settings.database.url, pbx)
            engine = create_engine_for(settings.database.url)
            try:
                store = RecordingStore(engine)
                last_end = max(t.ended_at for t in pbx.finished)
                grace = settings.recordings.late_grace_s
                orphans = find_orphans(store, now=last_end + grace + 1, grace_s=grace)
                indexed = {row["path"]: row["call_id"] for row in store.files()}
            finally:
                engine.dispose()
        written = {p.stem for p in root.glob("*.wav")} - {"ulaw-1"}
    assert_exact(summary, calls)
    recorded = {t.call_id for t in pbx.finished if t.recorded}
    lost_files = recorded - written
    assert written and lost_files, "the disk must fill part way through"
    # Every file that was written is indexed and linked to its call; every recorded call
    # without its file is reported, and nothing else is.
    assert {indexed[f"{call_id}.wav"] for call_id in written} == written
    assert {c.call_id for c in orphans.orphan_calls} == lost_files
    assert {c.call_id for c in linker.orphans} == lost_files
    # The simulated MixMonitor said why; the service said why it cannot play the file.
    assert any("MixMonitor cannot write" in r.getMessage() for r in caplog.records)
    assert refused[0] == 503
    assert "No space left on device" in refused[1]["error"]["en"]
    events = [e["event"] for e in logs]
    assert "recording browser copy failed" in events
    assert events.count("recordings disk almost full: new recordings may be lost") == 1
    assert "recorded calls without their files" in events
