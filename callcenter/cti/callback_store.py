"""The callbacks' repository: callbacks, their attempts, and what a 回访 does to its work
order. Synchronous SQLAlchemy Core; one transaction per method, the row re-read under a
lock (PostgreSQL) so two agents cannot both record a result on one callback."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from sqlalchemy import Connection, insert, select

from callcenter.cti.callbacks import Attempt, Callback, RetryPolicy, record_result
from callcenter.cti.records import lock_order, store_order
from callcenter.cti.store import attempts_table, callbacks_table, dispositions_table
from callcenter.cti.workorders import SATISFIED_FROM, WorkOrder, transition
from callcenter.db.rows import RecordTable, Repository
from callcenter.db.upsert import upsert

CALLBACKS = RecordTable(callbacks_table, Callback, "callback")


class CallbackRecords(Repository):
    def create(self, callback: Callback) -> Callback:
        """Store a new callback; a 回访 also moves its work order to callback_scheduled
        (with the history line), in the same transaction."""
        with self.engine.begin() as connection:
            if callback.kind == "satisfaction" and callback.work_order_id is not None:
                order = lock_order(connection, callback.work_order_id)
                changed, entry = transition(
                    order, "schedule_callback", actor=callback.created_by,
                    now=callback.created_at, callback_at=callback.due_at, note=callback.reason,
                )  # fmt: skip
                store_order(connection, changed, entry)
            return CALLBACKS.insert(connection, callback)

    def get(self, callback_id: int) -> Callback | None:
        with self.engine.connect() as connection:
            return CALLBACKS.get(connection, callback_id)

    def find(
        self,
        *,
        assignee: str | None = None,
        open_only: bool = True,
        pbx: str = "",
        call_id: str = "",
        work_order_id: int | None = None,
        limit: int = 500,
    ) -> list[Callback]:
        """Earliest due first; ``assignee``: only that login's."""
        c = callbacks_table.c
        query = select(callbacks_table).order_by(c.due_at, c.id).limit(limit)
        if assignee is not None:
            query = query.where(c.assignee == assignee)
        if open_only:
            query = query.where(c.state == "due")
        if call_id:
            query = query.where(c.pbx == pbx, c.call_id == call_id)
        if work_order_id is not None:
            query = query.where(c.work_order_id == work_order_id)
        with self.engine.connect() as connection:
            return [CALLBACKS.read(row) for row in connection.execute(query).mappings()]

    def record(
        self,
        callback_id: int,
        result: str,
        *,
        actor: str,
        policy: RetryPolicy,
        retry_at: float | None = None,
        score: int | None = None,
        note: str = "",
    ) -> tuple[Callback, WorkOrder | None]:
        """Keep one attempt's result, on the callback and on the call placed for it (as the
        user's wrap-up of that call: ``callback_<result>``). A 回访 that reached the owner records the score on its
        work order, and closes it when the owner is satisfied (an unsatisfied owner's
        order waits for a person to reopen it: 二次派单)."""
        with self.engine.begin() as connection:
            callback = CALLBACKS.locked(connection, callback_id)
            now = self.clock()
            changed, attempt = record_result(
                callback, result, actor=actor, now=now, policy=policy,
                retry_at=retry_at, score=score, note=note,
            )  # fmt: skip
            CALLBACKS.update(connection, changed)
            connection.execute(
                insert(attempts_table).values(
                    callback_id=callback_id, **dataclasses.asdict(attempt)
                )
            )
            if attempt.call_id:  # the call placed to the owner carries the result as its wrap-up
                row = {"pbx": attempt.pbx, "call_id": attempt.call_id, "user_login": actor,
                       "disposition": f"callback_{result}", "note": note, "at": now}  # fmt: skip
                key = ("pbx", "call_id", "user_login")
                connection.execute(upsert(connection, dispositions_table, key).values(row))
            order = None
            if changed.kind == "satisfaction" and changed.state == "done":
                order = self._score_order(connection, changed, actor, now)
        return changed, order

    def _score_order(
        self, connection: Connection, callback: Callback, actor: str, now: float
    ) -> WorkOrder | None:
        if callback.work_order_id is None or callback.score is None:
            return None
        order = lock_order(connection, callback.work_order_id)
        if order.state != "callback_scheduled":
            return order  # moved on by hand meanwhile: the score stays on the callback
        order, entry = transition(
            order, "record_satisfaction", actor=actor, now=now, satisfaction=callback.score,
            note=f"callback {callback.id}",
        )  # fmt: skip
        store_order(connection, order, entry)
        if callback.score >= SATISFIED_FROM:
            order, entry = transition(order, "close", actor=actor, now=now)
            store_order(connection, order, entry)
        return order

    def change(self, callback_id: int, step: Callable[[Callback], Callback]) -> Callback:
        """Apply ``step`` (a rule of ``callcenter.cti.callbacks``: cancel, dialled) to the
        callback as stored, under the row lock, and store what it returns."""
        with self.engine.begin() as connection:
            changed = step(CALLBACKS.locked(connection, callback_id))
            CALLBACKS.update(connection, changed)
        return changed

    def attempts(self, callback_id: int) -> list[Attempt]:
        a = attempts_table.c
        query = (
            select(a.at, a.actor, a.result, a.note, a.retry_at, a.score, a.pbx, a.call_id)
            .where(a.callback_id == callback_id)
            .order_by(a.id)
        )
        with self.engine.connect() as connection:
            return [Attempt(*row) for row in connection.execute(query)]
