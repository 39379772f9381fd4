"""Calls, call legs and the durable-record offsets.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "calls",
        sa.Column("pbx", sa.String(), nullable=False),
        sa.Column("call_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("hotline", sa.String(), nullable=False),
        sa.Column("caller_number", sa.String(), nullable=False),
        sa.Column("caller_name", sa.String(), nullable=False),
        sa.Column("started_at", sa.Double(), nullable=False),
        sa.Column("queue", sa.String(), nullable=False),
        sa.Column("queue_joined_at", sa.Double(), nullable=True),
        sa.Column("queue_left_at", sa.Double(), nullable=True),
        sa.Column("agent", sa.String(), nullable=False),
        sa.Column("agent_interface", sa.String(), nullable=False),
        sa.Column("ring_started_at", sa.Double(), nullable=True),
        sa.Column("answered_at", sa.Double(), nullable=True),
        sa.Column("ended_at", sa.Double(), nullable=True),
        sa.Column("outcome", sa.String(), nullable=False),
        sa.Column("hangup_cause", sa.Integer(), nullable=True),
        sa.Column("wait_s", sa.Double(), nullable=True),
        sa.Column("talk_s", sa.Double(), nullable=True),
        sa.Column("ring_s", sa.Double(), nullable=True),
        sa.Column("ivr_s", sa.Double(), nullable=True),
        sa.Column("dtmf", sa.String(), nullable=False),
        sa.Column("recorded", sa.Boolean(), nullable=False),
        sa.Column("origin", sa.String(), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("pbx", "call_id", name="pk_calls"),
    )
    op.create_index("ix_calls_started_at", "calls", ["started_at"])
    op.create_index("ix_calls_outcome_started_at", "calls", ["outcome", "started_at"])
    op.create_index("ix_calls_queue_started_at", "calls", ["queue", "started_at"])
    op.create_index("ix_calls_agent_started_at", "calls", ["agent", "started_at"])
    op.create_index("ix_calls_caller_number", "calls", ["caller_number"])

    op.create_table(
        "call_legs",
        sa.Column("pbx", sa.String(), nullable=False),
        sa.Column("call_id", sa.String(), nullable=False),
        sa.Column("channel_id", sa.String(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("started_at", sa.Double(), nullable=False),
        sa.Column("answered_at", sa.Double(), nullable=True),
        sa.Column("ended_at", sa.Double(), nullable=True),
        sa.Column("cause", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("pbx", "call_id", "channel_id", name="pk_call_legs"),
        sa.ForeignKeyConstraint(
            ["pbx", "call_id"],
            ["calls.pbx", "calls.call_id"],
            name="fk_call_legs_pbx_call_id_calls",
            ondelete="CASCADE",
        ),
    )

    op.create_table(
        "durable_offsets",
        sa.Column("pbx", sa.String(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("identity", sa.String(), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("pbx", "source", name="pk_durable_offsets"),
    )


def downgrade() -> None:
    op.drop_table("durable_offsets")
    op.drop_table("call_legs")
    op.drop_index("ix_calls_caller_number", table_name="calls")
    op.drop_index("ix_calls_agent_started_at", table_name="calls")
    op.drop_index("ix_calls_queue_started_at", table_name="calls")
    op.drop_index("ix_calls_outcome_started_at", table_name="calls")
    op.drop_index("ix_calls_started_at", table_name="calls")
    op.drop_table("calls")
