"""queue_log and CDR files, as Asterisk writes them, become the same domain events."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path

from callcenter.core import events as ev
from callcenter.telephony.durable import CdrRow, durable_events, parse_cdr_line, parse_cdr_row
from callcenter.telephony.queue_log import QueueLogEntry, parse_queue_log_line
from callcenter.testing import durable_lines, load_transcript

DATA = Path(__file__).parent / "data"

CDR_19 = (
    '"","5550002","5551234","from-pstn","""Bob"" <5550002>",'
    '"PJSIP/trunk-0000001a","PJSIP/1001-0000001b","Queue","support",'
    '"2026-11-26 22:18:45","2026-11-26 22:18:46","2026-11-26 22:19:00",15,14,'
    '"ANSWERED","DOCUMENTATION","1795731525.2","dnis:5551234","1795731525.2"'
)


def entry(line: str) -> QueueLogEntry:
    parsed = parse_queue_log_line(line)
    assert parsed is not None
    return parsed


def row(line: str = CDR_19) -> CdrRow:
    parsed = parse_cdr_line(line, UTC)
    assert parsed is not None
    return parsed


# --- parsing ------------------------------------------------------------------------------


def test_queue_log_line() -> None:
    parsed = parse_queue_log_line("1795731528|1795731524.1|support|Agent 1003|CONNECT|2|x.6|2\n")
    assert parsed == QueueLogEntry(
        1795731528.0, "1795731524.1", "support", "Agent 1003", "CONNECT", ("2", "x.6", "2")
    )


def test_queue_log_line_without_data() -> None:
    parsed = parse_queue_log_line("1795731500|NONE|NONE|NONE|QUEUESTART|")
    assert parsed is not None and parsed.event == "QUEUESTART" and parsed.data == ("",)


def test_malformed_queue_log_lines() -> None:
    for line in ("", "garbage", "x|1|q|NONE|ENTERQUEUE||1|1", "1795731500|a|b|c", "1|a|b|c||"):
        assert parse_queue_log_line(line) is None


def test_cdr_row_with_linkedid_column() -> None:
    parsed = row()
    assert parsed.clid == '"Bob" <5550002>'
    assert (parsed.start, parsed.answer, parsed.end) == (1795731525.0, 1795731526.0, 1795731540.0)
    assert (parsed.duration, parsed.billsec, parsed.disposition) == (15, 14, "ANSWERED")
    assert parsed.userfield == "dnis:5551234" and parsed.linkedid == "1795731525.2"


def test_cdr_row_of_default_cdr_csv_has_no_linkedid() -> None:
    plain = parse_cdr_line(CDR_19[: CDR_19.rindex(",")], UTC)
    assert plain is not None and plain.uniqueid == "1795731525.2" and plain.linkedid == ""


def test_cdr_row_in_newcdrcolumns_layout() -> None:
    parsed = parse_cdr_line(CDR_19[: CDR_19.rindex(",")] + ',"peer","1795731500.1",7', UTC)
    assert parsed is not None and parsed.linkedid == "1795731500.1"


def test_cdr_unanswered_and_zone() -> None:
    line = CDR_19.replace('"2026-11-26 22:18:46"', "")
    assert row(line).answer == 0.0
    shanghai = parse_cdr_line(CDR_19)  # default zone: the hotline's
    assert shanghai is not None and row().end - shanghai.end == 8 * 3600


def test_malformed_cdr_rows() -> None:
    assert parse_cdr_row(["a", "b"], UTC) is None
    assert parse_cdr_line(CDR_19.replace(",15,14,", ",x,14,"), UTC) is None
    assert parse_cdr_line(CDR_19.replace("2026-11-26 22:19:00", "yesterday"), UTC) is None


# --- events -------------------------------------------------------------------------------


def test_queue_story_becomes_events_with_the_call_id_from_the_cdr() -> None:
    lines = [
        "1795731526|1795731525.3|support|NONE|ENTERQUEUE||5550002|1",
        "1795731528|1795731525.3|support|Agent 1002|RINGNOANSWER|15000",
        "1795731530|1795731525.3|support|Agent 1002|CONNECT|4|1795731529.12|1",
        "1795731540|1795731525.3|support|Agent 1002|COMPLETECALLER|4|10|1",
    ]
    ql_row = row(CDR_19.replace('"1795731525.2","dnis', '"1795731525.3","dnis'))
    events = durable_events([entry(x) for x in lines], [ql_row], "p")
    joined, rna, answered, completed, detail = events
    assert joined == ev.QueueJoined(
        pbx="p",
        call_id="1795731525.2",
        channel_id="1795731525.3",
        at=1795731526.0,
        source="queue_log",
        queue="support",
        position=1,
        caller_number="5550002",
    )
    assert isinstance(rna, ev.AgentRingNoAnswer) and rna.ring_time_ms == 15000
    assert isinstance(answered, ev.AgentAnswered)
    assert (answered.member_name, answered.hold_time, answered.ring_time) == ("Agent 1002", 4, 1)
    assert answered.dest_channel_id == "1795731529.12"
    assert isinstance(completed, ev.AgentCompleted)
    assert (completed.hold_time, completed.talk_time, completed.reason) == (4, 10, "caller")
    assert isinstance(detail, ev.CallDetail) and detail.source == "cdr"
    assert (detail.call_id, detail.channel_id, detail.at) == (
        "1795731525.2",
        "1795731525.3",
        1795731540.0,
    )


