"""The seat page's deciding logic without sockets: the agent's own day, transfers, and the
page's places for other features' parts."""

from __future__ import annotations

import re

import pytest

from callcenter.core.call_record import CallRecord, Leg
from callcenter.core.contracts import StateSpan
from callcenter.cti.agent_day import agent_day
from callcenter.cti.i18n import catalogue
from callcenter.cti.seat_page import render_seat_page
from callcenter.cti.transfers import TransferRefused, agent_channel, plan_transfer
from callcenter.web.security import User

NOW = 1_800_000_000.0


def test_the_day_counts_taken_calls_talk_handling_and_pauses_by_reason() -> None:
    calls = [
        {"outcome": "answered", "talk_s": 100.0},
        {"outcome": "answered", "talk_s": 200.0},
        {"outcome": "abandoned", "talk_s": None},  # rang here, never taken
    ]
    spans = [
        StateSpan("on_call", "support", NOW - 900, NOW - 800),
        StateSpan("wrap_up", "support", NOW - 800, NOW - 770),
        StateSpan("paused", "meal", NOW - 770, NOW - 500),
        StateSpan("paused", "break", NOW - 500, NOW - 400),
        StateSpan("paused", "meal", NOW - 400, NOW - 100),
        StateSpan("ready", "", NOW - 100, NOW, current=True),
    ]
    day = agent_day(calls, spans)
    assert day == {
        "calls_taken": 2,
        "talk_s": 300,
        "handle_avg_s": 165,  # (300 talk + 30 wrap-up) / 2
        "pause_s": {"break": 100, "meal": 570},
        "state": "ready",
        "state_reason": "",
        "state_since": NOW - 100,
        "state_s": 100,
    }


def test_a_day_without_calls_or_state_time_is_offline_with_no_average() -> None:
    day = agent_day([], [StateSpan("paused", "meal", NOW - 50, NOW - 10)])  # not current
    assert (day["calls_taken"], day["handle_avg_s"], day["state"], day["state_since"]) == (
        0, None, "offline", None,
    )  # fmt: skip


def _call(*legs: Leg) -> CallRecord:
    return CallRecord("main", "1.1", legs=list(legs))


def test_the_transferer_is_the_seats_channel_still_up_in_the_call() -> None:
    caller = Leg("1.1", "PJSIP/trunk-00000001", NOW, answered_at=NOW)
    gone = Leg("1.2", "PJSIP/1001-00000002", NOW, answered_at=NOW, ended_at=NOW + 5)
    up = Leg("1.3", "PJSIP/1001-00000003", NOW, answered_at=NOW + 6)
    ringing = Leg("1.4", "PJSIP/1002-00000004", NOW)
    assert agent_channel(_call(caller, gone, up, ringing), "PJSIP/1001") == "PJSIP/1001-00000003"
    assert agent_channel(_call(caller, gone), "PJSIP/1001") is None
    assert agent_channel(_call(caller, ringing), "PJSIP/1002") is None  # not answered there
    assert agent_channel(None, "PJSIP/1001") is None


@pytest.mark.parametrize(
    ("mode", "to", "target", "keepers", "action", "exten"),
    [
        ("blind", "seat", "1002", (), "BlindTransfer", "1002"),
        ("blind", "seat", "PJSIP/1002", (), "BlindTransfer", "1002"),
        ("attended", "seat", "1002", (), "Atxfer", "1002"),
        ("blind", "queue", "zone-east", (), "BlindTransfer", "zone-east"),
        ("attended", "housekeeper", "", ("", "PJSIP/1030"), "Atxfer", "1030"),
    ],
)
def test_a_transfer_is_the_action_that_sends_the_caller_to_the_target(
    mode: str, to: str, target: str, keepers: tuple[str, ...], action: str, exten: str
) -> None:
    plan = plan_transfer(
        mode, to, target, channel="PJSIP/1001-00000003", seat="PJSIP/1001",  # type: ignore[arg-type]
        context="from-internal", housekeeper_seats=keepers,
    )  # fmt: skip
    assert plan.interface == ("" if to == "queue" else f"PJSIP/{exten}")
    assert plan.fields == {
        "Action": action,
        "Channel": "PJSIP/1001-00000003",
        "Exten": exten,
        "Context": "from-internal",
    }


@pytest.mark.parametrize(
    ("to", "target", "keepers", "status"),
    [
        ("seat", "1001", (), 400),  # the agent's own seat
        ("seat", "12a", (), 400),
        ("seat", "1002\r\nAction: Hangup", (), 400),
        ("queue", "support\nx", (), 400),
        ("queue", "", (), 400),
        ("housekeeper", "", (), 409),  # no housekeeper with a seat
    ],
)
def test_a_transfer_nowhere_or_to_oneself_is_refused(
    to: str, target: str, keepers: tuple[str, ...], status: int
) -> None:
    with pytest.raises(TransferRefused) as refused:
        plan_transfer(
            "blind", to, target, channel="PJSIP/1001-00000003", seat="PJSIP/1001",  # type: ignore[arg-type]
            context="from-internal", housekeeper_seats=keepers,
        )  # fmt: skip
    assert refused.value.status == status and refused.value.zh


def test_the_seat_page_takes_other_features_parts_after_its_script() -> None:
    user = User(1, "alice", "agent", "Alice", "Agent 1001", "PJSIP/1001")
    page = render_seat_page(
        "zh", user, "tok", catalogue("zh"), seat_label="1号座席", zones={"east": "东区</script>"},
        parts=["<section id='callbacks'></section>", "<script>seatDesk.onWorkspace(() => {})</script>"],
    )  # fmt: skip
    script_end = page.index("</script>")
    assert page.index("<section id='callbacks'>") > script_end  # seatDesk exists by then
    assert "东区<\\/script>" in page  # server data cannot close the script
    assert '<span data-testid="seat" title="PJSIP/1001">1号座席</span>' in page


def test_without_a_seat_the_page_shows_no_status_or_pause() -> None:
    """A supervisor with no seat: nothing to be ready on or pause, so no such controls."""
    controls = ('id="status"', 'id="pause-reason"', 'id="toggle-pause"')
    seated = User(1, "alice", "agent", "Alice", "Agent 1001", "PJSIP/1001")
    page = render_seat_page("zh", seated, "tok", catalogue("zh"))
    assert not any(re.search(c + r"[^>]*\bhidden\b", page) for c in controls)
    seatless = User(2, "sue", "supervisor", "Sue", "", "")
    page = render_seat_page("zh", seatless, "tok", catalogue("zh"))
    assert all(re.search(c + r"[^>]*\bhidden\b", page) for c in controls)
