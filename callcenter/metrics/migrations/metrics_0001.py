"""Metrics: report rollups per 15-minute bucket (KPI sums, line usage) and their state.

Revision ID: metrics_0001
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "metrics_0001"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = ("metrics",)
depends_on: str | Sequence[str] | None = None

_COUNTS = (
    "offered",
    "answered",
    "abandoned",
    "short_abandons",
    "voicemail",
    "answered_in_sl",
    "ivr_only",
    "blocked",
)
_SECONDS = ("wait_answered_s", "wait_total_s", "handle_s", "longest_wait_s")


def upgrade() -> None:
    op.create_table(
        "call_interval_rollups",
        sa.Column("dim", sa.String(), nullable=False),
        sa.Column("bucket", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in _COUNTS),
        *(sa.Column(name, sa.Double(), nullable=False) for name in _SECONDS),
        sa.PrimaryKeyConstraint("dim", "bucket", "key", name="pk_call_interval_rollups"),
    )
    op.create_table(
        "line_interval_rollups",
        sa.Column("bucket", sa.BigInteger(), nullable=False),
        sa.Column("peak", sa.Integer(), nullable=False),
        sa.Column("seconds_high", sa.Double(), nullable=False),
        sa.Column("seconds_full", sa.Double(), nullable=False),
        sa.Column("blocked", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("bucket", name="pk_line_interval_rollups"),
    )
    op.create_table(
        "metrics_rollup_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("thresholds", sa.Text(), nullable=False),
        sa.Column("longest_call_s", sa.Double(), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_metrics_rollup_state"),
    )


def downgrade() -> None:
    op.drop_table("metrics_rollup_state")
    op.drop_table("line_interval_rollups")
    op.drop_table("call_interval_rollups")
