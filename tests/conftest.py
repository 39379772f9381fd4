import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

# tests/ helpers (store_fixtures.py, amiserver.py, ...) import as plain modules.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from store_fixtures import pg_url, postgres_schema

from callcenter.db import create_engine_for, upgrade

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: a SQLite file, or a fresh schema in PostgreSQL (dropped after)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/db/callcenter.db"
        return
    with postgres_schema() as schema:
        yield pg_url(schema)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A migrated database, on each backend."""
    upgrade(db_url)
    built = create_engine_for(db_url)
    yield built
    built.dispose()
