"""Call records folded from real Asterisk 22 traffic, live and after a lost link."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callcenter.calls.tracker import CallTracker
from callcenter.core import events as ev
from callcenter.core.call_record import CallRecord
from callcenter.core.events import ChannelCreated, ChannelHungUp, Event, QueueJoined
from callcenter.telephony.ami_events import translate, translate_snapshot
from callcenter.telephony.durable import durable_events, parse_cdr_line
from callcenter.telephony.queue_log import parse_queue_log_line
from callcenter.testing import durable_lines, load_transcript, track

DATA = Path(__file__).parent / "data"
QUEUE_CALLS = load_transcript(DATA / "ami_events_queue_calls.txt")
ABANDON = load_transcript(DATA / "ami_events_abandon.txt")
ALL = QUEUE_CALLS + ABANDON


def events_of(messages: list[dict[str, str]]) -> list[Event]:
    # The captures' Asterisk ran in UTC.
    return [e for m in messages if (e := translate(m, "test", tz=UTC)) is not None]


ALL_EVENTS = events_of(ALL)


def fold(events: list[Event], tracker: CallTracker | None = None) -> dict[str, CallRecord]:
    tracker = tracker or CallTracker()
    records: dict[str, CallRecord] = {}
    for event in events:
        for record in tracker.apply(event):
            records[record.call_id] = record
    for record in tracker.open_calls():
        records.setdefault(record.call_id, record)
    return records


def close_enough(a: float | None, b: float | None, tolerance: float = 1.0) -> bool:
    return a is not None and b is not None and abs(a - b) <= tolerance + 1e-6


# --- the captures -------------------------------------------------------------------------


def test_queue_calls_capture() -> None:
    records = {r.call_id: r for r in track(QUEUE_CALLS)}
    inbound = [r for r in records.values() if r.kind == "inbound"]
    assert len(inbound) == 5
    assert all(r.outcome == "answered" and r.ended for r in inbound)
    (spy,) = [r for r in records.values() if r.kind == "spy"]
    assert spy.call_id == "1795731537.16" and spy.ended
    assert len(records) == 6
    # Agents, waits and talk times as AgentConnect / AgentComplete reported them.
    expected = {
        "1795731524.0": ("Agent 1003", 2, 20, "5550001"),
        "1795731525.2": ("Agent 1002", 2, 10, "5550002"),
        "1795731526.4": ("Agent 1001", 2, 20, "5550003"),
        "1795731527.8": ("Agent 1002", 13, 20, "5550004"),
        "1795731528.10": ("Agent 1003", 21, 20, "5550005"),
    }
    for call_id, (agent, hold, talk, number) in expected.items():
        r = records[call_id]
        assert (r.agent, r.queue, r.caller_number) == (agent, "support", number)
        assert close_enough(r.wait_s, hold) and r.talk_s == talk
        assert r.agent_interface == f"Local/{agent[-4:]}@agents"
        assert r.origin == "live" and r.hangup_cause is not None
    recorded = [r.call_id for r in inbound if r.recorded]
    assert recorded == ["1795731526.4"] and records["1795731526.4"].hotline == "85551234"
    with_dtmf = [(r.call_id, r.dtmf) for r in inbound if r.dtmf]
    assert with_dtmf == [("1795731524.0", "42#")]


def test_queue_call_times_and_legs() -> None:
    r = {r.call_id: r for r in track(QUEUE_CALLS)}["1795731524.0"]
    assert r.hotline == "5551234"
    assert r.started_at == 1795731524.9071
    assert r.queue_joined_at == 1795731526.983134
    assert r.ring_started_at == 1795731526.985181
    assert r.answered_at == 1795731528.98989
    assert r.ended_at == 1795731548.993469
    assert close_enough(r.ivr_s, 2.08, 0.01) and close_enough(r.ring_s, 2.0, 0.01)
    assert [leg.channel for leg in r.legs] == [
        "Local/5551234@from-pstn-00000000;1",
        "Local/5551234@from-pstn-00000000;2",
        "Local/1003@agents-00000003;1",
        "Local/1003@agents-00000003;2",
    ]
    assert all(leg.ended_at is not None and leg.answered_at is not None for leg in r.legs)


def test_abandon_capture() -> None:
    (r,) = track(ABANDON)
    assert (r.call_id, r.kind, r.queue, r.outcome) == (
        "1795731574.22",
        "inbound",
        "empty",
        "abandoned",
    )
    assert close_enough(r.wait_s, 22) and r.answered_at is None and r.agent == ""
    assert r.hotline == "75550000" and r.caller_number == "5550099" and r.ended
    assert len(r.legs) == 6  # the caller's pair and two unanswered member rings


def test_short_abandon_threshold() -> None:
    (r,) = track(ABANDON, short_abandon_s=30.0)
    assert r.outcome == "short_abandon"


def test_both_captures_in_one_tracker() -> None:
    tracker = CallTracker()
    records = fold(ALL_EVENTS, tracker)
    assert len(records) == 7 and tracker.finished_count == 7
    assert tracker.open_calls() == []


def test_non_inbound_contexts() -> None:
    records = track(QUEUE_CALLS, inbound_contexts=frozenset({"elsewhere"}))
    assert sorted(r.kind for r in records) == ["internal"] * 5 + ["spy"]


# --- replay, duplicates, determinism ------------------------------------------------------


def as_dicts(records: dict[str, CallRecord]) -> dict[str, dict[str, Any]]:
    return {k: v.to_dict() for k, v in records.items()}


BASELINE = as_dicts(fold(ALL_EVENTS))


def test_every_event_twice_changes_nothing() -> None:
    doubled = [e for event in ALL_EVENTS for e in (event, event)]
    assert as_dicts(fold(doubled)) == BASELINE


def test_replay_is_deterministic() -> None:
    assert as_dicts(fold(ALL_EVENTS)) == BASELINE
    assert as_dicts(fold(events_of(ALL))) == BASELINE


def test_a_finished_call_is_never_counted_again() -> None:
    tracker = CallTracker()
    fold(ALL_EVENTS, tracker)
    again = [r for e in ALL_EVENTS for r in tracker.apply(e)]
    assert again == [] and tracker.finished_count == 7 and tracker.open_calls() == []


def test_each_call_is_final_once() -> None:
    tracker = CallTracker()
    finals = [r.call_id for e in ALL_EVENTS for r in tracker.apply(e)]
    assert len(finals) == len(set(finals)) == 7


def test_open_calls_are_copies() -> None:
    tracker = CallTracker()
    for event in ALL_EVENTS[:40]:
        if event.call_id == "1795731524.0":
            tracker.apply(event)
    (snapshot,) = tracker.open_calls()
    assert snapshot.outcome == "in_progress" and not snapshot.ended
    snapshot.legs.clear()
    snapshot.queue = "changed"
    (fresh,) = tracker.open_calls()
    assert fresh.legs and fresh.queue != "changed"


def test_other_pbx_is_filtered() -> None:
    tracker = CallTracker(pbx_filter="other")
    assert fold(ALL_EVENTS, tracker) == {}


# --- outcomes from hand-made events -------------------------------------------------------


def call(*events: Event, **kwargs: Any) -> CallRecord:
    records = fold(list(events), CallTracker(**kwargs))
    assert len(records) == 1
    return next(iter(records.values()))


def created(at: float, uid: str = "c.1", context: str = "from-pstn", state: int = 0) -> Event:
    return ev.ChannelCreated(
        pbx="p",
        call_id="c.1",
        channel_id=uid,
        at=at,
        channel=f"PJSIP/trunk-{uid}",
        state=state,
        caller_number="13800001111",
        context=context,
        exten="4008001234",
    )


def up(at: float, uid: str = "c.1") -> Event:
    return ev.ChannelStateChanged(
        pbx="p", call_id="c.1", channel_id=uid, at=at, channel="x", state=6
    )


def hangup(at: float, uid: str = "c.1", cause: int = 16) -> Event:
    return ev.ChannelHungUp(pbx="p", call_id="c.1", channel_id=uid, at=at, channel="x", cause=cause)


def joined(at: float) -> Event:
    return ev.QueueJoined(pbx="p", call_id="c.1", channel_id="c.1", at=at, queue="q")


def test_short_abandon() -> None:
    abandon = ev.QueueAbandoned(
        pbx="p", call_id="c.1", channel_id="c.1", at=13.0, queue="q", hold_time=3
    )
    r = call(created(0.0), up(0.5), joined(10.0), abandon, hangup(13.1))
    assert (r.outcome, r.wait_s, r.ivr_s, r.hotline) == ("short_abandon", 3.0, 10.0, "4008001234")


def test_queue_timeout_is_abandoned_never_short() -> None:
    timeout = ev.QueueTimedOut(
        pbx="p", call_id="c.1", channel_id="c.1", at=11.0, queue="q", reason="empty"
    )
    r = call(created(0.0), up(0.5), joined(11.0), timeout, hangup(20.0))
    assert (r.outcome, r.wait_s) == ("abandoned", 0.0)


def test_queued_caller_hanging_up_unseen_is_an_abandon() -> None:
    r = call(created(0.0), up(0.5), joined(2.0), hangup(40.0))
    assert (r.outcome, r.wait_s, r.queue) == ("abandoned", 38.0, "q")


def test_blocked_call() -> None:
    r = call(created(0.0), hangup(0.2, cause=34))
    assert (r.outcome, r.hangup_cause) == ("blocked", 34)
    assert r.ivr_s == pytest.approx(0.2)


def test_ivr_only_and_voicemail() -> None:
    assert call(created(0.0), up(0.1), hangup(30.0)).outcome == "ivr_only"
    vm = ev.VoicemailStarted(pbx="p", call_id="c.1", channel_id="c.1", at=5.0, channel="x")
    assert call(created(0.0), up(0.1), joined(1.0), vm, hangup(30.0)).outcome == "voicemail"


def test_internal_call() -> None:
    assert call(created(0.0, context="agents"), hangup(3.0)).kind == "internal"


def test_answer_seen_only_in_completion() -> None:
    done = ev.AgentCompleted(
        pbx="p",
        call_id="c.1",
        channel_id="c.1",
        at=100.0,
        queue="q",
        member_name="Agent 7",
        hold_time=5,
        talk_time=60,
        reason="agent",
    )
    r = call(created(0.0), up(0.1), done, hangup(100.0))
    assert (r.outcome, r.agent, r.answered_at, r.queue_joined_at) == (
        "answered",
        "Agent 7",
        40.0,
        35.0,
    )
    assert (r.wait_s, r.talk_s) == (5.0, 60.0)


def test_without_timestamps_asterisk_counters_are_used() -> None:
    messages = [{k: v for k, v in m.items() if k != "Timestamp"} for m in ABANDON]
    (r,) = track(messages)
    assert (r.outcome, r.wait_s) == ("abandoned", 22.0)
    records = track([{k: v for k, v in m.items() if k != "Timestamp"} for m in QUEUE_CALLS])
    waits = sorted(r.wait_s or 0 for r in records if r.outcome == "answered")
    assert waits == [2.0, 2.0, 2.0, 13.0, 21.0]


def test_live_cdr_does_not_close_a_call() -> None:
    detail = ev.CallDetail(
        pbx="p", call_id="", channel_id="c.1", at=5.0, source="ami", end=5.0, disposition="ANSWERED"
    )
    tracker = CallTracker()
    assert tracker.apply(created(0.0)) == [] and tracker.apply(detail) == []
    assert len(tracker.open_calls()) == 1
    (r,) = tracker.apply(hangup(5.1))
    assert r.ended_at == 5.1


# --- resync -------------------------------------------------------------------------------


def ts(message: dict[str, str]) -> float:
    return float(message["Timestamp"])


def hms(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def resync_feed(messages: list[dict[str, str]], t1: float, t2: float) -> list[Event]:
    """What the service feeds when the link is down from t1 to t2, then back.

    Live events before t1; at t2 the CoreShowChannels and QueueStatus rows Asterisk would
    list then, the queue_log and CDR lines written meanwhile, ResyncCompleted; then the
    live events from t2 on.
    """
    before = [m for m in messages if ts(m) < t1]
    upto = [m for m in messages if ts(m) < t2]
    after = [m for m in messages if ts(m) >= t2]
    feed = events_of(before)
    alive: dict[str, dict[str, str]] = {}
    waiting: dict[str, dict[str, str]] = {}
    for m in upto:
        name, uid = m["Event"], m.get("Uniqueid", "")
        if name == "Newchannel":
            alive[uid] = m
        elif name == "Hangup":
            alive.pop(uid, None)
        elif name == "QueueCallerJoin":
            waiting[uid] = m
        elif name == "QueueCallerLeave":
            waiting.pop(uid, None)
    for uid, m in alive.items():
        row = {
            "Event": "CoreShowChannel",
            "Channel": m["Channel"],
            "ChannelState": "6",
            "CallerIDNum": m["CallerIDNum"],
            "Context": m["Context"],
            "Exten": m["Exten"],
            "Uniqueid": uid,
            "Linkedid": m["Linkedid"],
            "Duration": hms(t2 - ts(m)),
        }
        snap = translate_snapshot(row, "test", t2)
        assert snap is not None
        feed.append(snap)
    for position, (uid, m) in enumerate(waiting.items(), 1):
        row = {
            "Event": "QueueEntry",
            "Queue": m["Queue"],
            "Position": str(position),
            "Channel": m["Channel"],
            "Uniqueid": uid,
            "CallerIDNum": m["CallerIDNum"],
            "Wait": str(int(t2 - ts(m))),
        }
        snap = translate_snapshot(row, "test", t2)
        assert snap is not None
        feed.append(snap)
    queue_log, cdr = durable_lines(messages)
    entries = [parse_queue_log_line(line) for at, line in queue_log if t1 <= at < t2]
    rows = [parse_cdr_line(line, UTC) for at, line in cdr if t1 <= at < t2]
    assert None not in entries and None not in rows
    feed += durable_events(
        [e for e in entries if e is not None], [r for r in rows if r is not None], "test"
    )
    feed.append(ev.ResyncCompleted(pbx="test", call_id="", at=t2, live_channel_ids=tuple(alive)))
    return feed + events_of(after)


def assert_same_calls(records: dict[str, CallRecord]) -> None:
    assert set(records) == set(BASELINE)
    for call_id, record in records.items():
        want = BASELINE[call_id]
        assert record.ended and record.outcome == want["outcome"], call_id
        assert (record.queue, record.agent) == (want["queue"], want["agent"]), call_id
        if want["wait_s"] is not None:
            assert close_enough(record.wait_s, want["wait_s"]), call_id
        if want["talk_s"] is not None:
            assert close_enough(record.talk_s, want["talk_s"]), call_id
        assert close_enough(record.ended_at, want["ended_at"]), call_id
        assert record.hotline == want["hotline"], call_id


WINDOWS = [
    (1795731526.5, 1795731529.0),  # DTMF, joins and the first answer missed
    (1795731529.0, 1795731541.0),  # the recording start and Bob's whole talk
    (1795731537.0, 1795731543.0),  # the ChanSpy session begins and ends unseen
    (1795731540.0, 1795731549.5),  # hangups missed, channels gone at resync
    (1795731530.0, 1795731531.0),
    (1795731577.0, 1795731590.0),  # member rings of the abandoned call
    (1795731590.0, 1795731599.9),  # the abandon itself
    (1795731524.0, 1795731600.0),  # everything: recovered from the records alone
]


@pytest.mark.parametrize(("t1", "t2"), WINDOWS)
def test_resync_after_a_lost_link_gives_the_same_calls(t1: float, t2: float) -> None:
    tracker = CallTracker()
    records = fold(resync_feed(ALL, t1, t2), tracker)
    assert_same_calls(records)
    assert tracker.finished_count == 7 and tracker.open_calls() == []


def test_calls_recovered_from_the_records_alone_say_so() -> None:
    records = fold(resync_feed(ALL, 1795731524.0, 1795731600.0))
    assert {r.origin for r in records.values()} == {"recovered"}
    alice = records["1795731524.0"]
    assert alice.caller_number == "5550001" and alice.started_at == 1795731524.0
    assert alice.kind == "inbound" and len(alice.legs) == 3  # one per CDR row


def test_starting_mid_traffic_from_the_captured_snapshots() -> None:
    # The service connects while 3 calls talk and 2 wait (ami_actions.txt), then hears
    # the rest of the traffic live.
    actions = load_transcript(DATA / "ami_actions.txt")
    asked = 1795731537.994089  # the CoreShowChannels ActionID's time
    first_reply = actions[: next(i for i, m in enumerate(actions) if m.get("Queue") == "empty")]
    snaps = [e for m in first_reply if (e := translate_snapshot(m, "test", asked)) is not None]
    assert len(snaps) == 16 + 3 + 2
    later = events_of([m for m in QUEUE_CALLS if ts(m) >= asked])
    live = tuple(e.channel_id for e in snaps if isinstance(e, ev.ChannelSnapshot))
    done = ev.ResyncCompleted(pbx="test", call_id="", at=asked, live_channel_ids=live)
    records = fold([*snaps, done, *later])
    inbound = {k: r for k, r in records.items() if r.kind == "inbound"}
    assert set(inbound) == {k for k, v in BASELINE.items() if v["queue"] == "support"}
    for call_id, record in inbound.items():
        want = BASELINE[call_id]
        assert (record.outcome, record.agent, record.queue) == (
            "answered",
            want["agent"],
            "support",
        )
        assert record.origin == "recovered"
        assert close_enough(record.wait_s, want["wait_s"]), call_id
        assert close_enough(record.answered_at, want["answered_at"]), call_id
        assert close_enough(record.started_at, want["started_at"]), call_id
        assert record.talk_s == want["talk_s"]


def test_a_call_seen_only_in_a_snapshot() -> None:
    snap = ev.ChannelSnapshot(
        pbx="p",
        call_id="c.1",
        channel_id="c.1",
        at=1000.0,
        source="resync",
        channel="PJSIP/trunk-1",
        context="from-pstn",
        exten="4008001234",
        duration_s=30,
    )
    tracker = CallTracker()
    assert tracker.apply(snap) == []
    (open_call,) = tracker.open_calls()
    assert (open_call.origin, open_call.started_at, open_call.kind) == (
        "recovered",
        970.0,
        "inbound",
    )
    (r,) = tracker.apply(hangup(1010.0))
    assert (r.ended_at, r.outcome, r.ivr_s) == (1010.0, "ivr_only", 40.0)


def test_resync_closes_calls_that_ended_unseen() -> None:
    tracker = CallTracker()
    for event in (created(0.0), created(1.0, uid="c.2"), up(2.0), joined(5.0)):
        tracker.apply(event)
    (closed,) = tracker.apply(
        ev.ResyncCompleted(pbx="p", call_id="", at=50.0, live_channel_ids=("other",))
    )
    # The last thing known is the join: the best guess ends the call there.
    assert (closed.ended_at, closed.outcome, closed.origin) == (5.0, "short_abandon", "live")
    assert tracker.open_calls() == []
    # A CDR row read later corrects the end it could only guess; the same key comes back.
    detail = ev.CallDetail(
        pbx="p", call_id="c.1", channel_id="c.1", at=42.0, source="cdr", start=0.0, end=42.0
    )
    (corrected,) = tracker.apply(detail)
    assert (corrected.ended_at, corrected.wait_s, corrected.outcome) == (42.0, 37.0, "abandoned")
    assert tracker.apply(detail) == []
    assert tracker.finished_count == 1
    # Live events for it are still ignored.
    assert tracker.apply(hangup(43.0)) == []


def test_resync_prunes_channels_that_hung_up_unseen() -> None:
    tracker = CallTracker()
    for event in (created(0.0), created(1.0, uid="c.2"), up(2.0)):
        tracker.apply(event)
    assert (
        tracker.apply(ev.ResyncCompleted(pbx="p", call_id="", at=9.0, live_channel_ids=("c.2",)))
        == []
    )
    (r,) = tracker.apply(hangup(20.0, uid="c.2"))
    assert r.ended_at == 20.0


def test_durable_events_for_a_live_finished_call_are_ignored() -> None:
    tracker = CallTracker()
    fold(ALL_EVENTS, tracker)
    queue_log, cdr = durable_lines(ALL)
    entries = [e for _, line in queue_log if (e := parse_queue_log_line(line))]
    rows = [r for _, line in cdr if (r := parse_cdr_line(line, UTC))]
    assert [r for e in durable_events(entries, rows, "test") for r in tracker.apply(e)] == []
    assert tracker.finished_count == 7


# --- properties ---------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(ALL_EVENTS) - 1), max_size=400))
def test_any_subsequence_with_repeats_never_raises(picks: list[int]) -> None:
    tracker = CallTracker()
    for index in sorted(picks):
        for record in tracker.apply(ALL_EVENTS[index]):
            assert record.ended and record.outcome != "in_progress"
    tracker.apply(ev.ResyncCompleted(pbx="test", call_id="", at=0.0))
    assert tracker.open_calls() == []


@settings(max_examples=40, deadline=None)
@given(st.permutations(ALL_EVENTS[:120]))
def test_any_order_never_raises(events: list[Event]) -> None:
    tracker = CallTracker()
    for event in events:
        tracker.apply(event)
    tracker.open_calls()


def test_a_call_first_seen_in_durable_lines_during_a_resync_stays_open() -> None:
    """A call that began after the snapshot shows up only in queue_log during the resync:
    it is alive, so ResyncCompleted must not close it; its live events finish it later."""
    from callcenter.core.events import (
        ChannelCreated,
        ChannelHungUp,
        LinkUp,
        QueueJoined,
        ResyncCompleted,
    )

    tracker = CallTracker()
    old = ChannelCreated(
        pbx="p",
        call_id="100.1",
        channel_id="100.1",
        at=100.0,
        channel="PJSIP/trunk-1",
        context="from-pstn",
        exten="4008001000",
    )
    assert tracker.apply(old) == []
    tracker.apply(LinkUp(pbx="p", call_id="", at=150.0, reconnect=True))
    # During the resync: queue_log knows a call the link never saw.
    tracker.apply(
        QueueJoined(
            pbx="p",
            call_id="160.5",
            channel_id="160.5",
            at=160.0,
            queue="support",
            source="queue_log",
        )
    )
    closed = tracker.apply(ResyncCompleted(pbx="p", call_id="", at=155.0, live_channel_ids=()))
    assert [r.call_id for r in closed] == ["100.1"]  # known before, not alive: ended unseen
    assert [r.call_id for r in tracker.open_calls()] == ["160.5"]
    # Its live events arrive after the resync and finish it.
    tracker.apply(
        ChannelCreated(
            pbx="p",
            call_id="160.5",
            channel_id="160.5",
            at=159.0,
            channel="PJSIP/trunk-2",
            context="from-pstn",
            exten="4008002000",
        )
    )
    done = tracker.apply(
        ChannelHungUp(
            pbx="p",
            call_id="160.5",
            channel_id="160.5",
            at=170.0,
            channel="PJSIP/trunk-2",
            cause=16,
        )
    )
    assert [(r.call_id, r.outcome, r.hotline) for r in done] == [
        ("160.5", "abandoned", "4008002000")
    ]


def test_a_caller_found_in_voicemail_by_a_snapshot_ends_as_voicemail() -> None:
    """The call began during a cut and was leaving a message when the link came back: only
    the snapshot (Application VoiceMail) tells; its hangup then arrives live."""
    from callcenter.core.events import (
        ChannelHungUp,
        ChannelSnapshot,
        LinkUp,
        QueueJoined,
        QueueTimedOut,
        ResyncCompleted,
    )

    tracker = CallTracker()
    tracker.apply(LinkUp(pbx="p", call_id="", at=300.0, reconnect=True))
    tracker.apply(
        ChannelSnapshot(pbx="p", call_id="200.1", channel_id="200.1", at=300.0,
                        channel="PJSIP/trunk-9", context="from-pstn", exten="4008001000",
                        application="VoiceMail", application_data="100@default,u",
                        duration_s=90, source="resync")
    )  # fmt: skip
    tracker.apply(
        QueueJoined(pbx="p", call_id="200.1", channel_id="200.1", at=215.0, queue="support",
                    source="queue_log")
    )  # fmt: skip
    tracker.apply(
        QueueTimedOut(pbx="p", call_id="200.1", channel_id="200.1", at=275.0, queue="support",
                      wait_time=60, source="queue_log")
    )  # fmt: skip
    assert (
        tracker.apply(ResyncCompleted(pbx="p", call_id="", at=300.0, live_channel_ids=("200.1",)))
        == []
    )
    done = tracker.apply(
        ChannelHungUp(pbx="p", call_id="200.1", channel_id="200.1", at=320.0,
                      channel="PJSIP/trunk-9", cause=16)
    )  # fmt: skip
    assert [(r.outcome, r.wait_s, r.origin) for r in done] == [("voicemail", 60.0, "recovered")]


# --- a call answered by a direct Dial (the housekeeper's phone, rung from the IVR) ----------


def direct_dial(answered: bool) -> list[Event]:
    """A trunk caller whose AGI dials PJSIP/1030 (answered after 4 s, talk 60 s) or not."""
    call, callee, keeper = "1700000000.1", "1700000000.2", "PJSIP/1030-0000000b"
    p = {"pbx": "test", "call_id": call}
    events: list[Event] = [
        ev.ChannelCreated(**p, channel_id=call, at=100.0, channel="PJSIP/trunk-0000000a",
                          context="from-pstn", exten="4008001000", caller_number="13800001111"),
        ev.ChannelCreated(**p, channel_id=callee, at=110.0, channel=keeper, context="agents"),
        ev.DialStarted(**p, channel_id=call, at=110.0, dest_channel=keeper,
                       dest_channel_id=callee, dial_string="1030"),
    ]  # fmt: skip
    if answered:
        events += [
            ev.DialEnded(**p, channel_id=call, at=114.0, dest_channel=keeper,
                         dest_channel_id=callee, dial_status="ANSWER"),
            ev.ChannelHungUp(**p, channel_id=callee, at=174.0, channel=keeper, cause=16),
        ]  # fmt: skip
    else:
        events += [
            ev.DialEnded(**p, channel_id=call, at=130.0, dest_channel=keeper,
                         dest_channel_id=callee, dial_status="NOANSWER"),
            ev.ChannelHungUp(**p, channel_id=callee, at=130.0, channel=keeper, cause=0),
        ]  # fmt: skip
    end = 174.0 if answered else 135.0
    events += [
        ev.ChannelHungUp(**p, channel_id=call, at=end, channel="PJSIP/trunk-0000000a", cause=16),
        ev.CallDetail(**p, channel_id=call, at=end, source="cdr", src="13800001111",
                      dst="4008001000", dcontext="from-pstn", channel="PJSIP/trunk-0000000a",
                      dest_channel=keeper, last_app="Dial", start=100.0,
                      answer=114.0 if answered else 100.0, end=end,
                      disposition="ANSWERED" if answered else "NO ANSWER"),
    ]  # fmt: skip
    return events


def test_a_call_answered_by_a_direct_dial_is_answered_by_the_dialled_phone() -> None:
    live = [e for e in direct_dial(answered=True) if e.source == "ami"]
    (record,) = fold(live).values()
    assert record.outcome == "answered" and record.ended_at == 174.0
    assert (record.agent, record.agent_interface) == ("PJSIP/1030", "PJSIP/1030")
    assert record.answered_at == 114.0 and record.talk_s == 60.0
    assert record.queue == "" and record.wait_s is None  # never offered to a queue
    # the CDR alone (a call that ended while the link was down) says the same
    durable = [e for e in direct_dial(answered=True) if e.source == "cdr"]
    (recovered,) = fold(durable, CallTracker()).values()
    assert (recovered.outcome, recovered.agent, recovered.answered_at) == (
        "answered", "PJSIP/1030", 114.0,
    )  # fmt: skip
    # a dial nobody answered leaves the call where it was: in the IVR
    (missed,) = fold([e for e in direct_dial(answered=False) if e.source == "ami"]).values()
    assert missed.outcome == "ivr_only" and missed.agent == ""


def test_a_caller_in_two_queues_waited_from_the_first_join_whatever_was_seen_first() -> None:
    """The zone's queue times out after 60 s, the general queue answers 30 s later. The live
    link missed the first join (cut); queue_log tells it afterwards."""
    call = "1700000100.1"
    p = {"pbx": "test", "call_id": call, "channel_id": call}
    trunk = ev.ChannelCreated(**p, at=100.0, channel="PJSIP/trunk-01", context="from-pstn",
                              exten="4008001000")  # fmt: skip
    zone_join = ev.QueueJoined(**p, at=110.0, source="queue_log", queue="zone-east")
    zone_out = ev.QueueTimedOut(**p, at=170.0, source="queue_log", queue="zone-east",
                                wait_time=60)  # fmt: skip
    general = ev.QueueJoined(**p, at=172.5, queue="support")
    answer = ev.AgentAnswered(**p, at=202.5, queue="support", interface="PJSIP/1001",
                              member_name="kf01", hold_time=30)  # fmt: skip
    hangup = ev.ChannelHungUp(**p, at=260.0, channel="PJSIP/trunk-01", cause=16)
    for order in ([general, zone_join, zone_out], [zone_join, zone_out, general]):
        (record,) = fold([trunk, *order, answer, hangup]).values()
        assert (record.queue, record.queue_joined_at) == ("zone-east", 110.0)
        assert (record.outcome, record.agent, record.wait_s) == ("answered", "kf01", 92.5)


def test_a_snapshot_of_a_caller_bridged_by_dial_counts_as_answered_by_the_dialled_phone() -> None:
    # the link came back while the owner talked to their housekeeper: the DialEnd was missed
    call = "1700000200.1"
    p = {"pbx": "test", "call_id": call, "channel_id": call}
    (record,) = fold([
        ev.ChannelCreated(**p, at=100.0, channel="PJSIP/trunk-02", context="from-pstn",
                          exten="4008001000"),
        ev.ChannelSnapshot(**p, at=150.0, source="resync", channel="PJSIP/trunk-02", state=6,
                           context="from-pstn", application="Dial",
                           application_data="PJSIP/1030,20", bridge_id="b-1", duration_s=50),
        ev.ChannelHungUp(**p, at=200.0, channel="PJSIP/trunk-02", cause=16),
    ]).values()  # fmt: skip
    assert (record.outcome, record.agent, record.answered_at) == ("answered", "PJSIP/1030", 150.0)


def test_the_first_queue_s_join_read_after_a_resync_snapshot_names_the_queue() -> None:
    # back after a cut: the snapshot shows the caller in the general queue; queue_log then
    # tells of the zone's queue it waited in first
    call = "1700000300.1"
    p = {"pbx": "test", "call_id": call, "channel_id": call}
    (record,) = fold([
        ev.ChannelSnapshot(**p, at=200.0, source="resync", channel="PJSIP/trunk-03", state=6,
                           context="from-pstn", application="Queue",
                           application_data="support,c,,,120", duration_s=100),
        ev.QueueJoined(**p, at=110.0, source="queue_log", queue="zone-east"),
        ev.QueueTimedOut(**p, at=170.0, source="queue_log", queue="zone-east", wait_time=60),
        ev.QueueJoined(**p, at=172.0, source="queue_log", queue="support"),
    ]).values()  # fmt: skip
    assert (record.queue, record.queue_joined_at) == ("zone-east", 110.0)


def test_a_call_whose_beginning_went_unheard_stays_open_to_its_durable_lines() -> None:
    # Began while the service was down: the first live event is no channel's creation.
    # Ended live, its durable lines (voicemail after the queue, say) may still add what the
    # live events never told; a call heard from its creation on has nothing to learn.
    tracker = CallTracker()
    unheard, heard = "1796433699.158", "1796433700.160"
    tracker.apply(
        QueueJoined(pbx="p", call_id=unheard, channel_id=unheard, at=10.0, queue="repair")
    )
    tracker.apply(
        ChannelCreated(pbx="p", call_id=heard, channel_id=heard, at=10.0, channel="PJSIP/t-1")
    )
    assert tracker.follows(unheard) == tracker.follows(heard) == "open"
    for call_id, channel in ((unheard, "PJSIP/t-0"), (heard, "PJSIP/t-1")):
        tracker.apply(
            ChannelHungUp(pbx="p", call_id=call_id, channel_id=call_id, at=20.0, channel=channel)
        )
    assert tracker.open_calls() == []
    assert tracker.follows(unheard) == "rebuilt"
    assert tracker.follows(heard) == "ended"
