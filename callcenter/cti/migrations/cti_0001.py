"""CTI: users and sessions, owners with units, phones and zones, work orders and their
history, call dispositions, the owner-record audit trail.

Revision ID: cti_0001
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "cti_0001"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = ("cti",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cti_audit",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.Double(), nullable=False),
        sa.Column("user_login", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cti_audit")),
    )
    op.create_index("ix_cti_audit_owner_id_at", "cti_audit", ["owner_id", "at"], unique=False)
    op.create_index("ix_cti_audit_user_login_at", "cti_audit", ["user_login", "at"], unique=False)
    op.create_table(
        "cti_dispositions",
        sa.Column("pbx", sa.String(), nullable=False),
        sa.Column("call_id", sa.String(), nullable=False),
        sa.Column("user_login", sa.String(), nullable=False),
        sa.Column("disposition", sa.String(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("pbx", "call_id", "user_login", name=op.f("pk_cti_dispositions")),
    )
    op.create_table(
        "cti_users",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("login", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("display_name", sa.String(), nullable=False),
        sa.Column("agent", sa.String(), nullable=False),
        sa.Column("interface", sa.String(), nullable=False),
        sa.Column("password_hash", sa.String(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cti_users")),
        sa.UniqueConstraint("login", name=op.f("uq_cti_users_login")),
    )
    op.create_table(
        "cti_zones",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("housekeeper", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cti_zones")),
        sa.UniqueConstraint("name", name=op.f("uq_cti_zones_name")),
    )
    op.create_table(
        "cti_owners",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("zone_id", sa.Integer(), nullable=True),
        sa.Column("vip", sa.Boolean(), nullable=False),
        sa.Column("arrears_cents", sa.Integer(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["zone_id"], ["cti_zones.id"], name=op.f("fk_cti_owners_zone_id_cti_zones")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cti_owners")),
        sa.UniqueConstraint("code", name=op.f("uq_cti_owners_code")),
    )
    op.create_table(
        "cti_sessions",
        sa.Column("id_digest", sa.String(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("last_seen_at", sa.Double(), nullable=False),
        sa.Column("expires_at", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["cti_users.id"],
            name=op.f("fk_cti_sessions_user_id_cti_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id_digest", name=op.f("pk_cti_sessions")),
    )
    op.create_index("ix_cti_sessions_expires_at", "cti_sessions", ["expires_at"], unique=False)
    op.create_table(
        "cti_phones",
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("number_key", sa.String(), nullable=False),
        sa.Column("extension", sa.String(), nullable=False),
        sa.Column("raw", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["cti_owners.id"],
            name=op.f("fk_cti_phones_owner_id_cti_owners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("owner_id", "number_key", name=op.f("pk_cti_phones")),
    )
    op.create_index("ix_cti_phones_number_key", "cti_phones", ["number_key"], unique=False)
    op.create_table(
        "cti_units",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("building", sa.String(), nullable=False),
        sa.Column("unit", sa.String(), nullable=False),
        sa.Column("room", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["cti_owners.id"],
            name=op.f("fk_cti_units_owner_id_cti_owners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cti_units")),
        sa.UniqueConstraint(
            "owner_id",
            "building",
            "unit",
            "room",
            name=op.f("uq_cti_units_owner_id_building_unit_room"),
        ),
    )
    op.create_table(
        "cti_work_orders",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("caller_number", sa.String(), nullable=False),
        sa.Column("pbx", sa.String(), nullable=False),
        sa.Column("call_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("category", sa.String(), nullable=False),
        sa.Column("priority", sa.String(), nullable=False),
        sa.Column("department", sa.String(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.Column("assignee", sa.String(), nullable=False),
        sa.Column("due_at", sa.Double(), nullable=True),
        sa.Column("callback_at", sa.Double(), nullable=True),
        sa.Column("satisfaction", sa.Integer(), nullable=True),
        sa.Column("dispatch_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["cti_owners.id"], name=op.f("fk_cti_work_orders_owner_id_cti_owners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cti_work_orders")),
    )
    op.create_index(
        "ix_cti_work_orders_created_by", "cti_work_orders", ["created_by"], unique=False
    )
    op.create_index("ix_cti_work_orders_owner_id", "cti_work_orders", ["owner_id"], unique=False)
    op.create_index(
        "ix_cti_work_orders_state_due_at", "cti_work_orders", ["state", "due_at"], unique=False
    )
    op.create_table(
        "cti_work_order_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("work_order_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.Double(), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("from_state", sa.String(), nullable=False),
        sa.Column("to_state", sa.String(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["work_order_id"],
            ["cti_work_orders.id"],
            name=op.f("fk_cti_work_order_history_work_order_id_cti_work_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cti_work_order_history")),
    )
    op.create_index(
        "ix_cti_work_order_history_work_order_id",
        "cti_work_order_history",
        ["work_order_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_cti_work_order_history_work_order_id", table_name="cti_work_order_history")
    op.drop_table("cti_work_order_history")
    op.drop_index("ix_cti_work_orders_state_due_at", table_name="cti_work_orders")
    op.drop_index("ix_cti_work_orders_owner_id", table_name="cti_work_orders")
    op.drop_index("ix_cti_work_orders_created_by", table_name="cti_work_orders")
    op.drop_table("cti_work_orders")
    op.drop_table("cti_units")
    op.drop_index("ix_cti_phones_number_key", table_name="cti_phones")
    op.drop_table("cti_phones")
    op.drop_index("ix_cti_sessions_expires_at", table_name="cti_sessions")
    op.drop_table("cti_sessions")
    op.drop_table("cti_owners")
    op.drop_table("cti_zones")
    op.drop_table("cti_users")
    op.drop_table("cti_dispositions")
    op.drop_index("ix_cti_audit_user_login_at", table_name="cti_audit")
    op.drop_index("ix_cti_audit_owner_id_at", table_name="cti_audit")
    op.drop_table("cti_audit")
