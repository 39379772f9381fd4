"""Property tests of the AMI codec and the translation of AMI messages into events.

However Asterisk's bytes arrive (split anywhere, garbled, not UTF-8), the parser gives the
same messages and never raises; what ``encode_action`` writes parses back to what it was
given; and any header dict carrying a real event name translates to an event or to nothing.
"""

from __future__ import annotations

import math

from fuzzing import quick_and_long
from hypothesis import strategies as st

from callcenter.core.events import Event, from_json
from callcenter.telephony import ami_events
from callcenter.telephony.ami_codec import AmiParser, encode_action
from callcenter.telephony.ami_events import translate, translate_snapshot

BANNER = b"Asterisk Call Manager/9.0.0\r\n"

# Pieces of real AMI traffic, so that random streams hit the parser's interesting paths
# (repeated keys, "Key:" without its space, Response: Follows bodies, blank-line runs).
FRAGMENTS = [
    b"Asterisk Call Manager/9.0.0",
    b"Response: Success",
    b"Response: Follows",
    b"Privilege: Command",
    b"--END COMMAND--",
    b"Event: Newchannel",
    b"Linkedid: 1795731524.7",
    b"Output: line",
    b"ChanVariable: A=1",
    b"Key:",
    b"no separator",
    b": ",
    b"\xe4\xb8\xad\xe6\x96\x87",  # UTF-8 Chinese
    b"\xe4\xb8",  # half a character
    b"\xff\xfe",  # never UTF-8
    b"\r\n",
    b"\n",
    b"\r",
    b"\r\n\r\n",
    b"\n\n",
]
stream_bytes = st.lists(
    st.one_of(st.sampled_from(FRAGMENTS), st.binary(max_size=12)), max_size=40
).map(b"".join)


def feed_in_pieces(data: bytes, cuts: list[int]) -> tuple[list[dict[str, str]], AmiParser]:
    parser = AmiParser()
    messages: list[dict[str, str]] = []
    start = 0
    for cut in sorted({c % (len(data) + 1) for c in cuts}):
        messages += parser.feed(data[start:cut])
        start = cut
    messages += parser.feed(data[start:])
    return messages, parser


def check_split_feeding(data: bytes, cuts: list[int]) -> None:
    whole = AmiParser()
    at_once = whole.feed(data)
    in_pieces, split = feed_in_pieces(data, cuts)
    assert in_pieces == at_once
    assert split.banner == whole.banner
    # whatever is still pending completes the same way too
    assert split.feed(b"\r\n\r\n\n\n") == whole.feed(b"\r\n\r\n\n\n")
    assert split.undecodable_messages == whole.undecodable_messages
    for message in at_once:
        assert message and all(
            isinstance(k, str) and isinstance(v, str) for k, v in message.items()
        )


cut_points = st.lists(st.integers(min_value=0, max_value=600), max_size=8)
test_bytes_split_anywhere_give_the_messages_of_one_read, test_split_long = quick_and_long(
    check_split_feeding, data=stream_bytes, cuts=cut_points
)
test_arbitrary_bytes_never_raise, test_arbitrary_bytes_long = quick_and_long(
    check_split_feeding, data=st.binary(max_size=400), cuts=cut_points
)


def test_a_run_of_blank_lines_before_a_follows_reply_is_the_same_split_or_whole() -> None:
    # Found by the split property: a third line end, cut off by the read boundary, used to
    # hide "Response: Follows" and turn the command's output into malformed lines.
    stream = BANNER + b"Event: X\r\n\r\n\r\nResponse: Follows\r\nhello\r\n--END COMMAND--\r\n\r\n"
    whole = AmiParser().feed(stream)
    assert whole[-1] == {"Response": "Follows", "Output": "hello"}
    for cut in range(1, len(stream)):
        parser = AmiParser()
        assert parser.feed(stream[:cut]) + parser.feed(stream[cut:]) == whole, cut


# --- encoding ------------------------------------------------------------------------------

# Header names and values as encode_action accepts them: no line breaks, no ": " in a name.
header_name = st.text(
    st.characters(blacklist_categories=["Cs"], blacklist_characters="\r\n"), min_size=1, max_size=16
).filter(lambda k: ": " not in k and not k.endswith(":"))
header_value = st.text(
    st.characters(blacklist_categories=["Cs"], blacklist_characters="\r\n"), max_size=30
)
action_fields = st.dictionaries(
    header_name,
    st.one_of(header_value, st.lists(header_value, min_size=1, max_size=3)),
    min_size=1,
    max_size=8,
)


def expected_after_parse(fields: dict[str, str | list[str]]) -> dict[str, str]:
    return {k: v if isinstance(v, str) else "\n".join(v) for k, v in fields.items()}


def encoded_actions_parse_back_to_their_fields(
    messages: list[dict[str, str | list[str]]], cuts: list[int]
) -> None:
    stream = BANNER + b"".join(encode_action(m) for m in messages)
    parsed, parser = feed_in_pieces(stream, cuts)
    assert parsed == [expected_after_parse(m) for m in messages]
    assert parser.pending_bytes == 0
    assert parser.malformed_lines == 0


test_encoded_actions_parse_back_to_their_fields, test_round_trip_long = quick_and_long(
    encoded_actions_parse_back_to_their_fields,
    messages=st.lists(action_fields, min_size=1, max_size=4),
    cuts=st.lists(st.integers(0, 2000), max_size=8),
)


