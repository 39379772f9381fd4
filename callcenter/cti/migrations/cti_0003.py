"""CTI: callbacks (回电, 回访) with their attempts, and numbers linked to owners by agents.

Revision ID: cti_0003
Revises: cti_0002
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "cti_0003"
down_revision: str | None = "cti_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cti_callbacks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("number", sa.String(), nullable=False),
        sa.Column("due_at", sa.Double(), nullable=False),
        sa.Column("assignee", sa.String(), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("pbx", sa.String(), nullable=False),
        sa.Column("call_id", sa.String(), nullable=False),
        sa.Column("work_order_id", sa.Integer(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_result", sa.String(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("dial_pbx", sa.String(), nullable=False),
        sa.Column("dial_call_id", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["work_order_id"],
            ["cti_work_orders.id"],
            name=op.f("fk_cti_callbacks_work_order_id_cti_work_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cti_callbacks")),
    )
    op.create_index(
        "ix_cti_callbacks_state_due_at", "cti_callbacks", ["state", "due_at"], unique=False
    )
    op.create_index(
        "ix_cti_callbacks_assignee_state", "cti_callbacks", ["assignee", "state"], unique=False
    )
    op.create_index(
        "ix_cti_callbacks_pbx_call_id", "cti_callbacks", ["pbx", "call_id"], unique=False
    )
    op.create_table(
        "cti_callback_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("callback_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.Double(), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("result", sa.String(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("retry_at", sa.Double(), nullable=True),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("pbx", sa.String(), nullable=False),
        sa.Column("call_id", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["callback_id"],
            ["cti_callbacks.id"],
            name=op.f("fk_cti_callback_attempts_callback_id_cti_callbacks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cti_callback_attempts")),
    )
    op.create_index(
        "ix_cti_callback_attempts_callback_id",
        "cti_callback_attempts",
        ["callback_id"],
        unique=False,
    )
    op.create_index(
        "ix_cti_callback_attempts_pbx_call_id",
        "cti_callback_attempts",
        ["pbx", "call_id"],
        unique=False,
    )
    op.create_table(
        "cti_number_links",
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("number_key", sa.String(), nullable=False),
        sa.Column("linked_by", sa.String(), nullable=False),
        sa.Column("linked_at", sa.Double(), nullable=False),
        sa.Column("pbx", sa.String(), nullable=False),
        sa.Column("call_id", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["cti_owners.id"],
            name=op.f("fk_cti_number_links_owner_id_cti_owners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("owner_id", "number_key", name=op.f("pk_cti_number_links")),
    )
    op.create_index(
        "ix_cti_number_links_number_key", "cti_number_links", ["number_key"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_cti_number_links_number_key", table_name="cti_number_links")
    op.drop_table("cti_number_links")
    op.drop_index("ix_cti_callback_attempts_pbx_call_id", table_name="cti_callback_attempts")
    op.drop_index("ix_cti_callback_attempts_callback_id", table_name="cti_callback_attempts")
    op.drop_table("cti_callback_attempts")
    op.drop_index("ix_cti_callbacks_pbx_call_id", table_name="cti_callbacks")
    op.drop_index("ix_cti_callbacks_assignee_state", table_name="cti_callbacks")
    op.drop_index("ix_cti_callbacks_state_due_at", table_name="cti_callbacks")
    op.drop_table("cti_callbacks")
