"""Which call each CDR row and queue_log line belongs to, with or without a linkedid column.

cdr_csv's default layout has no linkedid, and on many installs the caller reaches the queue
through a Local channel pair: the queued channel (queue_log's callid) is the ``;2`` half,
while the call's Linkedid is the Uniqueid of the ``;1`` half, which no queue_log line names.
Queue members dialled as ``Local/1001@agents`` add rows of their own. Asterisk still says
enough to put the rows back together:

- rows of one channel share its Uniqueid (one row per ring attempt, say);
- the two halves of a Local pair share one name up to ``;1`` / ``;2``;
- a row's ``dstchannel`` is the channel it dialled, another row's ``channel`` (or its
  Local half), at overlapping times (names repeat only after an Asterisk restart);
- a call's Linkedid is the Uniqueid of its first channel, the oldest one: every later
  channel of the call inherited it when it was created.

Ids the service already knows (live events, stored legs) win over what the rows suggest.
A group whose oldest row is a ``;2`` half lacks the ``;1`` half that created it (a member's
leg, or a caller whose other half is not written yet): it is left unplaced, never made a
call of its own. A group with a ``;1`` half's row but not its ``;2`` half's is incomplete:
Asterisk writes each half's row as that half hangs up, so the other may follow (cdr.c
skips it only for an unanswered half). Pure: no I/O.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from callcenter.telephony.cdr_row import CdrRow

__all__ = ["Placement", "pair_name", "place_rows", "uniqueid_order"]

OVERLAP_SLACK_S = 2.0  # CDR times are whole seconds; halves of a pair end within one


def uniqueid_order(uniqueid: str) -> tuple[int, int, str]:
    """Creation order of Uniqueids ``[systemname-]epoch.sequence``: the epoch, then the
    sequence (as numbers: ``.10`` comes after ``.9``)."""
    head, _, sequence = uniqueid.rpartition(".")
    epoch = head.rsplit("-", 1)[-1]
    try:
        return (int(epoch), int(sequence), uniqueid)
    except ValueError:
        return (sys.maxsize, sys.maxsize, uniqueid)


def pair_name(channel: str) -> str:
    """The name both halves of a Local (or other unreal) pair share:
    ``Local/1003@agents-00000001;2`` -> ``Local/1003@agents-00000001``."""
    if channel.endswith((";1", ";2")):
        return channel[:-2]
    return channel


def _second_half(channel: str) -> bool:
    return channel.endswith(";2")


@dataclass(frozen=True)
class Placement:
    """The outcome of grouping one slice of rows."""

    call_of: dict[str, str] = field(default_factory=dict)  # uniqueid -> call id, placed
    unplaced: frozenset[int] = frozenset()  # indexes of rows no call could be given
    incomplete: frozenset[int] = frozenset()  # rows of groups whose ;2 half's row may follow


class _Groups:
    """Union-find over row indexes."""

    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def find(self, index: int) -> int:
        root = index
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[index] != root:
            self.parent[index], index = root, self.parent[index]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _overlap(a: CdrRow, b: CdrRow) -> bool:
    a_end = a.end or a.start
    b_end = b.end or b.start
    return a.start <= b_end + OVERLAP_SLACK_S and b.start <= a_end + OVERLAP_SLACK_S


def _link_rows(rows: Sequence[CdrRow]) -> _Groups:
    groups = _Groups(len(rows))
    by_uniqueid: dict[str, int] = {}
    by_name: dict[str, list[int]] = {}
    for index, row in enumerate(rows):
        if row.uniqueid:
            first = by_uniqueid.setdefault(row.uniqueid, index)
            groups.union(first, index)
        if row.channel:
            by_name.setdefault(pair_name(row.channel), []).append(index)
    for indexes in by_name.values():  # the halves of a pair, the rows of one channel
        for i, a in enumerate(indexes):
            for b in indexes[i + 1 :]:
                if _overlap(rows[a], rows[b]):
                    groups.union(a, b)
    for index, row in enumerate(rows):  # a row and the channel it dialled
        if not row.dstchannel:
            continue
        for other in by_name.get(pair_name(row.dstchannel), ()):
            if other != index and _overlap(row, rows[other]):
                groups.union(index, other)
    return groups


def place_rows(rows: Sequence[CdrRow], known: Mapping[str, str] | None = None) -> Placement:
    """Give each row its call id.

    A row's own linkedid (layouts that have one) names its call outright; ``known`` maps
    Uniqueids the service already placed (live, stored) to their call; the rest is grouped.
    """
    anchors = dict(known or {})
    anchors.update({row.uniqueid: row.linkedid for row in rows if row.uniqueid and row.linkedid})
    groups = _link_rows(rows)
    members: dict[int, list[int]] = {}
    for index in range(len(rows)):
        members.setdefault(groups.find(index), []).append(index)
    call_of: dict[str, str] = {}
    unplaced: set[int] = set()
    incomplete: set[int] = set()
    for indexes in members.values():
        uniqueids = sorted({rows[i].uniqueid for i in indexes if rows[i].uniqueid},
                           key=uniqueid_order)  # fmt: skip
        if not uniqueids:
            unplaced.update(indexes)
            continue
        call_id = next((anchors[u] for u in uniqueids if u in anchors), "")
        if not call_id:
            oldest = next(i for i in indexes if rows[i].uniqueid == uniqueids[0])
            if _second_half(rows[oldest].channel):
                unplaced.update(indexes)  # the half that created it is not here
                continue
            call_id = uniqueids[0]
        for uniqueid in uniqueids:
            call_of[uniqueid] = call_id
        channels = {rows[i].channel for i in indexes}
        if any(c.endswith(";1") and c[:-1] + "2" not in channels for c in channels):
            incomplete.update(indexes)
    return Placement(call_of, frozenset(unplaced), frozenset(incomplete))
