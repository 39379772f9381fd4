"""A revision that adds whole tables, written as one description per table.

The constraint and index names follow ``NAMING_CONVENTION`` (``db/base.py``), the names
the models get, so a revision and its models cannot drift apart by a typo; and the
downgrade drops exactly what the upgrade made, in the reverse order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from alembic import op

# The column types a description names: ``serial`` is an autoincrementing integer id.
COLUMN_TYPES: dict[str, type[sa.types.TypeEngine[Any]]] = {
    "serial": sa.Integer,
    "int": sa.Integer,
    "str": sa.String,
    "text": sa.Text,
    "double": sa.Double,
    "bool": sa.Boolean,
}


@dataclass(frozen=True)
class NewTable:
    """One table: ``columns`` is ``"name type, ..."`` in the table's order, a type ending
    in ``?`` is nullable; ``cascades`` maps a column to the ``table.column`` it references,
    its rows deleted with the row they point at; ``indexes`` lists each index's columns."""

    name: str
    columns: str
    primary_key: tuple[str, ...] = ("id",)
    unique: tuple[str, ...] = ()
    cascades: Mapping[str, str] = field(default_factory=dict)
    indexes: tuple[tuple[str, ...], ...] = ()

    def column_items(self) -> list[sa.Column[Any]]:
        items: list[sa.Column[Any]] = []
        for spec in self.columns.split(","):
            column, kind = spec.split()
            type_ = COLUMN_TYPES[kind.rstrip("?")]()
            if kind == "serial":
                items.append(sa.Column(column, type_, autoincrement=True, nullable=False))
            else:
                items.append(sa.Column(column, type_, nullable=kind.endswith("?")))
        return items

    def index_name(self, columns: tuple[str, ...]) -> str:
        return f"ix_{self.name}_{'_'.join(columns)}"

    def create(self) -> None:
        constraints: list[sa.Constraint] = [
            sa.ForeignKeyConstraint(
                [column],
                [target],
                name=op.f(f"fk_{self.name}_{column}_{target.split('.')[0]}"),
                ondelete="CASCADE",
            )
            for column, target in self.cascades.items()
        ]
        constraints.append(sa.PrimaryKeyConstraint(*self.primary_key, name=op.f(f"pk_{self.name}")))
        constraints += [
            sa.UniqueConstraint(column, name=op.f(f"uq_{self.name}_{column}"))
            for column in self.unique
        ]
        op.create_table(self.name, *self.column_items(), *constraints)
        for columns in self.indexes:
            op.create_index(self.index_name(columns), self.name, list(columns), unique=False)

    def drop(self) -> None:
        for columns in reversed(self.indexes):
            op.drop_index(self.index_name(columns), table_name=self.name)
        op.drop_table(self.name)


def table_revision(*tables: NewTable) -> tuple[Callable[[], None], Callable[[], None]]:
    """The revision's ``upgrade`` (create ``tables`` in order) and ``downgrade``."""

    def upgrade() -> None:
        for table in tables:
            table.create()

    def downgrade() -> None:
        for table in reversed(tables):
            table.drop()

    return upgrade, downgrade
