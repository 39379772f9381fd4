"""The pure parts of screen-pops and work orders: events -> seat updates, the work-order
state machine and its timers."""

from __future__ import annotations

import pytest

from callcenter.core.events import (
    AgentAnswered,
    AgentRinging,
    AgentRingNoAnswer,
    ChannelCreated,
    ChannelHungUp,
    DialStarted,
    QueueAbandoned,
    QueueJoined,
    ResyncCompleted,
)
from callcenter.cti.owners import Owner, PhoneEntry
from callcenter.cti.popper import Popper, seat_of
from callcenter.cti.screenpop import SeatHub
from callcenter.cti.workorders import WorkOrder, WorkOrderError, timer, transition
from callcenter.testing import load_transcript, replay

T0 = 1_800_000_000.0
OWNERS = {
    "13812345678": (Owner(1, "A1", "张三", phones=(PhoneEntry("13812345678"),)),),
}


def popper() -> Popper:
    return Popper(lambda number: OWNERS.get(number.replace(" ", "").removeprefix("+86"), ()))


def start(p: Popper, call: str = "c1", number: str = "13812345678") -> None:
    p.apply(ChannelCreated(pbx="main", call_id=call, channel_id=call, at=T0, channel="PJSIP/trunk-01", caller_number=number, exten="4008001000"))  # fmt: skip
    p.apply(QueueJoined(pbx="main", call_id=call, channel_id=call, at=T0 + 5, queue="support"))


def rang(seat: str, call: str = "c1", at: float = T0 + 8) -> AgentRinging:
    return AgentRinging(pbx="main", call_id=call, channel_id=call, at=at, queue="support", interface=seat)  # fmt: skip


def test_seat_names_from_channels() -> None:
    assert seat_of("PJSIP/1001-0000002a") == "PJSIP/1001"
    assert seat_of("Local/1003@agents-00000003;1") == "Local/1003@agents"
    assert seat_of("SIP/trunk") == "SIP/trunk"


def test_ringing_answered_elsewhere_and_ended() -> None:
    p = popper()
    start(p)
    (first,) = p.apply(rang("PJSIP/1001"))
    assert (first.interface, first.state, first.card["known"]) == ("PJSIP/1001", "ringing", True)
    assert first.card["owners"][0]["name"] == "张三" and first.card["wait_s"] == 3.0
    (second,) = p.apply(rang("PJSIP/1002", at=T0 + 9))
    assert second.interface == "PJSIP/1002"
    # A DialBegin toward a seat the queue already announced pops nothing new.
    dial = DialStarted(pbx="main", call_id="c1", channel_id="c1", at=T0 + 9, channel="PJSIP/trunk-01", dest_channel="PJSIP/1002-0000000b", dest_channel_id="c1.5")  # fmt: skip
    assert p.apply(dial) == []
    updates = p.apply(AgentAnswered(pbx="main", call_id="c1", at=T0 + 12, queue="support", interface="PJSIP/1002"))  # fmt: skip
    assert [(u.interface, u.state) for u in updates] == [
        ("PJSIP/1002", "answered"),
        ("PJSIP/1001", "missed"),
    ]
    assert updates[0].card["wait_s"] == 7.0
    ended = p.apply(ChannelHungUp(pbx="main", call_id="c1", channel_id="c1", at=T0 + 80, channel="PJSIP/trunk-01"))  # fmt: skip
    assert [(u.interface, u.state) for u in ended] == [("PJSIP/1002", "ended")]
    assert ended[0].card["wait_s"] == 7.0  # the wait stopped at the answer
    assert p.open_calls() == 0


def test_dial_toward_a_seat_pops_and_originated_calls_do_not() -> None:
    p = popper()
    start(p, number="13700000000")
    dial = DialStarted(pbx="main", call_id="c1", channel_id="c1", at=T0 + 9, channel="PJSIP/trunk-01", dest_channel="PJSIP/1005-0000000c", dest_channel_id="c1.7")  # fmt: skip
    (update,) = p.apply(dial)
    assert update.interface == "PJSIP/1005" and update.card["known"] is False
    own = DialStarted(pbx="main", call_id="c9", channel_id="c9", at=T0, dest_channel="PJSIP/1001-0000000d", dest_channel_id="c9")  # fmt: skip
    assert p.apply(own) == []


