"""Property tests of the AGI codec: the ``agi_*`` environment and command replies.

Whatever a FastAGI peer sends, the readers give a Reply, a HangupNotice or nothing (a line
inside a 520 usage text), or raise ``AgiProtocolError``; replies in res_agi.c's shapes
parse back to their parts, and a HANGUP line never shifts a reply onto the wrong command.
"""

from __future__ import annotations

from fuzzing import quick_and_long
from hypothesis import strategies as st

from callcenter.telephony.agi_codec import (
    MAX_HEADERS,
    MAX_LINE,
    AgiProtocolError,
    EnvironmentReader,
    HangupNotice,
    Reply,
    ReplyReader,
    command,
    parse_env_line,
    parse_reply,
    quote,
)

# Lines as res_agi.c writes them, and ones that only look close.
REPLY_SAMPLES = [
    "200 result=0", "200 result=1 (5550001)", "200 result=0 endpos=3404",
    "200 result= (timeout)", "200 result=42 (timeout)", "200 result=-1",
    "200 result=1 (timeout) endpos=1234", "510 Invalid or unknown command",
    "511 Command Not Permitted on a dead channel or intercept routine",
    "520-Invalid command syntax.  Proper usage follows:", "Usage: STREAM FILE <filename>",
    "520 End of proper usage.", "HANGUP", "200", "200 ", "20", "2000", "²²²", "٢٠٠ result=1",
    "200 result=1 (", "200 result=1 ()", "200 result=1 endpos=", "200 result=1 endpos=x",
    "", "\r", "\x00", "200 result=1 (a) endpos=99999999999999999999999",
]  # fmt: skip
line_text = st.one_of(st.sampled_from(REPLY_SAMPLES), st.text(max_size=60))
line_bytes = st.one_of(
    line_text.map(lambda t: (t + "\n").encode("utf-8", "surrogatepass")),
    st.binary(max_size=80),
)


def reply_lines_give_replies_or_protocol_errors(lines: list[bytes]) -> None:
    reader = ReplyReader()
    for raw in lines:
        try:
            result = reader.feed(raw)
        except AgiProtocolError:
            reader = ReplyReader()  # the session ends here; a new one starts clean
            continue
        assert result is None or isinstance(result, Reply | HangupNotice)
        if isinstance(result, Reply):
            assert 0 <= result.code <= 999
            assert result.endpos is None or result.endpos >= 0
            assert isinstance(result.ok, bool) and isinstance(result.hung_up, bool)


test_reply_lines_give_replies_or_protocol_errors, test_replies_long = quick_and_long(
    reply_lines_give_replies_or_protocol_errors, lines=st.lists(line_bytes, max_size=12)
)


def any_line_parses_or_raises_the_protocol_error(line: str) -> None:
    try:
        reply = parse_reply(line)
    except AgiProtocolError:
        return
    assert reply.code == int(line[:3])


test_any_line_parses_or_raises_the_protocol_error, test_parse_reply_long = quick_and_long(
    any_line_parses_or_raises_the_protocol_error, line=line_text
)


def test_a_code_in_other_digits_is_not_a_reply() -> None:
    # Found by the parse property: "²²²" passed str.isdigit() and then broke int().
    for line in ("²²²", "²²² result=1", "٢٠٠ result=1", "１２３"):
        try:
            parse_reply(line)
        except AgiProtocolError:
            continue
        raise AssertionError(f"{line!r} parsed as a reply")


# --- replies built from their parts -----------------------------------------------------------

results = st.one_of(st.just(""), st.from_regex(r"-?[0-9]{1,6}", fullmatch=True))
datas = st.one_of(
    st.just(""),
    st.just("timeout"),
    st.text(st.characters(blacklist_categories=["Cs", "Cc"]), min_size=1, max_size=20),
)


def reply_from_parts_parses_back(
    code: int, result: str, data: str, endpos: int | None, hangups: list[int]
) -> None:
    line = f"{code} result={result}"
    if data:
        line += f" ({data})"
    if endpos is not None:
        line += f" endpos={endpos}"
    reader = ReplyReader()
    fed = [b"HANGUP\n"] * len(hangups) + [(line + "\r\n").encode()]
    got = [reader.feed(raw) for raw in fed]
    assert got[:-1] == [HangupNotice()] * len(hangups)
    reply = got[-1]
    assert isinstance(reply, Reply)
    assert (reply.code, reply.result, reply.data, reply.endpos) == (code, result, data, endpos)
    assert reply.timed_out == (data == "timeout")
    assert reply.hung_up == (code == 511 or (code == 200 and result == "-1"))


