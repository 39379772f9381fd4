"""The packaged Alembic migrations, run from code: no alembic.ini needed on disk.

Each feature keeps its revision files in its own `migrations/` folder
(`callcenter/<feature>/migrations/`); `callcenter/db/migrations/` holds revisions that
span features. Alembic reads them all as one revision graph, so the revision ids a
database records in `alembic_version` do not depend on which folder a file lives in.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData
from sqlalchemy.engine import URL

from callcenter.db.engine import create_engine_for

# env.py and script.py.mako live next to this module.
SCRIPT_DIR = Path(__file__).resolve().parent
PACKAGE_DIR = SCRIPT_DIR.parent


def migration_folders() -> list[Path]:
    """Every `migrations/` folder of the package's subpackages, in a stable order.

    Found on disk rather than listed, so this package names no feature.
    """
    return sorted(p for p in PACKAGE_DIR.glob("*/migrations") if p.is_dir())


def alembic_config(target_metadata: MetaData | None = None) -> Config:
    """An Alembic config pointing at the migrations shipped inside the package.

    `target_metadata` (every table, for autogenerate) is only needed to write a new
    revision; upgrades run the revision files and never look at it.
    """
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_DIR))
    config.set_main_option("path_separator", "newline")
    config.set_main_option(
        "version_locations", "\n".join(str(folder) for folder in migration_folders())
    )
    config.attributes["target_metadata"] = target_metadata
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
