"""Call store: migrations, the call repository and the batched writer (SQLite, PostgreSQL)."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, delete, func, select, text
from store_fixtures import TcpProxy, make_record, pg_url, postgres_schema
from structlog.testing import capture_logs

from callcenter import schema
from callcenter.calls.store import CallStore, calls_table, legs_table
from callcenter.calls.writer import CallWriter
from callcenter.core.call_record import CallRecord
from callcenter.db import create_engine_for, current_revisions, head_revisions, upgrade


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    upgrade(db_url)
    engine = create_engine_for(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def store(engine: Engine) -> CallStore:
    return CallStore(engine, clock=lambda: 1_800_000_000.0)


def sqlite_path(engine: Engine) -> str:
    assert engine.url.database is not None
    return engine.url.database


# -- migrations ---------------------------------------------------------------


def test_upgrade_from_empty_builds_the_models_schema_and_rerunning_changes_nothing(
    db_url: str,
) -> None:
    engine = create_engine_for(db_url)
    try:
        assert current_revisions(engine) == frozenset()
        upgrade(db_url)
        assert current_revisions(engine) == head_revisions()
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, schema.metadata) == []

        store = CallStore(engine)
        store.upsert_calls([make_record("1795731524.1")])
        upgrade(engine)
        assert current_revisions(engine) == head_revisions()
        assert store.count_calls() == 1
    finally:
        engine.dispose()


def test_sqlite_file_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path}/new/dir/cc.db", busy_timeout_s=2.5)
    try:
        with engine.connect() as connection:
            pragma = connection.exec_driver_sql
            assert pragma("PRAGMA journal_mode").scalar() == "wal"
            assert pragma("PRAGMA synchronous").scalar() == 1  # NORMAL
            assert pragma("PRAGMA foreign_keys").scalar() == 1
            assert pragma("PRAGMA busy_timeout").scalar() == 2500
    finally:
        engine.dispose()


def test_plain_postgresql_url_uses_psycopg3() -> None:
    engine = create_engine_for("postgresql://postgres@127.0.0.1:5432/test")
    assert engine.dialect.driver == "psycopg"
    engine.dispose()


def test_unsupported_database_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unsupported database 'mysql'"):
        create_engine_for("mysql://root@localhost/cc")


# -- repository -----------------------------------------------------------------


def test_record_round_trips_field_for_field(store: CallStore) -> None:
    record = make_record("1795731524.7", caller_name="李四 Ünïcødé 🙂", dtmf="1*#")
    unanswered = make_record(
        "1795731524.8",
        outcome="abandoned",
        agent="",
        agent_interface="",
        answered_at=None,
        talk_s=None,
        ring_s=None,
        hangup_cause=None,
        recorded=False,
        origin="recovered",
        legs=1,
    )
    unanswered.legs[0].answered_at = None
    assert store.upsert_calls([record, unanswered]) == 2
    assert store.get_call("pbx1", "1795731524.7") == record
    assert store.get_call("pbx1", "1795731524.8") == unanswered
    assert store.get_call("pbx1", "missing") is None
    assert store.get_call("pbx2", "1795731524.7") is None


def test_writing_the_same_record_twice_leaves_one_row(store: CallStore) -> None:
    record = make_record("1795731524.1")
    store.upsert_calls([record])
    store.upsert_calls([record])
    assert store.count_calls() == 1
    with store.engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(legs_table)) == 2
    assert store.get_call("pbx1", "1795731524.1") == record


def test_a_newer_version_replaces_fields_and_the_set_of_legs(store: CallStore) -> None:
    first = make_record("1795731524.1", outcome="in_progress", ended_at=None, legs=3)
    store.upsert_calls([first])
    second = make_record("1795731524.1", legs=2)
    second.legs[1].channel = "PJSIP/1002-0000000a"
    second.legs.reverse()  # the order of legs is the record's, not the insertion's
    store.upsert_calls([second])
    stored = store.get_call("pbx1", "1795731524.1")
    assert stored == second
    assert stored is not None and [leg.channel for leg in stored.legs] == [
        "PJSIP/1002-0000000a",
        "PJSIP/trunk-00000000",
    ]


def test_a_call_rebuilt_from_durable_records_never_replaces_the_live_one(
    store: CallStore,
) -> None:
    live = make_record("1795731524.1")
    recovered = make_record("1795731524.1", legs=0, dtmf="", origin="recovered")
    store.upsert_calls([live])
    assert store.upsert_calls([recovered]) == 0
    assert store.get_call("pbx1", "1795731524.1") == live
    # ... but it completes a call that was stored while still in progress,
    open_call = make_record("1795731524.2", outcome="in_progress", ended_at=None)
    store.upsert_calls([open_call, make_record("1795731524.3", origin="recovered")])
    assert store.upsert_calls([make_record("1795731524.2", legs=0, origin="recovered")]) == 1
    assert store.get_call("pbx1", "1795731524.2") == make_record(
        "1795731524.2", legs=0, origin="recovered"
    )
    # and a live record still replaces a recovered one.
    assert store.upsert_calls([make_record("1795731524.3")]) == 1
    assert store.get_call("pbx1", "1795731524.3") == make_record("1795731524.3")


def test_a_stored_call_is_found_by_any_of_its_legs(store: CallStore) -> None:
    record = make_record("1795731524.1", legs=3)
    store.upsert_calls([record, make_record("1795731524.9", pbx="pbx2", legs=3)])
    store.upsert_calls([make_record("1795731530.1", outcome="in_progress", ended_at=None)])
    legs = [leg.channel_id for leg in record.legs]
    asked = [*legs, "1795731524.1", "1795731530.1", "nobody"]
    assert store.ended_calls_by_id("pbx1", asked) == {
        key: "1795731524.1" for key in {*legs, "1795731524.1"}
    }  # an open call and another PBX's calls are not "stored as ended"


def test_a_recording_found_for_a_call_stays_said(store: CallStore) -> None:
    store.upsert_calls([make_record("1795731524.1", recorded=True)])
    store.upsert_calls([make_record("1795731524.1", recorded=False, dtmf="12")])
    stored = store.get_call("pbx1", "1795731524.1")
    assert stored is not None and stored.recorded and stored.dtmf == "12"


def test_one_batch_with_two_versions_of_a_call_keeps_the_last(store: CallStore) -> None:
    older = make_record("1795731524.1", outcome="in_progress", ended_at=None)
    newer = make_record("1795731524.1", outcome="answered")
    assert store.upsert_calls([older, newer]) == 1
    assert store.get_call("pbx1", "1795731524.1") == newer


def test_deleting_a_call_deletes_its_legs(store: CallStore) -> None:
    store.upsert_calls([make_record("1795731524.1", legs=3), make_record("1795731524.2")])
    with store.engine.begin() as connection:
        connection.execute(delete(calls_table).where(calls_table.c.call_id == "1795731524.1"))
        remaining = connection.execute(select(legs_table.c.call_id)).scalars().all()
    assert set(remaining) == {"1795731524.2"}


def test_list_and_count_filter_and_order_by_start_time(store: CallStore) -> None:
    t0 = 1_795_700_000.0
    records = [
        make_record("a", started_at=t0 + 10, outcome="answered", queue="support"),
        make_record("b", started_at=t0 + 20, outcome="abandoned", queue="support"),
        make_record("c", started_at=t0 + 30, outcome="answered", queue="sales"),
        make_record("d", started_at=t0 + 40, outcome="ivr_only", queue=""),
        make_record("e", started_at=t0 + 50, outcome="answered", queue="support", pbx="pbx2"),
    ]
    store.upsert_calls(records)

    def ids(calls: list[CallRecord]) -> list[str]:
        return [call.call_id for call in calls]

    assert ids(store.list_calls()) == ["e", "d", "c", "b", "a"]
    assert ids(store.list_calls(newest_first=False)) == ["a", "b", "c", "d", "e"]
    assert ids(store.list_calls(since=t0 + 20, until=t0 + 40)) == ["c", "b"]
    assert ids(store.list_calls(outcome="answered")) == ["e", "c", "a"]
    assert ids(store.list_calls(outcome="answered", queue="support")) == ["e", "a"]
    assert ids(store.list_calls(pbx="pbx1", queue="support")) == ["b", "a"]
    assert ids(store.list_calls(agent="Agent 1001", pbx="pbx2")) == ["e"]
    assert ids(store.list_calls(limit=2)) == ["e", "d"]
    assert ids(store.list_calls(limit=2, offset=2)) == ["c", "b"]
    assert ids(store.list_calls(limit=2, offset=4)) == ["a"]
    assert store.list_calls(outcome="blocked") == []
    assert [len(call.legs) for call in store.list_calls()] == [2] * 5

    assert store.count_calls() == 5
    assert store.count_calls(since=t0 + 20, until=t0 + 40) == 2
    assert store.count_calls(outcome="answered", pbx="pbx1") == 2
    assert store.count_calls(queue="support") == 3
    with pytest.raises(ValueError):
        store.list_calls(limit=-1)


def test_offsets_round_trip_per_pbx(store: CallStore) -> None:
    assert store.get_offsets("pbx1") == {}
    store.save_offsets("pbx1", {"queue_log": (1234, "ino:42/size:1234"), "cdr": (0, "")})
    store.save_offsets("pbx2", {"cdr": (7, "ino:9/size:7")})
    store.save_offsets("pbx1", {"queue_log": (5_000_000_000, "ino:43/size:5000000000")})
    assert store.get_offsets("pbx1") == {
        "queue_log": (5_000_000_000, "ino:43/size:5000000000"),
        "cdr": (0, ""),
    }
    assert store.get_offsets("pbx2") == {"cdr": (7, "ino:9/size:7")}


# -- writer ------------------------------------------------------------------------


async def test_writer_coalesces_versions_of_a_call_into_one_write(store: CallStore) -> None:
    writer = CallWriter(store)
    for outcome in ("in_progress", "in_progress", "answered"):
        await writer.submit(make_record("1795731524.1", outcome=outcome))
    assert writer.pending == 1
    await writer.flush()
    assert (writer.pending, writer.written, writer.batches) == (0, 1, 1)
    stored = store.get_call("pbx1", "1795731524.1")
    assert stored is not None and stored.outcome == "answered"


async def test_writer_writes_in_batches_of_max_batch(store: CallStore) -> None:
    writer = CallWriter(store, max_batch=50)
    for n in range(120):
        await writer.submit(make_record(f"1795731524.{n}", legs=1))
    await writer.flush()
    assert (writer.written, writer.batches) == (120, 3)
    assert store.count_calls() == 120


async def test_writer_keeps_a_copy_so_later_changes_by_the_caller_do_not_leak(
    store: CallStore,
) -> None:
    writer = CallWriter(store)
    record = make_record("1795731524.1", outcome="in_progress", ended_at=None)
    await writer.submit(record)
    record.outcome = "answered"
    record.legs.clear()
    await writer.flush()
    stored = store.get_call("pbx1", "1795731524.1")
    assert stored is not None and stored.outcome == "in_progress" and len(stored.legs) == 2


async def test_background_loop_writes_within_the_flush_interval_and_close_drains(
    store: CallStore,
) -> None:
    writer = CallWriter(store, flush_interval=0.05)
    writer.start()
    await writer.submit(make_record("1795731524.1"))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if store.get_call("pbx1", "1795731524.1") is not None:
            break
        await asyncio.sleep(0.02)
    assert store.get_call("pbx1", "1795731524.1") is not None

    writer_closing = CallWriter(store, flush_interval=60)
    writer_closing.start()
    await writer_closing.submit(make_record("1795731524.2"))
    await writer_closing.close()
    assert store.get_call("pbx1", "1795731524.2") is not None
    with pytest.raises(RuntimeError):
        await writer_closing.submit(make_record("1795731524.3"))
    await writer.close()


async def test_a_record_the_database_refuses_is_rejected_alone(store: CallStore) -> None:
    writer = CallWriter(store)
    bad = make_record("1795731524.bad", caller_name=None)  # NOT NULL column
    for call_id in ("1795731524.1", "1795731524.2"):
        await writer.submit(make_record(call_id))
    await writer.submit(bad)
    await writer.submit(make_record("1795731524.3"))
    with capture_logs() as logs:
        await writer.flush()
    assert (writer.pending, writer.written, writer.rejected) == (0, 3, 1)
    assert store.count_calls() == 3
    assert [entry["call_id"] for entry in logs if entry["log_level"] == "error"] == [
        "1795731524.bad"
    ]


# -- outages ------------------------------------------------------------------------


class SqliteWriteLock:
    """Another process-level connection holding SQLite's write lock: writers get
    'database is locked' until it is released."""

    def __init__(self, path: str) -> None:
        self._connection = sqlite3.connect(path, isolation_level=None)

    def __enter__(self) -> SqliteWriteLock:
        self._connection.execute("BEGIN EXCLUSIVE")
        return self

    def __exit__(self, *_exc: object) -> None:
        self._connection.execute("COMMIT")
        self._connection.close()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[CallStore]:
    url = f"sqlite:///{tmp_path}/cc.db"
    upgrade(url)
    engine = create_engine_for(url, busy_timeout_s=0.05)
    yield CallStore(engine)
    engine.dispose()


async def wait_until_unavailable(writer: CallWriter) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if not writer.available:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the writer never noticed the outage")


async def test_sqlite_outage_loses_nothing_and_logs_once(sqlite_store: CallStore) -> None:
    writer = CallWriter(
        sqlite_store, max_batch=40, flush_interval=0.01, retry_initial=0.01, retry_max=0.05
    )
    records = [make_record(f"1795731524.{n}") for n in range(200)]
    with capture_logs() as logs:
        writer.start()
        with SqliteWriteLock(sqlite_path(sqlite_store.engine)):
            for record in records[:100]:
                await writer.submit(record)
            await wait_until_unavailable(writer)
            await asyncio.sleep(0.3)  # several retries fail meanwhile
            for record in records[100:]:
                await writer.submit(record)
            assert writer.pending == 200
        await writer.flush()
        await writer.close()
    assert writer.available and writer.pending == 0 and writer.written == 200
    stored = sqlite_store.list_calls(limit=1000, newest_first=False)
    assert sorted(stored, key=lambda r: r.call_id) == sorted(records, key=lambda r: r.call_id)
    levels = [(entry["log_level"], entry["event"]) for entry in logs]
    assert levels == [
        ("warning", "database unavailable: keeping call records and retrying"),
        ("info", "database available again"),
    ]
    assert "locked" in logs[0]["error"]


async def test_full_buffer_makes_submit_wait_instead_of_dropping(sqlite_store: CallStore) -> None:
    writer = CallWriter(
        sqlite_store,
        max_batch=5,
        buffer_limit=10,
        flush_interval=0.01,
        retry_initial=0.01,
        retry_max=0.02,
    )
    writer.start()
    with SqliteWriteLock(sqlite_path(sqlite_store.engine)):
        for n in range(10):
            await writer.submit(make_record(f"1795731524.{n}"))
        blocked = asyncio.create_task(writer.submit(make_record("1795731524.10")))
        await asyncio.sleep(0.3)
        assert not blocked.done()
        assert writer.pending == 10
        # A newer version of a waiting call still gets in: it takes no extra room.
        # (it cannot wait for room: none is made until the lock goes)
        await asyncio.wait_for(writer.submit(make_record("1795731524.3", dtmf="9")), 60)
    await asyncio.wait_for(blocked, 60)
    await writer.close()
    assert sqlite_store.count_calls() == 11
    stored = sqlite_store.get_call("pbx1", "1795731524.3")
    assert stored is not None and stored.dtmf == "9"


@pytest.fixture
async def proxied_pg() -> AsyncIterator[tuple[CallStore, TcpProxy]]:
    """A migrated PostgreSQL schema reached through a proxy the test can cut."""
    with postgres_schema() as schema:
        upgrade(pg_url(schema))
        proxy = TcpProxy("127.0.0.1", 5432)
        port = await proxy.start()
        engine = create_engine_for(pg_url(schema, port=port), connect_timeout_s=2)
        try:
            yield CallStore(engine), proxy
        finally:
            await proxy.stop()
            await asyncio.to_thread(engine.dispose)


@pytest.mark.postgres
async def test_postgres_outage_loses_nothing(proxied_pg: tuple[CallStore, TcpProxy]) -> None:
    store, proxy = proxied_pg
    writer = CallWriter(store, max_batch=25, flush_interval=0.01, retry_initial=0.02, retry_max=0.1)
    writer.start()
    records = [make_record(f"1795731524.{n}") for n in range(150)]
    for record in records[:50]:
        await writer.submit(record)
    await writer.flush()  # the pool now holds a live connection through the proxy

    with capture_logs() as logs:
        await proxy.stop()  # live connections dropped, new ones refused
        for record in records[50:100]:
            await writer.submit(record)
        await wait_until_unavailable(writer)
        await asyncio.sleep(0.3)
        for record in records[100:]:
            await writer.submit(record)
        assert writer.pending == 100
        await proxy.start()  # same port: the database is back
        await asyncio.wait_for(writer.flush(), 60)
    await writer.close()

    assert writer.pending == 0 and writer.written == 150
    stored = await asyncio.to_thread(store.list_calls, limit=1000)
    assert sorted(stored, key=lambda r: r.call_id) == sorted(records, key=lambda r: r.call_id)
    assert [entry["log_level"] for entry in logs] == ["warning", "info"]


async def test_nothing_is_written_twice_after_an_outage(sqlite_store: CallStore) -> None:
    """A version replaced during an outage reaches the database as the newest one only."""
    writer = CallWriter(sqlite_store, retry_initial=0.01, retry_max=0.02, flush_interval=0.01)
    writer.start()
    with SqliteWriteLock(sqlite_path(sqlite_store.engine)):
        await writer.submit(make_record("1795731524.1", outcome="in_progress", ended_at=None))
        await wait_until_unavailable(writer)
        final = make_record("1795731524.1")
        await writer.submit(final)
    await writer.close()
    assert writer.written == 1
    assert sqlite_store.get_call("pbx1", "1795731524.1") == final
    with sqlite_store.engine.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM calls")) == 1
