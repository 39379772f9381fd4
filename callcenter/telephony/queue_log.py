"""queue_log lines (``epoch|callid|queue|agent|EVENT|data1|data2|...``, main/logger.c) and
the domain events they stand for.

Each verb's data fields are those app_queue.c writes; the events come from a table keyed by
the verb, as ``ami_events.py`` keys AMI events by name. Pure: ``durable.py`` places each
line in its call and merges the events with the CDR's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, TypedDict

from callcenter.core.events import (
    AgentAnswered,
    AgentCompleted,
    AgentDumped,
    AgentRingNoAnswer,
    Event,
    QueueAbandoned,
    QueueJoined,
    QueueMemberChanged,
    QueueTimedOut,
)

__all__ = ["QueueLogEntry", "parse_queue_log_line", "queue_log_event"]


@dataclass(frozen=True, slots=True)
class QueueLogEntry:
    time: float
    callid: str  # Uniqueid of the caller's channel, or NONE / MANAGER / REALTIME...
    queue: str
    agent: str  # member name (or interface), or NONE
    event: str
    data: tuple[str, ...]


def parse_queue_log_line(line: str) -> QueueLogEntry | None:
    """One queue_log line, or None when it is not one."""
    parts = line.rstrip("\r\n").split("|")
    if len(parts) < 5 or not parts[4]:
        return None
    try:
        time = float(int(parts[0]))
    except ValueError:
        return None
    return QueueLogEntry(time, parts[1], parts[2], parts[3], parts[4], tuple(parts[5:]))


def _int(data: tuple[str, ...], index: int) -> int:
    try:
        return int(data[index])
    except (IndexError, ValueError):
        return 0


def _str(data: tuple[str, ...], index: int) -> str:
    return data[index] if -len(data) <= index < len(data) else ""


# The event for a queue_log line of one verb: (line, pbx, the call the line belongs to).
QueueLogTranslator = Callable[[QueueLogEntry, str, str], Event]


def _member(e: QueueLogEntry) -> str:
    return "" if e.agent == "NONE" else e.agent


class _CallFields(TypedDict):
    pbx: str
    call_id: str
    channel_id: str
    at: float
    source: Literal["queue_log"]
    queue: str


def _call_fields(e: QueueLogEntry, pbx: str, call_id: str) -> _CallFields:
    """What every event of a caller's queue_log line says: whose call, when, which queue."""
    return _CallFields(
        pbx=pbx, call_id=call_id, channel_id=e.callid, at=e.time, source="queue_log", queue=e.queue
    )


def _enterqueue(e: QueueLogEntry, pbx: str, call_id: str) -> Event:
    d = e.data  # url|callerid|position[|callername]
    return QueueJoined(
        **_call_fields(e, pbx, call_id),
        caller_number=_str(d, 1),
        position=_int(d, 2),
    )


def _connect(e: QueueLogEntry, pbx: str, call_id: str) -> Event:
    d = e.data  # holdtime|bridged channel uniqueid|ringtime
    return AgentAnswered(
        **_call_fields(e, pbx, call_id),
        member_name=_member(e),
        dest_channel_id=_str(d, 1),
        hold_time=_int(d, 0),
        ring_time=_int(d, 2),
    )


def _completed(
    e: QueueLogEntry, pbx: str, call_id: str, hold_time: int, talk_time: int, reason: str
) -> Event:
    return AgentCompleted(
        **_call_fields(e, pbx, call_id),
        member_name=_member(e),
        hold_time=hold_time,
        talk_time=talk_time,
        reason=reason,
    )


def _complete(e: QueueLogEntry, pbx: str, call_id: str) -> Event:
    d = e.data  # holdtime|calltime|origposition
    reason = "caller" if e.event == "COMPLETECALLER" else "agent"
    return _completed(e, pbx, call_id, _int(d, 0), _int(d, 1), reason)


