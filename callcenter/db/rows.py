"""Frozen dataclass records to and from the rows of their table (SQLAlchemy Core), for the
repositories whose records carry an ``id`` the database gives them."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, RowMapping, Table, insert, select

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

RecordT = TypeVar("RecordT", bound="DataclassInstance")


def record_from_row(cls: type[RecordT], row: RowMapping, **converted: Any) -> RecordT:
    """``cls`` from the row's columns named like its fields; ``converted`` gives the fields
    the table stores in another form."""
    names = (f.name for f in dataclasses.fields(cls) if f.name not in converted)
    return cls(**{name: row[name] for name in names}, **converted)


def row_values(record: DataclassInstance) -> dict[str, Any]:
    """A record's fields as column values, its ``id`` left to the database."""
    return {k: v for k, v in dataclasses.asdict(record).items() if k != "id"}


def insert_record(connection: Connection, table: Table, record: DataclassInstance) -> int:
    """Insert ``record`` (without its id) and return the id the database gave it."""
    query = insert(table).values(row_values(record)).returning(table.c.id)
    return int(connection.execute(query).scalar_one())


def row_by_id(connection: Connection, table: Table, row_id: int) -> RowMapping | None:
    return connection.execute(select(table).where(table.c.id == row_id)).mappings().first()


def locked_row(connection: Connection, table: Table, row_id: int, what: str) -> RowMapping:
    """The row re-read inside the caller's transaction, locked on PostgreSQL until it ends
    (two writers cannot both change it); LookupError ``no <what> <id>`` when there is none."""
    query = select(table).where(table.c.id == row_id)
    if connection.dialect.name == "postgresql":
        query = query.with_for_update()
    row = connection.execute(query).mappings().first()
    if row is None:
        raise LookupError(f"no {what} {row_id}")
    return row
