"""One INSERT ... ON CONFLICT DO UPDATE for both supported databases, shared by every
feature's repository."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Insert, Table
from sqlalchemy.dialects import postgresql, sqlite


def upsert(
    connection: Connection, table: Table, key: tuple[str, ...], sticky: tuple[str, ...] = ()
) -> Insert:
    """INSERT ... ON CONFLICT (key) DO UPDATE SET every other column to the new value;
    a ``sticky`` boolean stays true once it is (a recording found for the call, say)."""
    dialect = connection.dialect.name
    insert: postgresql.Insert | sqlite.Insert
    if dialect == "postgresql":
        insert = postgresql.insert(table)
    elif dialect == "sqlite":
        insert = sqlite.insert(table)
    else:
        raise ValueError(f"unsupported database dialect {dialect!r}")
    excluded = insert.excluded
    values: dict[str, Any] = {
        c.name: (excluded[c.name] | table.c[c.name]) if c.name in sticky else excluded[c.name]
        for c in table.columns
        if c.name not in key
    }
    return insert.on_conflict_do_update(index_elements=list(key), set_=values)