test_replies_built_from_their_parts_parse_back, test_reply_parts_long = quick_and_long(
    reply_from_parts_parses_back,
    code=st.sampled_from([200, 510, 511]) | st.integers(100, 999),
    result=results,
    data=datas,
    endpos=st.none() | st.integers(0, 10**12),
    hangups=st.lists(st.just(0), max_size=2),
)


def usage_text_is_one_reply(usage: list[str], after: str) -> None:
    reader = ReplyReader()
    lines = [
        "520-Invalid command syntax.  Proper usage follows:",
        *usage,
        "520 End of proper usage.",
    ]
    got = [reader.feed((line + "\n").encode()) for line in lines]
    assert got[:-1] == [None] * (len(lines) - 1)
    reply = got[-1]
    assert isinstance(reply, Reply) and reply.code == 520
    assert reply.text == "\n".join(lines)
    # the next reply belongs to the next command
    nxt = reader.feed(f"200 result={after}\n".encode())
    assert isinstance(nxt, Reply) and nxt.result == after


test_a_520_usage_text_is_one_reply, test_usage_long = quick_and_long(
    usage_text_is_one_reply,
    usage=st.lists(
        st.text(st.characters(blacklist_categories=["Cs", "Cc"]), max_size=40).filter(
            lambda t: not t.startswith("520 ")
        ),
        max_size=8,
    ),
    after=st.from_regex(r"[0-9]{1,3}", fullmatch=True),
)


# --- the environment ------------------------------------------------------------------------

ENV_NAMES = [
    "agi_request", "agi_channel", "agi_language", "agi_type", "agi_uniqueid", "agi_version",
    "agi_callerid", "agi_calleridname", "agi_callingpres", "agi_dnid", "agi_rdnis",
    "agi_context", "agi_extension", "agi_priority", "agi_enhanced", "agi_accountcode",
    "agi_threadid", "agi_arg_1", "agi_arg_2",
]  # fmt: skip
env_values = st.text(
    st.characters(blacklist_categories=["Cs"], blacklist_characters="\r\n"), max_size=40
)


def environment_reads_back(env: dict[str, str]) -> None:
    reader = EnvironmentReader()
    for key, value in env.items():
        reader.feed(f"{key}: {value}\n".encode())
        assert not reader.done
    reader.feed(b"\n")
    assert reader.done
    assert reader.env == env


test_an_environment_reads_back, test_environment_long = quick_and_long(
    environment_reads_back,
    env=st.dictionaries(st.sampled_from(ENV_NAMES), env_values, min_size=1),
)


def any_environment_lines_give_variables_or_the_protocol_error(lines: list[bytes]) -> None:
    reader = EnvironmentReader()
    for raw in lines:
        try:
            reader.feed(raw)
        except AgiProtocolError:
            return
        if reader.done:
            break
        assert len(reader.env) <= MAX_HEADERS
    assert all(k.startswith("agi_") for k in reader.env)


env_line = st.one_of(
    st.builds(
        lambda k, v: f"{k}: {v}\n".encode("utf-8", "surrogatepass"),
        st.sampled_from(ENV_NAMES) | st.text(max_size=12),
        st.text(max_size=30),
    ),
    st.binary(max_size=60),
    st.just(b"\n"),
    st.just(b"agi_x: " + b"y" * MAX_LINE + b"\n"),
)
test_any_environment_lines_give_variables_or_the_protocol_error, test_env_lines_long = (
    quick_and_long(
        any_environment_lines_give_variables_or_the_protocol_error,
        lines=st.lists(env_line, max_size=MAX_HEADERS + 4),
    )
)


def env_line_parses_or_raises(line: str) -> None:
    try:
        key, _value = parse_env_line(line)
    except AgiProtocolError:
        return
    assert key.startswith("agi_") and key + ":" in line


test_any_env_line_parses_or_raises_the_protocol_error, test_env_line_long = quick_and_long(
    env_line_parses_or_raises, line=st.text(max_size=40)
)


# --- commands -------------------------------------------------------------------------------


def quoted_arguments_stay_one_line(args: list[str]) -> None:
    encoded = command("EXEC", "Playback", args=tuple(args))
    assert encoded.endswith(b"\n") and encoded.count(b"\n") == 1 and b"\r" not in encoded
    for arg in args:
        quoted = quote(arg)
        assert quoted.startswith('"') and quoted.endswith('"')


test_quoted_arguments_stay_one_line, test_quote_long = quick_and_long(
    quoted_arguments_stay_one_line,
    args=st.lists(st.text(st.characters(blacklist_categories=["Cs"]), max_size=20), max_size=4),
)
