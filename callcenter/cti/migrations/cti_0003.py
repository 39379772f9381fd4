"""CTI: callbacks (回电, 回访) with their attempts, and numbers linked to owners by agents.

Revision ID: cti_0003
Revises: cti_0002
Create Date: 2026-12-05
"""

from __future__ import annotations

from callcenter.db.table_revision import NewTable, table_revision

revision: str = "cti_0003"
down_revision: str | None = "cti_0002"

CALLBACKS = NewTable(
    "cti_callbacks",
    "id serial, kind str, state str, number str, due_at double, assignee str, created_by str,"
    " created_at double, updated_at double, reason text, owner_id int?, pbx str, call_id str,"
    " work_order_id int?, attempts int, last_result str, score int?, dial_pbx str,"
    " dial_call_id str",
    cascades={"work_order_id": "cti_work_orders.id"},
    indexes=(("state", "due_at"), ("assignee", "state"), ("pbx", "call_id")),
)
CALLBACK_ATTEMPTS = NewTable(
    "cti_callback_attempts",
    "id serial, callback_id int, at double, actor str, result str, note text,"
    " retry_at double?, score int?, pbx str, call_id str",
    cascades={"callback_id": "cti_callbacks.id"},
    indexes=(("callback_id",), ("pbx", "call_id")),
)
NUMBER_LINKS = NewTable(
    "cti_number_links",
    "owner_id int, number_key str, linked_by str, linked_at double, pbx str, call_id str",
    primary_key=("owner_id", "number_key"),
    cascades={"owner_id": "cti_owners.id"},
    indexes=(("number_key",),),
)

upgrade, downgrade = table_revision(CALLBACKS, CALLBACK_ATTEMPTS, NUMBER_LINKS)
