"""Repositories for work orders (with history), dispositions, the audit trail, and the
call history a screen-pop shows. Synchronous SQLAlchemy Core; one transaction per method."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, insert, select

from callcenter.calls.store import calls_table, legs_table
from callcenter.cti.call_access import StoredCall, stored_call
from callcenter.cti.store import audit_table, dispositions_table, history_table, work_orders_table
from callcenter.cti.workorders import OPEN_STATES, HistoryEntry, WorkOrder, transition
from callcenter.db.rows import RecordTable, Repository
from callcenter.db.upsert import upsert

ORDERS = RecordTable(work_orders_table, WorkOrder, "work order")


def _add_history(connection: Connection, order_id: int, entry: HistoryEntry) -> None:
    connection.execute(
        insert(history_table).values(work_order_id=order_id, **dataclasses.asdict(entry))
    )


def lock_order(connection: Connection, order_id: int) -> WorkOrder:
    """The order re-read inside the caller's transaction, locked on PostgreSQL until it
    ends; LookupError when there is none."""
    return ORDERS.locked(connection, order_id)


def store_order(connection: Connection, order: WorkOrder, entry: HistoryEntry) -> None:
    """Write a moved order and its history line, in the caller's transaction."""
    ORDERS.update(connection, order)
    _add_history(connection, order.id, entry)


class CtiRecords(Repository):
    # --- work orders ------------------------------------------------------------------------

    def create_order(self, order: WorkOrder) -> WorkOrder:
        with self.engine.begin() as connection:
            stored = ORDERS.insert(connection, order)
            created = HistoryEntry(order.created_at, order.created_by, "create", "", order.state)
            _add_history(connection, stored.id, created)
        return stored

    def get_order(self, order_id: int) -> WorkOrder | None:
        with self.engine.connect() as connection:
            return ORDERS.get(connection, order_id)

    def list_orders(
        self,
        *,
        involving: str | None = None,
        owner_ids: Iterable[int] | None = None,
        open_only: bool = False,
        limit: int = 200,
    ) -> list[WorkOrder]:
        """Newest first. ``involving``: only orders that login raised or was assigned."""
        c = work_orders_table.c
        query = select(work_orders_table).order_by(c.id.desc()).limit(limit)
        if involving is not None:
            query = query.where((c.created_by == involving) | (c.assignee == involving))
        if owner_ids is not None:
            query = query.where(c.owner_id.in_(list(owner_ids)))
        if open_only:
            query = query.where(c.state.in_(sorted(OPEN_STATES)))
        with self.engine.connect() as connection:
            return [ORDERS.read(row) for row in connection.execute(query).mappings()]

    def apply(self, order_id: int, action: str, **kwargs: Any) -> tuple[WorkOrder, HistoryEntry]:
        """Run one state-machine step and store it with its history line, atomically.
        The row is re-read inside the transaction, so two agents cannot both move it."""
        with self.engine.begin() as connection:
            order = lock_order(connection, order_id)
            changed, entry = transition(order, action, now=self.clock(), **kwargs)
            store_order(connection, changed, entry)
        return changed, entry

    def history(self, order_id: int) -> list[HistoryEntry]:
        h = history_table.c
        query = (
            select(h.at, h.actor, h.action, h.from_state, h.to_state, h.note)
            .where(h.work_order_id == order_id)
            .order_by(h.id)
        )
        with self.engine.connect() as connection:
            return [HistoryEntry(*row) for row in connection.execute(query)]

    # --- dispositions and audit --------------------------------------------------------------

    def save_disposition(
        self, pbx: str, call_id: str, login: str, disposition: str, note: str
    ) -> None:
        """One wrap-up per call and user: a second one replaces the first, in one
        statement, so two requests at once cannot both insert."""
        row = {"pbx": pbx, "call_id": call_id, "user_login": login,
               "disposition": disposition, "note": note, "at": self.clock()}  # fmt: skip
        key = ("pbx", "call_id", "user_login")
        with self.engine.begin() as connection:
            connection.execute(upsert(connection, dispositions_table, key).values(row))

    def audit(self, login: str, action: str, owner_id: int | None, detail: str = "") -> None:
        with self.engine.begin() as connection:
            connection.execute(
                insert(audit_table).values(
                    at=self.clock(),
                    user_login=login,
                    action=action,
                    owner_id=owner_id,
                    detail=detail,
                )
            )

    def audit_trail(
        self, *, owner_id: int | None = None, login: str | None = None, limit: int = 200
    ) -> list[dict[str, Any]]:
        a = audit_table.c
        query = select(audit_table).order_by(a.id.desc()).limit(limit)
        if owner_id is not None:
            query = query.where(a.owner_id == owner_id)
        if login is not None:
            query = query.where(a.user_login == login)
        with self.engine.connect() as connection:
            return [dict(row) for row in connection.execute(query).mappings()]

    # --- call history -----------------------------------------------------------------------

    def stored_call(self, pbx: str, call_id: str) -> StoredCall | None:
        """A finished call's record: its caller, who took it and the seats its legs rang."""
        c, leg = calls_table.c, legs_table.c
        with self.engine.connect() as connection:
            row = connection.execute(
                select(
                    c.pbx, c.call_id, c.caller_number, c.started_at, c.agent, c.agent_interface
                ).where(c.pbx == pbx, c.call_id == call_id)
            ).first()
            if row is None:
                return None
            channels = connection.execute(
                select(leg.channel).where(leg.pbx == pbx, leg.call_id == call_id)
            ).scalars()
            return stored_call(row, channels)

    def recent_calls(self, caller_numbers: Iterable[str], limit: int = 5) -> list[dict[str, Any]]:
        """The caller's last calls with their outcomes; ``caller_numbers`` are the spellings
        a PBX may have used for the one number (the calls table keeps them as presented)."""
        c = calls_table.c
        query = (
            select(c.pbx, c.call_id, c.started_at, c.outcome, c.queue, c.agent, c.wait_s, c.talk_s)
            .where(c.caller_number.in_(sorted(set(caller_numbers))))
            .order_by(c.started_at.desc())
            .limit(limit)
        )
        with self.engine.connect() as connection:
            return [dict(row) for row in connection.execute(query).mappings()]

    def calls_of_agent(self, agent: str, since: float) -> list[dict[str, Any]]:
        """One row per call, with its latest disposition (the agent's, or a supervisor's
        correction after it): a call several people wrapped up is still one call."""
        c, d = calls_table.c, dispositions_table.c
        latest = (
            select(d.disposition)
            .where(d.pbx == c.pbx, d.call_id == c.call_id)
            .order_by(d.at.desc(), d.user_login)
            .limit(1)
            .correlate(calls_table)
            .scalar_subquery()
            .label("disposition")
        )
        query = (
            select(
                c.pbx, c.call_id, c.started_at, c.caller_number, c.outcome, c.queue,
                c.wait_s, c.talk_s, latest,
            )
            .where(c.agent == agent, c.started_at >= since)
            .order_by(c.started_at.desc())
            .limit(500)
        )  # fmt: skip
        with self.engine.connect() as connection:
            return [dict(row) for row in connection.execute(query).mappings()]