def _transfer(e: QueueLogEntry, pbx: str, call_id: str) -> Event:
    d = e.data  # ...|holdtime|calltime|origposition: the leading fields vary by transfer kind
    if len(d) < 3:
        return _completed(e, pbx, call_id, 0, 0, "transfer")
    return _completed(e, pbx, call_id, _int(d, -3), _int(d, -2), "transfer")


def _abandon(e: QueueLogEntry, pbx: str, call_id: str) -> Event:
    d = e.data  # position|origposition|waittime
    return QueueAbandoned(
        **_call_fields(e, pbx, call_id),
        position=_int(d, 0),
        original_position=_int(d, 1),
        hold_time=_int(d, 2),
    )


def _exit(e: QueueLogEntry, pbx: str, call_id: str) -> Event:
    d = e.data  # position|origposition|waittime
    return QueueTimedOut(
        **_call_fields(e, pbx, call_id),
        reason="timeout" if e.event == "EXITWITHTIMEOUT" else "empty",
        position=_int(d, 0),
        original_position=_int(d, 1),
        wait_time=_int(d, 2),
    )


def _exitwithkey(e: QueueLogEntry, pbx: str, call_id: str) -> Event:
    d = e.data  # key|position|origposition|waittime
    return QueueTimedOut(
        **_call_fields(e, pbx, call_id),
        reason="key",
        position=_int(d, 1),
        original_position=_int(d, 2),
        wait_time=_int(d, 3),
    )


def _ringnoanswer(e: QueueLogEntry, pbx: str, call_id: str) -> Event:
    return AgentRingNoAnswer(
        **_call_fields(e, pbx, call_id),
        member_name=_member(e),
        ring_time_ms=_int(e.data, 0),  # ring time in ms
    )


def _agentdump(e: QueueLogEntry, pbx: str, call_id: str) -> Event:
    return AgentDumped(
        **_call_fields(e, pbx, call_id),
        member_name=_member(e),
    )


def _member_change(change: Literal["added", "removed", "paused"]) -> QueueLogTranslator:
    def translate(e: QueueLogEntry, pbx: str, call_id: str) -> Event:
        name, d = e.event, e.data
        # PAUSE/UNPAUSE name the member, never the phone (app_queue.c set_member_paused);
        # ADDMEMBER/REMOVEMEMBER name the phone unless log_membername_as_agent is set.
        by_member = name in ("PAUSE", "UNPAUSE")
        return QueueMemberChanged(
            pbx=pbx,
            call_id="",
            at=e.time,
            source="queue_log",
            change=change,
            queue=e.queue,
            interface="" if by_member else e.agent,
            member_name=e.agent,
            paused=name == "PAUSE" or (name == "ADDMEMBER" and _str(d, 0) == "PAUSED"),
            paused_reason=_str(d, 0) if by_member else "",
        )

    return translate


_QUEUE_LOG: dict[str, QueueLogTranslator] = {
    "ENTERQUEUE": _enterqueue,
    "CONNECT": _connect,
    "COMPLETECALLER": _complete,
    "COMPLETEAGENT": _complete,
    "BLINDTRANSFER": _transfer,
    "ATTENDEDTRANSFER": _transfer,
    "TRANSFER": _transfer,
    "ABANDON": _abandon,
    "EXITWITHTIMEOUT": _exit,
    "EXITEMPTY": _exit,
    "EXITWITHKEY": _exitwithkey,
    "RINGNOANSWER": _ringnoanswer,
    "AGENTDUMP": _agentdump,
    "ADDMEMBER": _member_change("added"),
    "REMOVEMEMBER": _member_change("removed"),
    "PAUSE": _member_change("paused"),
    "UNPAUSE": _member_change("paused"),
}


def queue_log_event(e: QueueLogEntry, pbx: str, call_id: str) -> Event | None:
    """The event for one queue_log line of call ``call_id``, or None for a verb that maps
    to nothing."""
    translator = _QUEUE_LOG.get(e.event)
    return None if translator is None else translator(e, pbx, call_id)
