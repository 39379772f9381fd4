"""Callbacks, their attempts and numbers linked to owners, stored (SQLite and PostgreSQL):
a 回访 moves its work order, its score closes a satisfied owner's order with history, and
a linked number survives a re-import of the owner."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import Engine

import callcenter.cti.store  # noqa: F401  (the CTI tables)
from callcenter.cti.callback_store import CallbackRecords
from callcenter.cti.callbacks import CallbackError, RetryPolicy, cancel, new_callback
from callcenter.cti.lookup import OwnerDirectory
from callcenter.cti.owners import LINKED, OwnerRecord, OwnerRepository, PhoneEntry, Unit
from callcenter.cti.records import CtiRecords
from callcenter.cti.workorders import WorkOrder, WorkOrderError

NOW = 1_800_000_000.0
POLICY = RetryPolicy(max_attempts=2, retry_delay_s=600.0, overdue_after_s=60.0)
ZHANG = OwnerRecord("A001", "张三", units=[Unit("3栋", "2单元", "1201")],
                    phones=[PhoneEntry("13812345678")])  # fmt: skip


def owners(engine: Engine) -> OwnerRepository:
    repository = OwnerRepository(engine, clock=lambda: NOW)
    repository.import_owners([ZHANG])
    return repository


def done_order(records: CtiRecords) -> WorkOrder:
    new = WorkOrder(0, "repair", "normal", "new", "alice", NOW, NOW, owner_id=1,
                    caller_number="13812345678", pbx="main", call_id="1.1")  # fmt: skip
    order = records.create_order(new)
    records.apply(order.id, "dispatch", actor="sue", department="engineering")
    changed, _ = records.apply(order.id, "finish", actor="sue")
    return changed


def test_a_callback_keeps_every_attempt_and_fails_after_the_last(engine: Engine) -> None:
    owners(engine)
    store = CallbackRecords(engine, clock=lambda: NOW)
    wanted = new_callback(kind="callback", number="13812345678", due_at=NOW + 60, reason="漏水",
                          assignee="alice", actor="alice", now=NOW, owner_id=1, pbx="main",
                          call_id="1.1")  # fmt: skip
    made = store.create(wanted)
    assert made.id > 0 and store.find(assignee="alice") == [made]
    assert store.find(assignee="bob") == [] and store.find(pbx="main", call_id="1.1") == [made]
    first, _ = store.record(made.id, "no_answer", actor="alice", policy=POLICY)
    assert (first.state, first.due_at) == ("due", NOW + 600)
    last, order = store.record(made.id, "no_answer", actor="alice", policy=POLICY, note="关机")
    assert (last.state, last.attempts, order) == ("failed", 2, None)
    assert [(a.result, a.note) for a in store.attempts(made.id)] == [
        ("no_answer", ""),
        ("no_answer", "关机"),
    ]
    assert store.find(assignee="alice") == [] and store.get(made.id) == last
    with pytest.raises(CallbackError):
        store.record(made.id, "reached", actor="alice", policy=POLICY)


def test_a_follow_up_moves_its_order_and_a_good_score_closes_it(engine: Engine) -> None:
    owners(engine)
    records = CtiRecords(engine, clock=lambda: NOW)
    store = CallbackRecords(engine, clock=lambda: NOW)
    order = done_order(records)
    follow_up = new_callback(kind="satisfaction", number=order.caller_number, due_at=NOW + 60,
                             reason="回访", assignee="alice", actor="alice", now=NOW,
                             owner_id=1, work_order_id=order.id)  # fmt: skip
    made = store.create(follow_up)
    scheduled = records.get_order(order.id)
    assert scheduled is not None
    assert (scheduled.state, scheduled.callback_at) == ("callback_scheduled", NOW + 60)
    done, closed = store.record(made.id, "reached", actor="alice", policy=POLICY, score=5)
    assert (done.state, done.score) == ("done", 5)
    assert closed is not None and (closed.state, closed.satisfaction) == ("closed", 5)
    steps = [(h.actor, h.action, h.to_state) for h in records.history(order.id)]
    assert steps[-3:] == [("alice", "schedule_callback", "callback_scheduled"),
                          ("alice", "record_satisfaction", "satisfaction_recorded"),
                          ("alice", "close", "closed")]  # fmt: skip
    # a second follow-up on a closed order is refused, and nothing is stored
    with pytest.raises(WorkOrderError):
        store.create(dataclasses.replace(follow_up, due_at=NOW + 120))
    assert len(store.find(open_only=False)) == 1


def test_an_unsatisfied_owner_s_order_waits_to_be_reopened(engine: Engine) -> None:
    owners(engine)
    records = CtiRecords(engine, clock=lambda: NOW)
    store = CallbackRecords(engine, clock=lambda: NOW)
    order = done_order(records)
    wanted = new_callback(kind="satisfaction", number="13812345678", due_at=NOW, reason="回访",
                          assignee="alice", actor="alice", now=NOW, work_order_id=order.id)  # fmt: skip
    made = store.create(wanted)
    _, scored = store.record(made.id, "reached", actor="alice", policy=POLICY, score=2)
    assert scored is not None and (scored.state, scored.satisfaction) == (
        "satisfaction_recorded",
        2,
    )
    cancelled = store.create(dataclasses.replace(made, id=0, kind="callback", work_order_id=None))
    assert store.change(cancelled.id, lambda c: cancel(c, NOW)).state == "cancelled"


async def test_a_linked_number_pops_as_the_owner_and_survives_a_re_import(engine: Engine) -> None:
    repository = owners(engine)
    directory = OwnerDirectory(repository)
    await directory.load()
    assert directory.find("021-6123 4567") == ()
    linked = await directory.link_number(1, "02161234567", "alice", "main", "9.1")
    assert linked is not None and [p.raw for p in linked.phones] == ["", LINKED]
    assert [o.name for o in directory.find("(021) 6123-4567")] == ["张三"]
    await directory.link_number(1, "02161234567", "bob")  # again: one link, renewed
    assert await directory.link_number(99, "02161234567", "alice") is None
    await directory.import_owners([ZHANG])  # the business system's file knows nothing of it
    again = OwnerDirectory(repository)
    await again.load()
    assert [o.id for o in again.find("02161234567")] == [1]
    assert [p.key for p in again.index.owner(1).phones] == ["13812345678", "02161234567"]  # type: ignore[union-attr]
