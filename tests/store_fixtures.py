"""Helpers for tests that need a real database: service checks, PostgreSQL schemas, a TCP proxy.

`require_service` / `require_postgres` skip a test whose service is unreachable and say
why, or fail it when CALLCENTER_REQUIRE_SERVICES=1 (as CI sets it).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
from collections.abc import Callable, Iterator

import psycopg
import pytest
from psycopg import sql

from callcenter.core.call_record import CallRecord, Leg, Outcome

REQUIRE_SERVICES_ENV = "CALLCENTER_REQUIRE_SERVICES"
# CALLCENTER_TEST_PG_HOST / _PORT point the tests elsewhere (a dead port shows the skips).
PG_HOST = os.environ.get("CALLCENTER_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("CALLCENTER_TEST_PG_PORT", "5432"))
PG_DB = "test"
PG_USER = "postgres"


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def require_service(name: str, probe: Callable[[], object]) -> None:
    """Skip (or, with CALLCENTER_REQUIRE_SERVICES=1, fail) unless `probe()` succeeds."""
    try:
        probe()
    except Exception as exc:
        reason = f"{name} is not reachable: {type(exc).__name__}: {' '.join(str(exc).split())}"
        if os.environ.get(REQUIRE_SERVICES_ENV) == "1":
            pytest.fail(f"{reason} ({REQUIRE_SERVICES_ENV}=1 requires it)", pytrace=False)
        pytest.skip(reason)


def require_postgres(host: str = PG_HOST, port: int = PG_PORT) -> None:
    def probe() -> None:
        psycopg.connect(host=host, port=port, dbname=PG_DB, user=PG_USER, connect_timeout=3).close()

    require_service(f"PostgreSQL at {host}:{port} (database {PG_DB!r})", probe)


def pg_url(schema: str, *, port: int = PG_PORT) -> str:
    """A SQLAlchemy URL whose connections use `schema` (via search_path)."""
    return (
        f"postgresql+psycopg://{PG_USER}@{PG_HOST}:{port}/{PG_DB}?options=-csearch_path%3D{schema}"
    )


@contextlib.contextmanager
def postgres_schema() -> Iterator[str]:
    """A fresh, uniquely named schema in the shared `test` database, dropped afterwards."""
    require_postgres()
    schema = f"cc_test_{secrets.token_hex(6)}"
    with psycopg.connect(
        host=PG_HOST, port=PG_PORT, dbname=PG_DB, user=PG_USER, autocommit=True
    ) as connection:
        connection.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield schema
    finally:
        with psycopg.connect(
            host=PG_HOST, port=PG_PORT, dbname=PG_DB, user=PG_USER, autocommit=True
        ) as connection:
            connection.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
            )


class TcpProxy:
    """A TCP forwarder that can be stopped (dropping every live connection) and restarted
    on the same port: a real network outage between a client and its server."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._writers.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))
        for task in (
            asyncio.create_task(self._pipe(reader, up_writer)),
            asyncio.create_task(self._pipe(up_reader, writer)),
        ):
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.transport.abort()


def make_record(
    call_id: str,
    *,
    pbx: str = "pbx1",
    started_at: float = 1_795_731_524.125,
    outcome: Outcome = "answered",
    queue: str = "support",
    legs: int = 2,
    **changes: object,
) -> CallRecord:
    """A finished inbound call with `legs` legs (the caller's first)."""
    record = CallRecord(
        pbx=pbx,
        call_id=call_id,
        hotline="4008001234",
        caller_number="13800138000",
        caller_name="张三 Zoë",
        outcome=outcome,
        started_at=started_at,
        queue=queue,
        queue_joined_at=started_at + 8.25,
        queue_left_at=started_at + 20.5,
        agent="Agent 1001",
        agent_interface="PJSIP/1001",
        ring_started_at=started_at + 9.0,
        answered_at=started_at + 20.5,
        ended_at=started_at + 95.75,
        hangup_cause=16,
        wait_s=12.25,
        talk_s=75.25,
        ring_s=11.5,
        ivr_s=8.25,
        dtmf="12",
        recorded=True,
        legs=[
            Leg(
                channel_id=f"{call_id}.{n}" if n else call_id,
                channel=f"PJSIP/trunk-0000000{n}" if n == 0 else f"PJSIP/100{n}-0000000{n}",
                started_at=started_at + n,
                answered_at=started_at + 20.5,
                ended_at=started_at + 95.75,
                cause=16,
            )
            for n in range(legs)
        ],
    )
    for name, value in changes.items():
        setattr(record, name, value)
    return record
