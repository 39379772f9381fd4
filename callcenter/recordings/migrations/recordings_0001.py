"""Recordings index, listen audit and QA scores.

Revision ID: recordings_0001
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "recordings_0001"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = ("recordings",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "recordings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("path", sa.String(), nullable=False),
        sa.Column("name_ids", sa.String(), nullable=False),
        sa.Column("part", sa.String(), nullable=False),
        sa.Column("container", sa.String(), nullable=False),
        sa.Column("codec", sa.String(), nullable=False),
        sa.Column("duration_s", sa.Double(), nullable=False),
        sa.Column("sample_rate", sa.Integer(), nullable=False),
        sa.Column("channels", sa.Integer(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(), nullable=False),
        sa.Column("mtime_ns", sa.BigInteger(), nullable=False),
        sa.Column("inode", sa.BigInteger(), nullable=False),
        sa.Column("probe_error", sa.String(), nullable=False),
        sa.Column("missing", sa.Boolean(), nullable=False),
        sa.Column("recorded_at", sa.Double(), nullable=False),
        sa.Column("pbx", sa.String(), nullable=False),
        sa.Column("call_id", sa.String(), nullable=False),
        sa.Column("caller_number", sa.String(), nullable=False),
        sa.Column("agent", sa.String(), nullable=False),
        sa.Column("queue", sa.String(), nullable=False),
        sa.Column("work_order", sa.String(), nullable=False),
        sa.Column("call_ended_at", sa.Double(), nullable=True),
        sa.Column("qa_score", sa.Double(), nullable=True),
        sa.Column("legal_hold", sa.Boolean(), nullable=False),
        sa.Column("hold_reason", sa.String(), nullable=False),
        sa.Column("indexed_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_recordings"),
        sa.UniqueConstraint("path", name="uq_recordings_path"),
    )
    op.create_index("ix_recordings_recorded_at", "recordings", ["recorded_at"])
    op.create_index("ix_recordings_pbx_call_id", "recordings", ["pbx", "call_id"])
    op.create_index("ix_recordings_agent_recorded_at", "recordings", ["agent", "recorded_at"])
    op.create_index("ix_recordings_queue_recorded_at", "recordings", ["queue", "recorded_at"])

    op.create_table(
        "recording_listens",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("recording_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(), nullable=False),
        sa.Column("call_id", sa.String(), nullable=False),
        sa.Column("user_login", sa.String(), nullable=False),
        sa.Column("user_role", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("detail", sa.String(), nullable=False),
        sa.Column("at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_recording_listens"),
    )
    op.create_index(
        "ix_recording_listens_recording_id_at", "recording_listens", ["recording_id", "at"]
    )

    op.create_table(
        "recording_qa",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("recording_id", sa.Integer(), nullable=False),
        sa.Column("reviewer", sa.String(), nullable=False),
        sa.Column("agent", sa.String(), nullable=False),
        sa.Column("scored_at", sa.Double(), nullable=False),
        sa.Column("scores", sa.Text(), nullable=False),
        sa.Column("total", sa.Double(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_recording_qa"),
        sa.ForeignKeyConstraint(
            ["recording_id"],
            ["recordings.id"],
            name="fk_recording_qa_recording_id_recordings",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "recording_id", "reviewer", name="uq_recording_qa_recording_id_reviewer"
        ),
    )
    op.create_index("ix_recording_qa_agent_scored_at", "recording_qa", ["agent", "scored_at"])


def downgrade() -> None:
    op.drop_table("recording_qa")
    op.drop_table("recording_listens")
    op.drop_table("recordings")
