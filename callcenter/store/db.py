"""Engines for the two supported databases (a SQLite file by default, PostgreSQL) and the
packaged Alembic migrations, run from code: no alembic.ini needed on disk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, event
from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import ConnectionPoolEntry

DEFAULT_BUSY_TIMEOUT_S = 5.0
DEFAULT_CONNECT_TIMEOUT_S = 5
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


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


def alembic_config() -> Config:
    """An Alembic config pointing at the migrations shipped inside the package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def upgrade(target: str | URL | Engine, revision: str = "heads") -> None:
    """Bring the database at `target` (a URL or an engine) up to `revision`.

    Each feature's tables are a branch of their own off the initial revision, so the
    default brings every branch to its head. Running it again changes nothing.
    """
    engine = target if isinstance(target, Engine) else create_engine_for(target)
    try:
        config = alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        if engine is not target:
            engine.dispose()


def current_revisions(engine: Engine) -> frozenset[str]:
    """The revisions (one per branch) the database is at; empty for an empty database."""
    with engine.connect() as connection:
        return frozenset(MigrationContext.configure(connection).get_current_heads())


def head_revisions() -> frozenset[str]:
    """The newest revision of every branch shipped with this package."""
    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())
