"""Asterisk's durable records (queue_log and the CDR CSV) turned into domain events.

Asterisk keeps no events for a client that is not connected; what happened meanwhile is
in the files it writes for itself. Everything here is pure: parsing, placing each line in
its call (``cdr_calls``) and the events; ``durable_tail`` reads the files.

queue_log lines and their events are ``queue_log.py``'s. CDR rows are in one of the layouts
of ``CDR_LAYOUTS`` (cdr_csv's default 18 columns, a linkedid template, newcdrcolumns);
dates are in the PBX's zone.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import tzinfo

from callcenter.core.events import CallDetail, Event
from callcenter.telephony.ami_events import DEFAULT_ZONE, cdr_time
from callcenter.telephony.cdr_calls import place_rows
from callcenter.telephony.cdr_row import CdrLeadingColumns, CdrRow
from callcenter.telephony.queue_log import QueueLogEntry, queue_log_event

__all__ = [
    "CDR_LAYOUTS",
    "CdrLayout",
    "CdrLeadingColumns",
    "CdrRow",
    "DurablePlacement",
    "Offsets",
    "cdr_layout_of",
    "durable_events",
    "parse_cdr_line",
    "parse_cdr_row",
    "place_durable",
]

# source ("queue_log" | "cdr") -> (byte offset, identity of the file that offset is in)
Offsets = dict[str, tuple[int, str]]


@dataclass(frozen=True, slots=True)
class CdrLayout:
    """Where a CDR file keeps the columns that tie rows to calls (0-based indexes).

    cdr_csv writes 16 columns, then uniqueid (``loguniqueid``), userfield (``loguserfield``)
    and peeraccount, linkedid, sequence (``newcdrcolumns``), each when turned on
    (cdr/cdr_csv.c); Asterisk's sample cdr.conf turns on the first two: 18 columns.
    """

    name: str
    columns: int
    uniqueid: int | None
    userfield: int | None
    linkedid: int | None
    meaning: str

    @property
    def usable(self) -> bool:
        return self.uniqueid is not None


_GROUPED = (
    "no linkedid column: rows are put into calls by their channels (Local channel pairs, "
    "dstchannel) and the ids already seen live or stored; exact for queue calls, but a "
    "transferred call's later legs may count apart. Add the linkedid column to make every "
    "row name its call: newcdrcolumns=yes in cdr.conf's [csv] section (docs/deployment.md)"
)
CDR_LAYOUTS: dict[str, CdrLayout] = {
    layout.name: layout
    for layout in (
        CdrLayout("default", 18, 16, 17, None, "cdr_csv's default columns; " + _GROUPED),
        CdrLayout("linkedid", 19, 16, 17, 18,
                  "a linkedid column after userfield (a cdr_custom template): every row "
                  "names its call"),
        CdrLayout("newcdrcolumns", 21, 16, 17, 19,
                  "cdr_csv with newcdrcolumns=yes (peeraccount, linkedid, sequence): every "
                  "row names its call"),
        CdrLayout("newcdrcolumns-no-userfield", 20, 16, None, 18,
                  "cdr_csv with newcdrcolumns=yes and loguserfield=no: every row names its "
                  "call; the dialled number comes from dst alone"),
        CdrLayout("no-uniqueid", 16, None, None, None,
                  "cdr_csv without loguniqueid: rows cannot be tied to queue_log or to live "
                  "channels and are not used; set loguniqueid=yes in cdr.conf's [csv] "
                  "section"),
    )
}  # fmt: skip


def cdr_layout_of(fields: Sequence[str]) -> CdrLayout | None:
    """The layout a row's columns fit, or None. 19 columns are also cdr_csv's 16 with
    newcdrcolumns alone; its last column is then the integer ``sequence``."""
    count = len(fields)
    if count == 19 and fields[18].isdigit() and "." not in fields[18]:
        return CDR_LAYOUTS["no-uniqueid"]
    if count == 20 and "." not in fields[16]:  # loguserfield + newcdrcolumns: no uniqueid
        return CDR_LAYOUTS["no-uniqueid"]
    for layout in CDR_LAYOUTS.values():
        if layout.columns == count:
            return layout
    if count in (16, 17):
        return CDR_LAYOUTS["no-uniqueid"]
    return None


def parse_cdr_row(fields: Sequence[str], tz: tzinfo = DEFAULT_ZONE) -> CdrRow | None:
    """One CDR row already split into columns, or None when it does not fit a layout
    that names the row's channel (``CDR_LAYOUTS``)."""
    layout = cdr_layout_of(fields)
    if layout is None or layout.uniqueid is None:
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
            uniqueid=fields[layout.uniqueid],
            userfield=fields[layout.userfield] if layout.userfield is not None else "",
            linkedid=fields[layout.linkedid] if layout.linkedid is not None else "",
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