def test_without_a_cdr_row_the_callid_stands_for_the_call() -> None:
    (joined,) = durable_events([entry("5|PJSIP/x|q|NONE|ENTERQUEUE||1|1")], [], "p")
    assert joined.call_id == joined.channel_id == "PJSIP/x"


def test_leaving_the_queue_unanswered() -> None:
    lines = [
        "10|c1|q|NONE|ABANDON|2|3|22",
        "11|c2|q|NONE|EXITWITHTIMEOUT|1|1|120",
        "12|c3|q|NONE|EXITEMPTY|1|1|0",
        "13|c4|q|NONE|EXITWITHKEY|5|1|2|8",
        "14|c5|q|Agent 1|COMPLETEAGENT|3|40|1",
        "15|c6|q|Agent 1|BLINDTRANSFER|2000|default|3|40|1",
        "16|c7|q|Agent 1|ATTENDEDTRANSFER|BRIDGE|b-1|5|41|1",
        "17|c8|q|Agent 1|AGENTDUMP|",
        "18|c9|q|Agent 1|RINGCANCELED|1200",
        "19|NONE|q|NONE|QUEUESTART|",
    ]
    events = durable_events([entry(x) for x in lines], [], "p")
    abandon, timeout, empty, key, agent, blind, attended, dump = events
    assert isinstance(abandon, ev.QueueAbandoned)
    assert (abandon.position, abandon.original_position, abandon.hold_time) == (2, 3, 22)
    assert isinstance(timeout, ev.QueueTimedOut)
    assert (timeout.reason, timeout.wait_time) == ("timeout", 120)
    assert isinstance(empty, ev.QueueTimedOut) and empty.reason == "empty"
    assert isinstance(key, ev.QueueTimedOut)
    assert (key.reason, key.position, key.wait_time) == ("key", 1, 8)
    assert isinstance(agent, ev.AgentCompleted) and agent.reason == "agent"
    assert isinstance(blind, ev.AgentCompleted)
    assert (blind.reason, blind.hold_time, blind.talk_time) == ("transfer", 3, 40)
    assert isinstance(attended, ev.AgentCompleted)
    assert (attended.hold_time, attended.talk_time) == (5, 41)
    assert isinstance(dump, ev.AgentDumped) and dump.member_name == "Agent 1"


def test_member_changes() -> None:
    lines = [
        "1|MANAGER|q|PJSIP/1001|ADDMEMBER|PAUSED",
        "2|NONE|q|Agent 1|PAUSE|lunch",
        "3|NONE|q|Agent 1|UNPAUSE|",
        "4|NONE|q|Agent 1|REMOVEMEMBER|",
    ]
    added, paused, unpaused, removed = durable_events([entry(x) for x in lines], [], "p")
    assert isinstance(added, ev.QueueMemberChanged)
    assert (added.change, added.paused, added.interface) == ("added", True, "PJSIP/1001")
    assert isinstance(paused, ev.QueueMemberChanged)
    assert (paused.change, paused.paused, paused.paused_reason) == ("paused", True, "lunch")
    # app_queue logs a pause under the member's name, never the phone's
    assert (paused.interface, paused.member_name) == ("", "Agent 1")
    assert isinstance(unpaused, ev.QueueMemberChanged) and not unpaused.paused
    assert isinstance(removed, ev.QueueMemberChanged) and removed.change == "removed"
    assert all(e.source == "queue_log" and e.call_id == "" for e in (added, removed))


def test_time_order_puts_queue_log_before_cdr_at_equal_times() -> None:
    lines = [
        "1795731540|1795731525.2|support|Agent 1|COMPLETECALLER|4|10|1",
        "1795731530|1795731525.2|support|Agent 1|CONNECT|4|x|1",
    ]
    events = durable_events([entry(x) for x in lines], [row()], "p")
    assert [type(e) for e in events] == [ev.AgentAnswered, ev.AgentCompleted, ev.CallDetail]


def test_captured_traffic_as_durable_records() -> None:
    messages = load_transcript(DATA / "ami_events_queue_calls.txt")
    queue_log, cdr = durable_lines(messages)
    entries = [entry(line) for _, line in queue_log]
    rows = [row(line) for _, line in cdr]
    assert len(rows) == 17
    events = durable_events(entries, rows, "p")
    kinds = [type(e).__name__ for e in events]
    assert kinds.count("QueueJoined") == kinds.count("AgentAnswered") == 5
    assert kinds.count("AgentCompleted") == 5
    assert {e.call_id for e in events if isinstance(e, ev.QueueJoined)} == {
        "1795731524.0",
        "1795731525.2",
        "1795731526.4",
        "1795731527.8",
        "1795731528.10",
    }
    assert [e.at for e in events] == sorted(e.at for e in events)
