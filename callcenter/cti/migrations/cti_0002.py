"""CTI: API tokens (service accounts other systems call the API with).

Revision ID: cti_0002
Revises: cti_0001
Create Date: 2026-12-05
"""

from __future__ import annotations

from callcenter.db.table_revision import NewTable, table_revision

revision: str = "cti_0002"
down_revision: str | None = "cti_0001"

API_TOKENS = NewTable(
    "cti_api_tokens",
    "id serial, name str, role str, scopes str, digest str, hint str, created_by str,"
    " created_at double, expires_at double?, revoked_at double?, last_used_at double?",
    unique=("digest", "name"),
)

upgrade, downgrade = table_revision(API_TOKENS)
