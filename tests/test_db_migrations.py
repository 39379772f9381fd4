"""A database migrated before revision 0002 (every feature branch at its head) gains the
call_legs.channel_id index on the next upgrade, on SQLite and PostgreSQL; a database at the
newest revisions, whichever folders their files were read from, upgrades to no change."""

from __future__ import annotations

from sqlalchemy import event, inspect

from callcenter.db import create_engine_for, current_revisions, head_revisions, upgrade

FEATURE_BRANCHES = ("cti", "metrics", "recordings", "routing")
# The revision ids databases already hold in alembic_version: a revision file may move to
# another folder, its id never changes.
RECORDED_HEADS = frozenset({"0002", "cti_0003", "metrics_0001", "recordings_0001", "routing_0001"})


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


def test_a_database_at_the_recorded_revisions_upgrades_to_no_change(db_url: str) -> None:
    assert head_revisions() == RECORDED_HEADS
    upgrade(db_url)
    engine = create_engine_for(db_url)
    statements: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        assert current_revisions(engine) == RECORDED_HEADS
        upgrade(engine)
        assert current_revisions(engine) == RECORDED_HEADS
    finally:
        engine.dispose()
    reads = ("SELECT", "PRAGMA", "SHOW")
    assert [s for s in statements if not s.lstrip().upper().startswith(reads)] == []