def encoding_anything_gives_one_action_or_a_value_error(
    fields: dict[str, str | list[str]],
) -> None:
    try:
        encoded = encode_action(fields)
    except ValueError:
        return  # a line break or ": " in a name, a line break in a value, a lone surrogate
    parsed = AmiParser().feed(BANNER + encoded)
    # never a second, injected action
    assert len(parsed) <= 1


test_encoding_anything_gives_one_action_or_a_value_error, test_encoding_long = quick_and_long(
    encoding_anything_gives_one_action_or_a_value_error,
    fields=st.dictionaries(
        st.text(max_size=8),
        st.one_of(st.text(max_size=12), st.lists(st.text(max_size=6), max_size=3)),
    ),
)


# --- translation ---------------------------------------------------------------------------

EVENT_NAMES = sorted(k for k in ami_events._TRANSLATORS if k is not None)
SNAPSHOT_NAMES = sorted(k for k in ami_events._SNAPSHOTS if k is not None)
# Every header the translators read, from Asterisk's own field names.
FIELD_NAMES = [
    "Linkedid", "Uniqueid", "Channel", "ChannelState", "ChannelStateDesc", "CallerIDNum",
    "CallerIDName", "Context", "Exten", "Timestamp", "DestLinkedid", "DestChannel",
    "DestUniqueid", "DialString", "DialStatus", "BridgeUniqueid", "Cause", "Cause-txt",
    "Direction", "Digit", "DurationMs", "Application", "AppData", "Queue", "Position",
    "OriginalPosition", "HoldTime", "Interface", "MemberName", "RingTime", "TalkTime",
    "Reason", "Penalty", "Paused", "PausedReason", "Status", "InCall", "CallsTaken",
    "SpyerLinkedid", "SpyerUniqueid", "SpyerChannel", "SpyeeChannel", "SpyeeUniqueid",
    "SpyeeLinkedid", "EndTime", "StartTime", "AnswerTime", "LinkedID", "UniqueID", "Source",
    "Destination", "DestinationContext", "DestinationChannel", "LastApplication", "Duration",
    "BillableSeconds", "Disposition", "UserField", "Location", "Name", "Wait", "BridgeId",
    "ApplicationData",
]  # fmt: skip
# Values that look like what Asterisk sends, and some that only look close.
VALUE_SAMPLES = [
    "", "0", "1", "-1", "6", "16", "1795731524.123456", "1795731524", "nan", "inf", "-inf",
    "1e400", "2026-05-04 10:11:12", "2026-13-45 99:99:99", "0001-01-01 00:00:00",
    "9999-12-31 23:59:59", "00:01:02", "123:00:00", "1:2", "1:2:3:4", "a:b:c", "<unknown>",
    "PJSIP/1001-00000001", "Received", "Sent", "VoiceMail", "100@default,u", "support",
    "Agent 1001", "ANSWER", "中文", "1_000", "٣",
]  # fmt: skip
header_values = st.one_of(st.sampled_from(VALUE_SAMPLES), st.text(max_size=20))


def headers(names: list[str]) -> st.SearchStrategy[dict[str, str]]:
    return st.builds(
        lambda event, fields, extra: {**extra, **fields, "Event": event},
        st.sampled_from(names),
        st.fixed_dictionaries({}, optional=dict.fromkeys(FIELD_NAMES, header_values)),
        st.dictionaries(st.text(max_size=10), st.text(max_size=10), max_size=3),
    )


def assert_event_or_nothing(result: Event | None, pbx: str) -> None:
    if result is None:
        return
    assert isinstance(result, Event)
    assert result.pbx == pbx
    assert isinstance(result.call_id, str) and isinstance(result.channel_id, str)
    assert math.isfinite(result.at)
    # events cross process boundaries as JSON: what comes out of translation must survive it
    assert from_json(result.to_json()) == result


def event_translates_to_an_event_or_nothing(message: dict[str, str], pbx: str) -> None:
    assert_event_or_nothing(translate(message, pbx), pbx)


def snapshot_translates_to_an_event_or_nothing(
    message: dict[str, str], pbx: str, at: float
) -> None:
    assert_event_or_nothing(translate_snapshot(message, pbx, at), pbx)


def arbitrary_dicts_translate_to_nothing(message: dict[str, str]) -> None:
    assert translate(message, "main") is None or "Event" in message
    assert translate_snapshot(message, "main", 1.0) is None or "Event" in message


test_any_headers_of_a_real_event_translate_to_an_event_or_nothing, test_translate_long = (
    quick_and_long(
        event_translates_to_an_event_or_nothing,
        message=headers(EVENT_NAMES),
        pbx=st.text(max_size=8),
    )
)
test_any_rows_of_a_resync_reply_translate_to_an_event_or_nothing, test_snapshot_long = (
    quick_and_long(
        snapshot_translates_to_an_event_or_nothing,
        message=headers(SNAPSHOT_NAMES),
        pbx=st.text(max_size=8),
        at=st.floats(min_value=0, max_value=4e9),
    )
)
test_arbitrary_dicts_translate_to_nothing, test_arbitrary_dicts_long = quick_and_long(
    arbitrary_dicts_translate_to_nothing,
    message=st.dictionaries(st.text(max_size=12), st.text(max_size=12), max_size=8),
)


def test_a_timestamp_that_is_no_time_drops_the_event() -> None:
    # Found by the translation property: "nan" parsed as a float and reached the tracker.
    hangup = {"Event": "Hangup", "Linkedid": "1.1", "Uniqueid": "1.1", "Channel": "PJSIP/1-1"}
    assert translate({**hangup, "Timestamp": "1795731524.5"}, "main") is not None
    for stamp in ("nan", "inf", "-inf"):
        assert translate({**hangup, "Timestamp": stamp}, "main") is None
