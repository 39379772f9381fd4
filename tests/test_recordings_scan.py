"""Indexing recordings into the database: incremental scans, links to stored calls,
late files, orphans and the commands, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import time
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from store_fixtures import make_record

from callcenter.calls.store import CallStore
from callcenter.cli import main
from callcenter.core.events import ChannelHungUp, RecordingStarted
from callcenter.db import create_engine_for, upgrade
from callcenter.recordings import scanner
from callcenter.recordings.linker import RecordingLinker
from callcenter.recordings.maintenance import find_orphans
from callcenter.recordings.naming import index_facts, parse_name
from callcenter.recordings.scanner import scan
from callcenter.recordings.store import RecordingStore, SearchFilters
from callcenter.recordings.synth import write_pcm_wav

OLD = time.time() - 3600  # mtime of files that are done being written


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    upgrade(db_url)
    engine = create_engine_for(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def store(engine: Engine) -> RecordingStore:
    return RecordingStore(engine)


def recording(root: Path, relpath: str, seconds: float = 1.0, mtime: float = OLD) -> Path:
    path = write_pcm_wav(root / relpath, seconds)
    os.utime(path, (mtime, mtime))
    return path


def test_short_and_long_files_get_the_sha256_of_their_bytes(
    tmp_path: Path, store: RecordingStore
) -> None:
    root = tmp_path / "rec"
    short = recording(root, "1795731524.1.wav", 0.5)
    long = recording(root, "2026/11/26/1795731600.5.wav", 70.0)  # past the one-read size
    assert long.stat().st_size > 1 << 20
    assert scan(root, store).indexed == 2
    for path, seconds in ((short, 0.5), (long, 70.0)):
        row = store.get_by_path(path.relative_to(root).as_posix())
        assert row is not None
        assert row["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert row["duration_s"] == pytest.approx(seconds)


def test_scan_indexes_links_and_is_incremental(tmp_path: Path, engine: Engine) -> None:
    root = tmp_path / "rec"
    CallStore(engine).upsert_calls([make_record("1795731524.1"), make_record("1795731600.5")])
    recording(root, "1795731524.1.wav", 2.0)
    recording(root, "2026/11/26/q-support-1795731600.5.1.wav", 1.5)
    recording(root, "2026/11/26/stray.wav")
    (root / "notes.txt").write_text("not audio")
    store = RecordingStore(engine)

    first = scan(root, store)
    assert (first.seen, first.indexed, first.linked) == (3, 3, 2)
    row = store.get_by_path("1795731524.1.wav")
    assert row is not None
    assert row["call_id"] == "1795731524.1"
    assert row["agent"] == "Agent 1001"
    assert row["caller_number"] == "13800138000"
    assert row["duration_s"] == pytest.approx(2.0)
    assert row["container"] == "wav" and row["codec"] == "pcm"
    assert row["size"] == (root / "1795731524.1.wav").stat().st_size
    assert len(row["sha256"]) == 64
    leg_row = store.get_by_path("2026/11/26/q-support-1795731600.5.1.wav")
    assert leg_row is not None and leg_row["call_id"] == "1795731600.5"

    again = scan(root, store)
    assert (again.indexed, again.unchanged) == (0, 3)
    assert scan(root, store, full=True).indexed == 3

    recording(root, "2026/11/26/stray.wav", 3.0)  # rewritten: new size
    (root / "1795731524.1.wav").unlink()
    changed = scan(root, store)
    assert (changed.indexed, changed.unchanged, changed.missing) == (1, 1, 1)
    total, rows = store.search(SearchFilters())
    assert total == 2  # the vanished file no longer shows up
    assert {r["path"] for r in rows} == {"2026/11/26/stray.wav", leg_row["path"]}


def test_a_rewritten_file_is_read_again_and_keeps_or_gains_its_call(
    tmp_path: Path, engine: Engine
) -> None:
    root = tmp_path / "rec"
    calls = CallStore(engine)
    calls.upsert_calls([make_record("1795731524.1", started_at=1_795_731_524.0)])
    recording(root, "1795731524.1.wav", 1.0)
    recording(root, "2026/11/26/1795731600.5.wav", 1.0)
    store = RecordingStore(engine)
    assert (scan(root, store).linked, scan(root, store).unchanged) == (1, 2)

    # Both files are rewritten, and the second one's call is stored meanwhile.
    calls.upsert_calls([make_record("1795731600.5", started_at=1_795_731_600.0)])
    rewritten = [
        recording(root, "1795731524.1.wav", 3.0),
        recording(root, "2026/11/26/1795731600.5.wav", 2.5),
    ]
    report = scan(root, store)
    assert (report.indexed, report.unchanged) == (2, 0)
    for path, seconds, started in zip(
        rewritten, (3.0, 2.5), (1_795_731_524.0, 1_795_731_600.0), strict=True
    ):
        row = store.get_by_path(path.relative_to(root).as_posix())
        assert row is not None
        assert row["duration_s"] == pytest.approx(seconds)
        assert (row["size"], row["inode"]) == (path.stat().st_size, path.stat().st_ino)
        assert row["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert (row["call_id"], row["agent"]) == (path.name.removesuffix(".wav"), "Agent 1001")
        assert row["recorded_at"] == started  # the call's start, not the file's mtime
    assert len(store.files()) == 2


def test_a_file_named_by_a_legs_uniqueid_links_to_its_call_and_a_linkedid_wins(
    tmp_path: Path, engine: Engine
) -> None:
    root = tmp_path / "rec"
    transferred = make_record("1795731524.1")
    transferred.legs[1].channel_id = "1795731530.9"  # also the Linkedid of the next call
    consult = make_record("1795731530.9", started_at=1_795_731_530.0, agent="Agent 1002")
    queued = make_record("1795731600.5", started_at=1_795_731_600.0, pbx="pbx2")
    queued.legs[1].channel_id = "1795731611.3"
    CallStore(engine).upsert_calls([transferred, consult, queued])
    for name in ("1795731530.9.wav", "1795731611.3.wav"):
        recording(root, name)
    store = RecordingStore(engine)
    assert scan(root, store).linked == 2
    links = {row["path"]: (row["pbx"], row["call_id"], row["agent"]) for row in store.files()}
    assert links == {
        "1795731530.9.wav": ("pbx1", "1795731530.9", "Agent 1002"),
        "1795731611.3.wav": ("pbx2", "1795731600.5", "Agent 1001"),
    }


def test_a_file_found_for_a_call_says_it_was_recorded(tmp_path: Path, engine: Engine) -> None:
    # MixMonitor started while the service was down: the rebuilt record could not know.
    unseen = make_record("1795731524.1", recorded=False, origin="recovered")
    later = make_record("1795731600.1", started_at=1_795_731_600.0, recorded=False)
    calls = CallStore(engine)
    calls.upsert_calls([unseen, later])
    recording(tmp_path / "rec", "1795731524.1.1.wav")  # named by the queued leg
    assert scan(tmp_path / "rec", RecordingStore(engine)).linked == 1
    found = calls.get_call("pbx1", "1795731524.1")
    assert found is not None and found.recorded
    calls.upsert_calls([unseen])  # a later version without the flag does not unsay it
    assert calls.get_call("pbx1", "1795731524.1").recorded  # type: ignore[union-attr]
    assert not calls.get_call("pbx1", "1795731600.1").recorded  # type: ignore[union-attr]


def test_files_still_being_written_wait_for_the_next_pass(
    tmp_path: Path, store: RecordingStore
) -> None:
    root = tmp_path / "rec"
    recording(root, "1795731524.1.wav", mtime=time.time())
    report = scan(root, store, settle_s=30)
    assert (report.indexed, report.settling) == (0, 1)
    assert scan(root, store, settle_s=30, now=time.time() + 60).indexed == 1


def test_symlinks_are_never_indexed(tmp_path: Path, store: RecordingStore) -> None:
    root = tmp_path / "rec"
    outside = recording(tmp_path, "outside/1795731524.1.wav")
    root.mkdir()
    os.symlink(outside, root / "1795731524.1.wav")
    os.symlink(outside.parent, root / "dir")
    assert scan(root, store).seen == 0


def test_a_file_swapped_after_the_listing_is_refused_not_followed_or_waited_on(
    tmp_path: Path,
) -> None:
    root = tmp_path / "rec"
    outside = recording(tmp_path, "outside/1795731524.1.wav")
    root.mkdir()
    os.mkfifo(root / "1795731524.1.wav")  # a FIFO would block a plain open for ever
    os.symlink(outside, root / "1795731600.5.wav")
    for relpath in ("1795731524.1.wav", "1795731600.5.wav"):
        with pytest.raises(OSError):
            scanner.describe(str(root), relpath, time.time_ns(), UTC)


def test_a_recording_deleted_during_a_scan_is_reported_not_fatal(
    tmp_path: Path, store: RecordingStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "rec"
    recording(root, "1795731524.1.wav")
    doomed = recording(root, "1795731600.5.wav")
    monkeypatch.setattr(scanner, "BATCH", 1)  # a progress call after each file
    report = scan(root, store, progress=lambda done, total: doomed.unlink(missing_ok=True))
    assert (report.seen, report.indexed) == (2, 1)
    assert [(path, why.split(":")[0]) for path, why in report.failed] == [
        ("1795731600.5.wav", "FileNotFoundError")
    ]
    assert scan(root, store).missing == 0  # it was never indexed


@settings(max_examples=300, deadline=None)
@given(
    folders=st.lists(
        st.sampled_from(["2026", "11", "26", "2026-11-26", "a b", "x\\y"]), max_size=3
    ),
    prefix=st.sampled_from(
        ["", "pbx1-", "q-support-", "in-4008001000-13800138000-20261126-", "x\\"]
    ),
    seconds=st.integers(min_value=0, max_value=10**12),
    sequence=st.integers(min_value=0, max_value=999),
    suffix=st.sampled_from(["", "-in", "_out", ".1"]),
    extension=st.sampled_from(["wav", "WAV", "wav49", "gsm", "mp3", "txt"]),
)
def test_what_the_index_keeps_of_a_name_is_what_parse_name_says(
    folders: list[str], prefix: str, seconds: int, sequence: int, suffix: str, extension: str
) -> None:
    relpath = "/".join([*folders, f"{prefix}{seconds}.{sequence}{suffix}.{extension}"])
    name = parse_name(relpath)
    expected = None if name is None else (" ".join(name.ids), name.part, name.extension)
    assert index_facts(relpath) == expected


def test_orphans_both_ways(tmp_path: Path, engine: Engine, store: RecordingStore) -> None:
    root = tmp_path / "rec"
    now = time.time()
    CallStore(engine).upsert_calls(
        [
            make_record("1795731524.1", started_at=now - 7200),  # has its file
            make_record("1795731600.5", started_at=now - 7200),  # recorded, no file
            make_record("1795731700.9", started_at=now - 120),  # recorded, file may come
        ]
    )
    recording(root, "1795731524.1.wav")
    recording(root, "stray-1795000000.1.wav")
    scan(root, store)
    result = find_orphans(store, now=now, grace_s=600)
    assert result.orphan_files == ["stray-1795000000.1.wav"]
    assert [c.call_id for c in result.orphan_calls] == ["1795731600.5"]
    assert [c.call_id for c in result.late_calls] == ["1795731700.9"]


async def test_a_recording_that_lands_after_its_call_ended_is_linked(
    tmp_path: Path, store: RecordingStore
) -> None:
    root = tmp_path / "rec"
    root.mkdir()
    record = make_record("1795731524.1")
    linker = RecordingLinker(root, store, clock=time.time, interval_s=0.05, settle_s=0.0)
    linker.start()
    try:
        linker.on_event(
            RecordingStarted(pbx="pbx1", call_id=record.call_id, channel_id=record.call_id,
                             at=record.started_at, channel="PJSIP/trunk-00000000")
        )  # fmt: skip
        linker.on_event(
            ChannelHungUp(pbx="pbx1", call_id=record.call_id, channel_id=record.call_id,
                          at=record.started_at + 95, channel="PJSIP/trunk-00000000", cause=16)
        )  # fmt: skip
        linker.on_record(record)  # the call has ended; the file is not there yet
        await asyncio.sleep(0.2)
        assert store.get_by_path("1795731524.1.wav") is None
        assert ("pbx1", record.call_id) in linker.state.awaiting

        write_pcm_wav(root / "1795731524.1.wav", 1.0)  # MixMonitor finishes late
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            row = store.get_by_path("1795731524.1.wav")
            if row is not None and row["call_id"]:
                break
            await asyncio.sleep(0.05)
        assert row is not None
        # Linked from the live facts: the calls table never had this call.
        assert (row["call_id"], row["agent"], row["queue"]) == (
            record.call_id, "Agent 1001", "support"
        )  # fmt: skip
        assert row["recorded_at"] == record.started_at
        while time.monotonic() < deadline:
            if not linker.state.awaiting:
                break
            await asyncio.sleep(0.05)
        assert not linker.state.awaiting
    finally:
        await linker.stop()


def _settings_file(tmp_path: Path, db_url: str, root: Path) -> Path:
    path = tmp_path / "settings.yaml"
    path.write_text(
        f"database:\n  url: {db_url}\nrecordings_dir: {root}\n"
        "recordings:\n  default_retention_days: 30\n  retention_days:\n    complaint: 0\n",
        encoding="utf-8",
    )
    return path


def test_commands_scan_orphans_and_purge(
    tmp_path: Path, db_url: str, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "rec"
    old = time.time() - 40 * 86400
    CallStore(engine).upsert_calls(
        [
            make_record("1795731524.1", started_at=old),
            make_record("1795731600.5", started_at=old, queue="complaint"),
            make_record("1795731700.9", started_at=old),  # held
            make_record("1795731800.3", started_at=old),  # recorded, file lost
        ]
    )
    for call_id in ("1795731524.1", "1795731600.5", "1795731700.9"):
        recording(root, f"{call_id}.wav")
    recording(root, "stray.wav")
    config = str(_settings_file(tmp_path, db_url, root))

    assert main(["--config", config, "recordings", "scan"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (summary["seen"], summary["indexed"], summary["linked"]) == (4, 4, 3)
    assert main(["--config", config, "recordings", "scan"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["unchanged"] == 4

    assert main(["--config", config, "recordings", "orphans"]) == 0
    out = capsys.readouterr().out
    assert "stray.wav" in out
    assert "1795731800.3" in out
    assert "13800138000" not in out  # numbers are masked

    store = RecordingStore(engine)
    held = store.get_by_path("1795731700.9.wav")
    assert held is not None
    store.set_hold(held["id"], True, "dispute")
    assert main(["--config", config, "recordings", "purge", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "would delete: 1795731524.1.wav" in out
    assert "legal hold keeps: 1795731700.9.wav" in out
    assert "1795731600.5.wav" not in out  # complaint recordings are kept forever
    assert (root / "1795731524.1.wav").exists()

    assert main(["--config", config, "recordings", "purge"]) == 0
    capsys.readouterr()
    assert not (root / "1795731524.1.wav").exists()
    assert store.get_by_path("1795731524.1.wav") is None
    assert (root / "1795731700.9.wav").exists() and store.get_by_path("1795731700.9.wav")
    assert (root / "1795731600.5.wav").exists()


def test_migration_builds_exactly_the_recordings_models(engine: Engine) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from callcenter.db.base import Base

    def ours(diff: object) -> bool:
        text = repr(diff)
        return "'recordings'" in text or "recording_" in text or "ix_recordings" in text

    with engine.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert [d for d in diffs if ours(d)] == []
