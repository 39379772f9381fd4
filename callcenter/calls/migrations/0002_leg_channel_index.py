"""An index on call_legs.channel_id: recordings named by a leg's Uniqueid find their call.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_call_legs_channel_id", "call_legs", ["channel_id"])


def downgrade() -> None:
    op.drop_index("ix_call_legs_channel_id", table_name="call_legs")
