"""A database migrated before revision 0002 (every feature branch at its head) gains the
call_legs.channel_id index on the next upgrade, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import inspect

from callcenter.store import create_engine_for, current_revisions, head_revisions, upgrade

FEATURE_BRANCHES = ("cti", "metrics", "recordings", "routing")


def leg_indexes(url: str) -> set[str]:
    engine = create_engine_for(url)
    try:
        return {str(i["name"]) for i in inspect(engine).get_indexes("call_legs")}
    finally:
        engine.dispose()


def test_an_older_database_gets_the_leg_channel_index(db_url: str) -> None:
    upgrade(db_url, "0001")
    for branch in FEATURE_BRANCHES:
        upgrade(db_url, f"{branch}@head")
    engine = create_engine_for(db_url)
    try:
        assert "0002" not in current_revisions(engine)
    finally:
        engine.dispose()
    assert "ix_call_legs_channel_id" not in leg_indexes(db_url)

    upgrade(db_url)
    engine = create_engine_for(db_url)
    try:
        assert current_revisions(engine) == head_revisions()
        assert "0002" in head_revisions()
    finally:
        engine.dispose()
    assert "ix_call_legs_channel_id" in leg_indexes(db_url)
