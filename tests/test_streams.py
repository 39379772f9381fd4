"""What travels between instances (pure): envelopes, the repeat window, the outbox."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callcenter.core.call_record import CallRecord, Leg
from callcenter.core.events import QueueJoined, ResyncCompleted
from callcenter.streams.dedupe import SeenWindow
from callcenter.streams.envelope import Envelope, EnvelopeError, decode
from callcenter.streams.outbox import Outbox


def _event() -> QueueJoined:
    return QueueJoined(
        pbx="east", call_id="1700.1", channel_id="1700.1", at=1700.5, queue="support",
        position=1, caller_number="13800138000",
    )  # fmt: skip


def test_an_event_survives_the_stream_field_for_field() -> None:
    sent = Envelope(origin="web-1/99", seq=7, pbx="east", item=_event())
    fields = sent.fields()
    assert all(isinstance(v, str) for v in fields.values())
    got = decode({k.encode(): v.encode() for k, v in fields.items()})  # redis gives bytes
    assert got == sent
    assert got.id == "web-1/99:7"
    assert got.kind == "event"


def test_a_call_record_survives_the_stream_with_its_legs() -> None:
    record = CallRecord(
        pbx="east", call_id="1700.1", started_at=1700.0, ended_at=1760.0, outcome="answered",
        caller_number="13800138000", agent="kf01", queue="support",
        legs=[Leg(channel_id="1700.1", channel="PJSIP/trunk-00000001", started_at=1700.0)],
    )  # fmt: skip
    got = decode(Envelope(origin="a/1", seq=1, pbx="east", item=record).fields())
    assert got.kind == "record"
    assert got.item == record


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"o": "a", "n": "1", "p": "x", "k": "event"}, r"lacks field\(s\) b"),
        ({"o": "a", "n": "one", "p": "x", "k": "event", "b": "{}"}, "not a number"),
        ({"o": "a", "n": "1", "p": "x", "k": "event", "b": "{"}, "not JSON"),
        ({"o": "a", "n": "1", "p": "x", "k": "event", "b": "[]"}, "not a JSON object"),
        ({"o": "a", "n": "1", "p": "x", "k": "gossip", "b": "{}"}, "unknown envelope kind"),
        ({"o": "a", "n": "1", "p": "x", "k": "event", "b": '{"kind": "nope"}'}, "unknown"),
        ({"o": "a", "n": "1", "p": "x", "k": "record", "b": '{"pbx": 1}'}, "does not fit"),
    ],
)
def test_a_broken_entry_is_refused_with_its_problem(fields: dict[str, str], problem: str) -> None:
    with pytest.raises(EnvelopeError, match=problem):
        decode(fields)


def test_repeats_are_caught_and_the_window_stays_bounded() -> None:
    window = SeenWindow(capacity=3)
    assert [window.first_time(k) for k in ("a", "b", "a", "c", "d")] == [
        True, True, False, True, True,
    ]  # fmt: skip
    assert window.repeats == 1
    assert len(window) == 3
    assert window.first_time("a")  # forgotten: the oldest went first


def test_the_outbox_keeps_order_and_drops_the_oldest_past_its_limit() -> None:
    box = Outbox(limit=3)
    envelopes = [Envelope(origin="a/1", seq=n, pbx="east", item=_event()) for n in range(1, 6)]
    for envelope in envelopes:
        box.put(envelope)
    assert box.dropped == 2
    assert [e.seq for e in box.peek(10)] == [3, 4, 5]
    box.done(2)
    assert [e.seq for e in box.peek(10)] == [5]
    assert len(box) == 1


def test_events_with_tuples_round_trip() -> None:
    event = ResyncCompleted(pbx="east", call_id="", at=2.0, live_channel_ids=("1.1", "1.2"))
    assert decode(Envelope(origin="a/1", seq=2, pbx="east", item=event).fields()).item == event


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["o", "n", "p", "k", "b", "x"]),
        st.one_of(
            st.text(max_size=40),
            st.sampled_from(["event", "record", "1", '{"kind": "queue_joined"}', "{}"]),
        ),
    )
)
def test_any_stream_entry_decodes_or_is_refused_by_name(fields: dict[str, str]) -> None:
    try:
        decode(fields)
    except EnvelopeError as exc:
        assert str(exc)
