"""Asterisk's durable records (queue_log and the CDR CSV) turned into domain events.

Asterisk keeps no events for a client that is not connected; what happened meanwhile is
in the files it writes for itself. Parsing is pure; ``DurableTail`` only reads the bytes
appended since the last committed offsets.

queue_log lines are ``epoch|callid|queue|agent|EVENT|data1|data2|...`` (main/logger.c);
each event's data fields are those app_queue.c writes. CDR rows are cdr_csv's 18 columns
(accountcode ... userfield), optionally followed by ``linkedid`` (a cdr_custom template),
or cdr_csv's ``newcdrcolumns`` layout (peeraccount, linkedid, sequence); dates are in the
PBX's zone.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from typing import Literal

from callcenter.events import (
    AgentAnswered,
    AgentCompleted,
    AgentDumped,
    AgentRingNoAnswer,
    CallDetail,
    Event,
    QueueAbandoned,
    QueueJoined,
    QueueMemberChanged,
    QueueTimedOut,
)
from callcenter.telephony.ami_events import DEFAULT_ZONE, cdr_time

__all__ = [
    "CdrRow",
    "DurableTail",
    "Offsets",
    "QueueLogEntry",
    "durable_events",
    "parse_cdr_line",
    "parse_cdr_row",
    "parse_queue_log_line",
]

# source ("queue_log" | "cdr") -> (byte offset, identity of the file that offset is in)
Offsets = dict[str, tuple[int, str]]


@dataclass(frozen=True, slots=True)
class QueueLogEntry:
    time: float
    callid: str  # Uniqueid of the caller's channel, or NONE / MANAGER / REALTIME...
    queue: str
    agent: str  # member name (or interface), or NONE
    event: str
    data: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CdrRow:
    accountcode: str
    src: str
    dst: str
    dcontext: str
    clid: str
    channel: str
    dstchannel: str
    lastapp: str
    lastdata: str
    start: float  # epoch seconds
    answer: float  # 0.0 when unanswered
    end: float
    duration: int
    billsec: int
    disposition: str
    amaflags: str
    uniqueid: str
    userfield: str
    linkedid: str  # the uniqueid itself when the file has no linkedid column


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


def parse_cdr_row(fields: Sequence[str], tz: tzinfo = DEFAULT_ZONE) -> CdrRow | None:
    """One CDR row already split into columns, or None when it does not fit."""
    count = len(fields)
    if count == 18:
        linkedid = fields[16]
    elif count == 19:
        linkedid = fields[18]
    elif count == 21:  # cdr_csv newcdrcolumns: peeraccount, linkedid, sequence
        linkedid = fields[19]
    else:
        return None
    try:
        return CdrRow(
            accountcode=fields[0],
            src=fields[1],
            dst=fields[2],
            dcontext=fields[3],
            clid=fields[4],
            channel=fields[5],
            dstchannel=fields[6],
            lastapp=fields[7],
            lastdata=fields[8],
            start=cdr_time(fields[9], tz),
            answer=cdr_time(fields[10], tz),
            end=cdr_time(fields[11], tz),
            duration=int(fields[12]),
            billsec=int(fields[13]),
            disposition=fields[14],
            amaflags=fields[15],
            uniqueid=fields[16],
            userfield=fields[17],
            linkedid=linkedid or fields[16],
        )
    except ValueError:
        return None


def parse_cdr_line(line: str, tz: tzinfo = DEFAULT_ZONE) -> CdrRow | None:
    """One Master.csv line (cdr_csv quoting: fields in quotes, quotes doubled)."""
    try:
        fields = next(csv.reader([line.rstrip("\r\n")]))
    except (csv.Error, StopIteration):
        return None
    return parse_cdr_row(fields, tz)


# --- queue_log / CDR -> events ------------------------------------------------------------


def _int(data: tuple[str, ...], index: int) -> int:
    try:
        return int(data[index])
    except (IndexError, ValueError):
        return 0


def _str(data: tuple[str, ...], index: int) -> str:
    return data[index] if -len(data) <= index < len(data) else ""


_MEMBER_CHANGES: dict[str, Literal["added", "removed", "paused"]] = {
    "ADDMEMBER": "added",
    "REMOVEMEMBER": "removed",
    "PAUSE": "paused",
    "UNPAUSE": "paused",
}


def _queue_event(e: QueueLogEntry, pbx: str, linked: dict[str, str]) -> Event | None:
    name, d = e.event, e.data
    call_id = linked.get(e.callid, e.callid)
    member = "" if e.agent == "NONE" else e.agent
    if name == "ENTERQUEUE":  # url|callerid|position[|callername]
        return QueueJoined(
            pbx=pbx,
            call_id=call_id,
            channel_id=e.callid,
            at=e.time,
            source="queue_log",
            queue=e.queue,
            caller_number=_str(d, 1),
            position=_int(d, 2),
        )
    if name == "CONNECT":  # holdtime|bridged channel uniqueid|ringtime
        return AgentAnswered(
            pbx=pbx,
            call_id=call_id,
            channel_id=e.callid,
            at=e.time,
            source="queue_log",
            queue=e.queue,
            member_name=member,
            dest_channel_id=_str(d, 1),
            hold_time=_int(d, 0),
            ring_time=_int(d, 2),
        )
    if name in ("COMPLETECALLER", "COMPLETEAGENT"):  # holdtime|calltime|origposition
        return AgentCompleted(
            pbx=pbx,
            call_id=call_id,
            channel_id=e.callid,
            at=e.time,
            source="queue_log",
            queue=e.queue,
            member_name=member,
            hold_time=_int(d, 0),
            talk_time=_int(d, 1),
            reason="caller" if name == "COMPLETECALLER" else "agent",
        )
    if name in ("BLINDTRANSFER", "ATTENDEDTRANSFER", "TRANSFER"):
        # ...|holdtime|calltime|origposition: the leading fields vary by transfer kind.
        return AgentCompleted(
            pbx=pbx,
            call_id=call_id,
            channel_id=e.callid,
            at=e.time,
            source="queue_log",
            queue=e.queue,
            member_name=member,
            hold_time=_int(d, -3) if len(d) >= 3 else 0,
            talk_time=_int(d, -2) if len(d) >= 3 else 0,
            reason="transfer",
        )
    if name == "ABANDON":  # position|origposition|waittime
        return QueueAbandoned(
            pbx=pbx,
            call_id=call_id,
            channel_id=e.callid,
            at=e.time,
            source="queue_log",
            queue=e.queue,
            position=_int(d, 0),
            original_position=_int(d, 1),
            hold_time=_int(d, 2),
        )
    if name in ("EXITWITHTIMEOUT", "EXITEMPTY"):  # position|origposition|waittime
        return QueueTimedOut(
            pbx=pbx,
            call_id=call_id,
            channel_id=e.callid,
            at=e.time,
            source="queue_log",
            queue=e.queue,
            reason="timeout" if name == "EXITWITHTIMEOUT" else "empty",
            position=_int(d, 0),
            original_position=_int(d, 1),
            wait_time=_int(d, 2),
        )
    if name == "EXITWITHKEY":  # key|position|origposition|waittime
        return QueueTimedOut(
            pbx=pbx,
            call_id=call_id,
            channel_id=e.callid,
            at=e.time,
            source="queue_log",
            queue=e.queue,
            reason="key",
            position=_int(d, 1),
            original_position=_int(d, 2),
            wait_time=_int(d, 3),
        )
    if name == "RINGNOANSWER":  # ring time in ms
        return AgentRingNoAnswer(
            pbx=pbx,
            call_id=call_id,
            channel_id=e.callid,
            at=e.time,
            source="queue_log",
            queue=e.queue,
            member_name=member,
            ring_time_ms=_int(d, 0),
        )
    if name == "AGENTDUMP":
        return AgentDumped(
            pbx=pbx,
            call_id=call_id,
            channel_id=e.callid,
            at=e.time,
            source="queue_log",
            queue=e.queue,
            member_name=member,
        )
    if name in _MEMBER_CHANGES:
        paused = name == "PAUSE" or (name == "ADDMEMBER" and _str(d, 0) == "PAUSED")
        return QueueMemberChanged(
            pbx=pbx,
            call_id="",
            at=e.time,
            source="queue_log",
            change=_MEMBER_CHANGES[name],
            queue=e.queue,
            # PAUSE/UNPAUSE name the member, never the phone (app_queue.c set_member_paused);
            # ADDMEMBER/REMOVEMEMBER name the phone unless log_membername_as_agent is set.
            interface="" if name in ("PAUSE", "UNPAUSE") else e.agent,
            member_name=e.agent,
            paused=paused,
            paused_reason=_str(d, 0) if name in ("PAUSE", "UNPAUSE") else "",
        )
    return None


def _detail(row: CdrRow, pbx: str) -> CallDetail:
    return CallDetail(
        pbx=pbx,
        call_id=row.linkedid,
        channel_id=row.uniqueid,
        at=row.end or row.start,
        source="cdr",
        src=row.src,
        dst=row.dst,
        dcontext=row.dcontext,
        channel=row.channel,
        dest_channel=row.dstchannel,
        last_app=row.lastapp,
        start=row.start,
        answer=row.answer,
        end=row.end,
        duration=row.duration,
        billsec=row.billsec,
        disposition=row.disposition,
        userfield=row.userfield,
    )


def durable_events(
    queue_log_entries: Iterable[QueueLogEntry], cdr_rows: Iterable[CdrRow], pbx: str
) -> list[Event]:
    """The domain events the records describe, in time order.

    A queue_log callid is a channel's Uniqueid; the CDR rows map it to the call's Linkedid
    (else the callid stands for the call). At equal times queue_log events come before
    CDR rows, and each file keeps its own order, so a call's queue story precedes the
    CDR row that closes it.
    """
    rows = list(cdr_rows)
    linked = {row.uniqueid: row.linkedid for row in rows if row.linkedid}
    keyed: list[tuple[float, int, int, Event]] = []
    for index, entry in enumerate(queue_log_entries):
        event = _queue_event(entry, pbx, linked)
        if event is not None:
            keyed.append((event.at, 0, index, event))
    for index, row in enumerate(rows):
        detail = _detail(row, pbx)
        keyed.append((detail.at, 1, index, detail))
    keyed.sort(key=lambda item: item[:3])
    return [item[3] for item in keyed]


# --- reading the files --------------------------------------------------------------------


def _identity(stat: os.stat_result) -> str:
    return f"{stat.st_dev}:{stat.st_ino}"


class DurableTail:
    """Reads what Asterisk appended to queue_log and Master.csv since the last commit.

    ``read_new`` reads complete lines only and moves nothing: the caller ``commit``s the
    returned offsets once what it derived from them is safe. A file whose identity
    (device and inode) changed, or that is shorter than the offset, was rotated or
    truncated and is read from the start; a missing file reads as empty.
    """

    SOURCES = ("queue_log", "cdr")

    def __init__(
        self,
        queue_log_path: str | os.PathLike[str] | None,
        cdr_path: str | os.PathLike[str] | None,
        *,
        zone: tzinfo = DEFAULT_ZONE,
        offsets: Offsets | None = None,
    ) -> None:
        self._paths = {"queue_log": queue_log_path, "cdr": cdr_path}
        self.zone = zone
        self.offsets: Offsets = {}
        self.malformed = 0  # lines skipped because they did not parse
        if offsets:
            self.restore(offsets)

    def restore(self, saved: Offsets) -> None:
        self.offsets = {k: v for k, v in saved.items() if k in self.SOURCES}

    def commit(self, offsets: Offsets) -> None:
        self.offsets = dict(offsets)

    def skip_to_end(self) -> None:
        """Start after everything already written (history is not ours to count)."""
        for source, path in self._paths.items():
            if path is None:
                continue
            try:
                stat = os.stat(path)
            except OSError:
                continue
            self.offsets[source] = (stat.st_size, _identity(stat))

    def read_new(self) -> tuple[list[QueueLogEntry], list[CdrRow], Offsets]:
        offsets = dict(self.offsets)
        entries: list[QueueLogEntry] = []
        rows: list[CdrRow] = []
        for line in self._read_lines("queue_log", offsets):
            entry = parse_queue_log_line(line)
            if entry is None:
                self.malformed += line.strip() != ""
            else:
                entries.append(entry)
        for line in self._read_lines("cdr", offsets):
            row = parse_cdr_line(line, self.zone)
            if row is None:
                self.malformed += line.strip() != ""
            else:
                rows.append(row)
        return entries, rows, offsets

    def _read_lines(self, source: str, offsets: Offsets) -> list[str]:
        path = self._paths[source]
        if path is None:
            return []
        try:
            handle = open(path, "rb")  # noqa: SIM115 - closed below, after fstat
        except OSError:
            return []
        with handle:
            stat = os.fstat(handle.fileno())
            identity = _identity(stat)
            offset, saved_identity = offsets.get(source, (0, ""))
            if (saved_identity and saved_identity != identity) or offset > stat.st_size:
                offset = 0
            handle.seek(offset)
            lines: list[str] = []
            for raw in handle:
                if not raw.endswith(b"\n"):
                    break  # a line still being written: read it next time
                offset += len(raw)
                lines.append(raw.decode("utf-8", errors="replace"))
            offsets[source] = (offset, identity)
            return lines
