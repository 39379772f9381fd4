"""Repositories over SQLAlchemy Core: their common start (an engine and a clock), and frozen
dataclass records to and from the rows of their table, with the ``id`` the database gives."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from sqlalchemy import Connection, Engine, Row, RowMapping, Table, insert, select, update

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

    class IdRecord(DataclassInstance, Protocol):
        @property
        def id(self) -> int: ...


RecordT = TypeVar("RecordT", bound="DataclassInstance")
IdRecordT = TypeVar("IdRecordT", bound="IdRecord")


class Repository:
    """Tables read and written through ``engine``, one short transaction per method;
    ``clock`` (epoch seconds) stamps what is written."""

    def __init__(self, engine: Engine, *, clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.clock = clock


def record_from_row(cls: type[RecordT], row: RowMapping, **converted: Any) -> RecordT:
    """``cls`` from the row's columns named like its fields; ``converted`` gives the fields
    the table stores in another form."""
    names = (f.name for f in dataclasses.fields(cls) if f.name not in converted)
    return cls(**{name: row[name] for name in names}, **converted)


def row_values(record: DataclassInstance) -> dict[str, Any]:
    """A record's fields as column values, its ``id`` left to the database."""
    return {k: v for k, v in dataclasses.asdict(record).items() if k != "id"}


def insert_if_new(
    connection: Connection, table: Table, key: str, values: dict[str, Any]
) -> Row[Any] | None:
    """Insert ``values`` unless a row holds ``values[key]`` in the column ``key`` already
    (a name or login that must stay unique): the row as stored, None when the key is taken."""
    column = table.c[key]
    if connection.execute(select(column).where(column == values[key])).first() is not None:
        return None
    return connection.execute(insert(table).values(values).returning(*table.c)).one()


@dataclass(frozen=True)
class RecordTable(Generic[IdRecordT]):
    """A table whose rows are ``record``s with an ``id`` column the database fills;
    ``what`` names a record in errors (``no callback 7``)."""

    table: Table
    record: type[IdRecordT]
    what: str

    def read(self, row: RowMapping) -> IdRecordT:
        return record_from_row(self.record, row)

    def get(self, connection: Connection, row_id: int) -> IdRecordT | None:
        query = select(self.table).where(self.table.c.id == row_id)
        row = connection.execute(query).mappings().first()
        return None if row is None else self.read(row)

    def locked(self, connection: Connection, row_id: int) -> IdRecordT:
        """The record re-read inside the caller's transaction, its row locked on
        PostgreSQL until that ends (two writers cannot both change it); LookupError when
        there is none."""
        query = select(self.table).where(self.table.c.id == row_id)
        if connection.dialect.name == "postgresql":
            query = query.with_for_update()
        row = connection.execute(query).mappings().first()
        if row is None:
            raise LookupError(f"no {self.what} {row_id}")
        return self.read(row)

    def insert(self, connection: Connection, record: IdRecordT) -> IdRecordT:
        """``record`` stored, with the id the database gave it."""
        query = insert(self.table).values(row_values(record)).returning(self.table.c.id)
        return dataclasses.replace(record, id=connection.execute(query).scalar_one())

    def update(self, connection: Connection, record: IdRecordT) -> None:
        """Write every field of ``record`` to its row."""
        query = update(self.table).where(self.table.c.id == record.id)
        connection.execute(query.values(row_values(record)))