def test_ring_no_answer_abandon_and_resync() -> None:
    p = popper()
    start(p)
    p.apply(rang("PJSIP/1001"))
    (missed,) = p.apply(AgentRingNoAnswer(pbx="main", call_id="c1", at=T0 + 23, queue="support", interface="PJSIP/1001"))  # fmt: skip
    assert missed.state == "missed"
    p.apply(rang("PJSIP/1003", at=T0 + 28))
    (gone,) = p.apply(QueueAbandoned(pbx="main", call_id="c1", at=T0 + 30, queue="support"))
    assert (gone.interface, gone.state) == ("PJSIP/1003", "missed")
    start(p, call="c2")
    p.apply(rang("PJSIP/1004", call="c2"))
    (closed,) = p.apply(ResyncCompleted(pbx="main", call_id="", at=T0 + 60, live_channel_ids=("c1",)))  # fmt: skip
    assert (closed.call_id, closed.state) == ("c2", "ended")


def test_a_real_asterisk_capture_pops_each_call_once_and_ends_them_all() -> None:
    p = Popper(lambda _number: ())
    updates = [
        u
        for e in replay(load_transcript("tests/data/ami_events_queue_calls.txt"))
        for u in p.apply(e)
    ]
    ringing = [u for u in updates if u.state == "ringing"]
    assert len(ringing) == 5 == len({u.call_id for u in ringing})
    assert {u.call_id for u in updates if u.state == "ended"} == {u.call_id for u in ringing}
    assert "42#" in {u.card["ivr_digits"] for u in ringing}
    assert p.open_calls() == 0


# --- work orders ------------------------------------------------------------------------------


def order(**changes: object) -> WorkOrder:
    base = WorkOrder(id=1, kind="repair", priority="high", state="new", created_by="alice", created_at=T0, updated_at=T0, due_at=T0 + 7200)  # fmt: skip
    return WorkOrder(**{**base.__dict__, **changes})  # type: ignore[arg-type]


def test_work_order_cannot_skip_steps() -> None:
    with pytest.raises(WorkOrderError, match="cannot finish a work order that is new"):
        transition(order(), "finish", actor="alice", now=T0)
    with pytest.raises(WorkOrderError, match="needs a department or an assignee"):
        transition(order(), "dispatch", actor="alice", now=T0)
    to_department, _ = transition(order(), "dispatch", actor="sue", now=T0, department="cleaning")
    assert (to_department.state, to_department.department) == ("dispatched", "cleaning")
    with pytest.raises(WorkOrderError, match="1 to 5"):
        transition(order(state="callback_scheduled"), "record_satisfaction", actor="a", now=T0, satisfaction=9)  # fmt: skip
    closed, entry = transition(order(state="satisfaction_recorded", satisfaction=5), "close", actor="sue", now=T0)  # fmt: skip
    assert closed.state == "closed" and (entry.from_state, entry.to_state) == ("satisfaction_recorded", "closed")  # fmt: skip


def test_timers_against_the_due_time() -> None:
    assert timer(order(), T0)["state"] == "on_time"
    assert timer(order(), T0 + 4000) == {"state": "due_soon", "remaining_s": 3200}
    assert timer(order(state="in_progress"), T0 + 8000)["state"] == "overdue"
    assert timer(order(state="done"), T0 + 8000)["state"] == "finished"
    assert timer(order(due_at=None), T0)["state"] == "none"


def test_a_seat_signing_in_gets_back_only_the_wrap_ups_of_calls_it_was_shown() -> None:
    """Calls the seat answered while no page of it was open (the agent not signed in)
    don't come back as wrap-up cards; a live call still does."""
    hub, p = SeatHub(), popper()
    start(p, "c1")
    for update in [*p.apply(rang("PJSIP/1001", "c1")),
                   *p.apply(AgentAnswered(pbx="main", call_id="c1", at=T0 + 9, queue="support", interface="PJSIP/1001"))]:  # fmt: skip
        hub.publish(update)
    assert [f["state"] for f in hub.current("PJSIP/1001")] == ["answered"]  # live: it shows
    for update in p.apply(ChannelHungUp(pbx="main", call_id="c1", channel_id="c1", at=T0 + 60, channel="PJSIP/trunk-01")):  # fmt: skip
        hub.publish(update)
    assert hub.current("PJSIP/1001") == []
