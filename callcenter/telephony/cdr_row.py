"""A CDR row as Asterisk writes it (cdr/cdr_csv.c), read by ``durable`` from the CDR CSV or
by ``cdr_table`` from a CDR database, and put into its call by ``cdr_calls``."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CdrLeadingColumns", "CdrRow"]


@dataclass(frozen=True, slots=True)
class CdrLeadingColumns:
    """The columns every CDR layout starts with (cdr/cdr_csv.c), the simulator's rows too."""

    accountcode: str
    src: str
    dst: str
    dcontext: str
    clid: str
    channel: str
    dstchannel: str
    lastapp: str
    lastdata: str


@dataclass(frozen=True, slots=True)
class CdrRow(CdrLeadingColumns):
    start: float  # epoch seconds
    answer: float  # 0.0 when unanswered
    end: float
    duration: int
    billsec: int
    disposition: str
    amaflags: str
    uniqueid: str
    userfield: str
    linkedid: str  # "" when the layout has no linkedid column
