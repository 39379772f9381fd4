"""Asterisk's own durable records for three calls, as an ordinary install writes them
(tests/data/durable_records_default_layout.txt: cdr_csv's default 18 columns, no linkedid,
Local-channel callers and members), and the other CDR layouts made from them."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path

from callcenter.telephony.durable import CdrRow, parse_cdr_line
from callcenter.telephony.queue_log import QueueLogEntry, parse_queue_log_line

CAPTURE = Path(__file__).parent / "data" / "durable_records_default_layout.txt"

# The calls as Asterisk knew them: Linkedid -> the Uniqueids of its channels with a CDR row.
LOCAL_ANSWERED = "1796450971.0"  # Local caller (;1 .0, ;2 .1), member Local/1003 (;2 .3)
PJSIP_ANSWERED = "1796451021.4"  # PJSIP caller .4, member Local/1002 (;2 .6)
LOCAL_ABANDONED = "1796451912.110"  # Local caller (;1 .110, ;2 .111), 3 ring attempts
CALLS = {
    LOCAL_ANSWERED: {"1796450971.0", "1796450971.1", "1796450971.3"},
    PJSIP_ANSWERED: {"1796451021.4", "1796451022.6"},
    LOCAL_ABANDONED: {"1796451912.110", "1796451912.111"},
}


def cdr_lines(layout: str = "default") -> list[str]:
    """The capture's Master.csv lines, in ``layout``: default (as captured), linkedid (a
    19th column, as a cdr_custom template writes), newcdrcolumns (peeraccount, linkedid,
    sequence)."""
    lines = [line for line in CAPTURE.read_text().splitlines() if line.startswith('"",')]
    if layout == "default":
        return lines
    linked = {uid: call for call, uids in CALLS.items() for uid in uids}
    out = []
    for sequence, line in enumerate(lines):
        uid = line.rsplit(",", 2)[1].strip('"')
        if layout == "linkedid":
            out.append(f'{line},"{linked[uid]}"')
        else:
            out.append(f'{line},"","{linked[uid]}",{sequence}')
    return out


def queue_log_lines() -> list[str]:
    return [line for line in CAPTURE.read_text().splitlines() if line[:1].isdigit()]


def rows(layout: str = "default") -> list[CdrRow]:
    parsed = [parse_cdr_line(line, UTC) for line in cdr_lines(layout)]
    return [row for row in parsed if row is not None]


def entries() -> list[QueueLogEntry]:
    parsed = [parse_queue_log_line(line) for line in queue_log_lines()]
    return [entry for entry in parsed if entry is not None]
