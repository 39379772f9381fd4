"""Database plumbing shared by every feature: engines for SQLite (default) and PostgreSQL,
the declarative `Base`, the Alembic migrations run from code and a portable upsert.

`create_engine_for(url)` builds the engine and `upgrade(url_or_engine)` runs the
migrations shipped in the package. This package imports no feature: each feature defines
its tables on `Base` in its own `store.py` and keeps its revisions in its own
`migrations/` folder.
"""

from callcenter.db.engine import create_engine_for, normalize_url
from callcenter.db.migrate import current_revisions, head_revisions, upgrade

__all__ = [
    "create_engine_for",
    "current_revisions",
    "head_revisions",
    "normalize_url",
    "upgrade",
]