def _detail(row: CdrRow, pbx: str, call_id: str) -> CallDetail:
    return CallDetail(
        pbx=pbx,
        call_id=call_id,
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


NO_CALL = frozenset({"", "NONE", "MANAGER", "REALTIME"})  # queue_log callids of no channel


@dataclass(frozen=True)
class DurablePlacement:
    """Which call each line of a slice belongs to; what could not be placed yet."""

    call_of: dict[str, str]  # Uniqueid (row's, or queue_log callid) -> call id
    unplaced_rows: frozenset[int]  # indexes into the slice's CDR rows
    unplaced_entries: frozenset[int]  # indexes into its queue_log entries
    incomplete_rows: frozenset[int] = frozenset()  # placed, but a Local ;2 half's row is due


def place_durable(
    entries: Sequence[QueueLogEntry],
    rows: Sequence[CdrRow],
    known: Mapping[str, str] | None = None,
) -> DurablePlacement:
    """Place a slice: CDR rows by their linkedid or by grouping (``cdr_calls``), queue_log
    lines by their callid (the queued channel's Uniqueid) through the rows or ``known``."""
    known = known or {}
    rows_placed = place_rows(rows, known)
    call_of = {**known, **rows_placed.call_of}
    unplaced_entries = frozenset(
        index
        for index, entry in enumerate(entries)
        if entry.callid not in NO_CALL and entry.callid not in call_of
    )
    return DurablePlacement(call_of, rows_placed.unplaced, unplaced_entries, rows_placed.incomplete)


def durable_events(
    queue_log_entries: Iterable[QueueLogEntry],
    cdr_rows: Iterable[CdrRow],
    pbx: str,
    call_of: Mapping[str, str] | None = None,
) -> list[Event]:
    """The domain events the records describe, in time order.

    ``call_of`` maps Uniqueids to call ids (``place_durable``); without it the slice is
    placed on its own, and what cannot be placed is left out (CDR rows) or stands for its
    own call (queue_log lines). At equal times queue_log events come before CDR rows, and a
    call's own first channel's row comes after its other rows (it closes a call nothing
    else showed alive); otherwise each file keeps its own order.
    """
    entries = list(queue_log_entries)
    rows = list(cdr_rows)
    if call_of is None:
        placement = place_durable(entries, rows)
        call_of = placement.call_of
    keyed: list[tuple[float, int, int, int, Event]] = []
    for index, entry in enumerate(entries):
        event = queue_log_event(entry, pbx, call_of.get(entry.callid, entry.callid))
        if event is not None:
            keyed.append((event.at, 0, 0, index, event))
    for index, row in enumerate(rows):
        call_id = call_of.get(row.uniqueid)
        if not call_id:
            continue
        detail = _detail(row, pbx, call_id)
        keyed.append((detail.at, 1, int(row.uniqueid == call_id), index, detail))
    keyed.sort(key=lambda item: item[:4])
    return [item[4] for item in keyed]
