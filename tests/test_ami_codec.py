"""The AMI codec on its own: framing, banner, UTF-8 across reads, bad input, encoding."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callcenter.telephony.ami_codec import AmiParser, encode_action

CAPTURES = Path("/work/shared/asterisk-captures")
LOCAL_CAPTURES = Path(__file__).parent / "data"


def capture(name: str) -> bytes:
    for folder in (LOCAL_CAPTURES, CAPTURES):
        path = folder / name
        if path.exists():
            return path.read_bytes()
    pytest.skip(f"capture {name} not found")


def crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode()


BANNER = b"Asterisk Call Manager/11.0.0\r\n"
PING_REPLY = b"Response: Success\r\nActionID: a-1\r\nPing: Pong\r\nTimestamp: 1795731524.1\r\n\r\n"


def test_banner_is_exposed_and_not_a_message() -> None:
    parser = AmiParser()
    assert parser.feed(BANNER) == []
    assert parser.banner == "Asterisk Call Manager/11.0.0"
    assert parser.feed(PING_REPLY) == [
        {"Response": "Success", "ActionID": "a-1", "Ping": "Pong", "Timestamp": "1795731524.1"}
    ]


def test_banner_and_message_in_one_read() -> None:
    parser = AmiParser()
    assert parser.feed(BANNER + PING_REPLY)[0]["Ping"] == "Pong"
    assert parser.banner == "Asterisk Call Manager/11.0.0"


def test_stream_without_banner_starts_with_a_message() -> None:
    parser = AmiParser()
    assert parser.feed(PING_REPLY)[0]["ActionID"] == "a-1"
    assert parser.banner is None


def test_every_byte_boundary_gives_the_same_messages() -> None:
    stream = BANNER + PING_REPLY + crlf("Event: Hangup\nUniqueid: 1.2\nCause: 16\n\n")
    whole = AmiParser().feed(stream)
    for cut in range(1, len(stream)):
        parser = AmiParser()
        assert parser.feed(stream[:cut]) + parser.feed(stream[cut:]) == whole, cut
        assert parser.banner == "Asterisk Call Manager/11.0.0"


def test_multibyte_character_split_across_reads_arrives_intact() -> None:
    data = "Event: NewCallerid\r\nCallerIDName: Zoë\r\n\r\n".encode()
    cut = data.index("ë".encode()) + 1  # inside the two bytes of ë
    parser = AmiParser()
    assert parser.feed(BANNER + data[:cut]) == []
    assert parser.feed(data[cut:]) == [{"Event": "NewCallerid", "CallerIDName": "Zoë"}]


def test_lf_only_stream_is_accepted() -> None:
    parser = AmiParser()
    messages = parser.feed(b"Event: Newchannel\nUniqueid: 1.0\n\nEvent: Hangup\nUniqueid: 1.0\n\n")
    assert [m["Event"] for m in messages] == ["Newchannel", "Hangup"]


def test_value_with_colon_space_keeps_everything_after_the_first() -> None:
    parser = AmiParser()
    [msg] = parser.feed(crlf("Event: VarSet\nVariable: X\nValue: a: b: c\nAccountCode: \n\n"))
    assert msg == {"Event": "VarSet", "Variable": "X", "Value": "a: b: c", "AccountCode": ""}


def test_malformed_lines_are_skipped_and_counted() -> None:
    parser = AmiParser()
    data = crlf("Event: Hangup\ngarbage line\nUniqueid: 1.0\nCause: 16\n\n")
    assert parser.feed(data) == [{"Event": "Hangup", "Uniqueid": "1.0", "Cause": "16"}]
    assert parser.malformed_lines == 1


def test_repeated_keys_keep_every_value() -> None:
    parser = AmiParser()
    data = crlf(
        "Response: Success\nActionID: 7\nMessage: Command output follows\n"
        "Output: Name/username\nOutput: 1001/1001\n\n"
    )
    [msg] = parser.feed(data)
    assert msg["Output"] == "Name/username\n1001/1001"
    assert msg["Message"] == "Command output follows"


def test_old_style_follows_body_goes_to_output() -> None:
    parser = AmiParser()
    data = crlf("Response: Follows\nPrivilege: Command\nActionID: 9\nline one\n--END COMMAND--\n\n")
    [msg] = parser.feed(data)
    assert msg == {
        "Response": "Follows",
        "Privilege": "Command",
        "ActionID": "9",
        "Output": "line one",
    }
    assert parser.malformed_lines == 0


def test_extra_blank_lines_yield_no_empty_messages() -> None:
    parser = AmiParser()
    messages = parser.feed(BANNER + b"\r\n\r\n" + PING_REPLY + b"\r\n\r\n")
    assert [m["Ping"] for m in messages] == ["Pong"]


def test_invalid_utf8_is_replaced_counted_and_other_messages_survive() -> None:
    parser = AmiParser()
    data = b"Event: A\r\nName: \xff\xfe\r\n\r\nEvent: B\r\nName: Zo\xc3\xab\r\n\r\n"
    messages = parser.feed(data)
    assert [m["Event"] for m in messages] == ["A", "B"]
    assert messages[0]["Name"] == "\ufffd\ufffd"
    assert messages[1]["Name"] == "Zoë"
    assert parser.undecodable_messages == 1


def test_incomplete_message_is_kept_until_its_blank_line() -> None:
    parser = AmiParser()
    assert parser.feed(b"Event: Hangup\r\nCause: 16\r\n") == []
    assert parser.pending_bytes > 0
    assert parser.feed(b"\r\n") == [{"Event": "Hangup", "Cause": "16"}]
    assert parser.pending_bytes == 0


def test_real_capture_parses_every_event() -> None:
    text = capture("ami_events_queue_calls.txt").decode()
    expected = text.count("\nEvent: ") + text.startswith("Event: ")
    data = text.replace("\n", "\r\n").encode()
    parser = AmiParser()
    messages: list[dict[str, str]] = []
    for start in range(0, len(data), 4096):
        messages += parser.feed(data[start : start + 4096])
    assert len(messages) == expected == 960
    assert messages[0]["Event"] == "Newchannel"
    assert messages[0]["Uniqueid"] == "1795731524.0"
    assert parser.malformed_lines == 0
    first_hangup = next(m for m in messages if m["Event"] == "Hangup")
    assert first_hangup["Cause"].isdigit()


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(
        st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\r\n"), max_size=12),
        max_size=6,
    ),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=6),
)
def test_roundtrip_any_values_any_cuts(values: list[str], cuts: list[int]) -> None:
    fields = {"Event": "UserEvent", **{f"Key{i}": v for i, v in enumerate(values)}}
    data = BANNER + encode_action(fields) + encode_action({"Event": "Second"})
    points = sorted({0, len(data), *(c for c in cuts if c < len(data))})
    parser = AmiParser()
    messages: list[dict[str, str]] = []
    for start, end in itertools.pairwise(points):
        messages += parser.feed(data[start:end])
    assert messages == [fields, {"Event": "Second"}]


def test_encode_action_writes_crlf_lines_and_repeats_sequences() -> None:
    data = encode_action({"Action": "Originate", "Variable": ["A=1", "B=2"], "Async": "true"})
    assert data == (b"Action: Originate\r\nVariable: A=1\r\nVariable: B=2\r\nAsync: true\r\n\r\n")


@pytest.mark.parametrize(
    "fields",
    [
        {"Action": "Ping\r\nAction: Originate"},
        {"Action": "Ping", "Bad\nKey": "x"},
        {"Action": "Ping", "Key: x": "y"},
        {"Action": "Ping", "Variable": ["ok", "no\r\n"]},
    ],
)
def test_encode_action_refuses_header_injection(fields: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        encode_action(fields)
