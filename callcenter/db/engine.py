"""Engines for the two supported databases: a SQLite file by default, PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import ConnectionPoolEntry

DEFAULT_BUSY_TIMEOUT_S = 5.0
DEFAULT_CONNECT_TIMEOUT_S = 5


def normalize_url(url: str | URL) -> URL:
    """Pin PostgreSQL to psycopg 3 (the only PostgreSQL driver installed)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def create_engine_for(
    url: str | URL,
    *,
    busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S,
    connect_timeout_s: int = DEFAULT_CONNECT_TIMEOUT_S,
    **engine_kwargs: Any,
) -> Engine:
    """An engine for `sqlite:///path` or `postgresql+psycopg://...`.

    SQLite files run in WAL mode (readers never block the writer), with
    synchronous=NORMAL, foreign keys on and a busy timeout; the parent directory
    is created. PostgreSQL connections are pinged before use, so connections
    broken by a database restart are replaced instead of failing a write.
    """
    parsed = normalize_url(url)
    backend = parsed.get_backend_name()
    engine_kwargs.setdefault("pool_pre_ping", True)
    if backend == "sqlite":
        return _sqlite_engine(parsed, busy_timeout_s, engine_kwargs)
    if backend == "postgresql":
        connect_args = dict(engine_kwargs.pop("connect_args", {}))
        connect_args.setdefault("connect_timeout", connect_timeout_s)
        return sa_create_engine(parsed, connect_args=connect_args, **engine_kwargs)
    raise ValueError(f"unsupported database {backend!r}: use sqlite:/// or postgresql+psycopg://")


def _sqlite_engine(url: URL, busy_timeout_s: float, engine_kwargs: dict[str, Any]) -> Engine:
    database = url.database or ""
    in_memory = database in ("", ":memory:") or database.startswith("file::memory:")
    if not in_memory:
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    connect_args = dict(engine_kwargs.pop("connect_args", {}))
    connect_args.setdefault("timeout", busy_timeout_s)
    # The writer runs in a worker thread; the pool hands a connection to one thread at a time.
    connect_args.setdefault("check_same_thread", False)
    engine = sa_create_engine(url, connect_args=connect_args, **engine_kwargs)
    busy_ms = int(busy_timeout_s * 1000)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {busy_ms}")
            if not in_memory:
                cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    return engine
