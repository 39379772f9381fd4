"""Routing: agent-state intervals (time in each state, for occupancy).

Revision ID: routing_0001
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "routing_0001"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = ("routing",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agent_state_intervals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("pbx", sa.String(), nullable=False),
        sa.Column("agent", sa.String(), nullable=False),
        sa.Column("interface", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("started", sa.Double(), nullable=False),
        sa.Column("ended", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_agent_state_intervals"),
        sa.UniqueConstraint(
            "pbx", "interface", "started", name="uq_agent_state_intervals_pbx_interface_started"
        ),
    )
    op.create_index("ix_agent_state_intervals_started", "agent_state_intervals", ["started"])
    op.create_index(
        "ix_agent_state_intervals_agent_started", "agent_state_intervals", ["agent", "started"]
    )


def downgrade() -> None:
    op.drop_index("ix_agent_state_intervals_agent_started", table_name="agent_state_intervals")
    op.drop_index("ix_agent_state_intervals_started", table_name="agent_state_intervals")
    op.drop_table("agent_state_intervals")
