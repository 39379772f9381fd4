"""Persistence: call records and recovery offsets in SQLite (default) or PostgreSQL.

`create_engine_for(url)` builds the engine, `upgrade(url_or_engine)` runs the Alembic
migrations shipped in the package, `CallStore` is the synchronous repository and
`CallWriter` the asyncio writer that batches, coalesces and retries until written.
"""

from callcenter.store.calls import CallStore
from callcenter.store.db import (
    create_engine_for,
    current_revisions,
    head_revisions,
    normalize_url,
    upgrade,
)
from callcenter.store.writer import CallWriter

__all__ = [
    "CallStore",
    "CallWriter",
    "create_engine_for",
    "current_revisions",
    "head_revisions",
    "normalize_url",
    "upgrade",
]
