"""The lines read from queue_log and the CDR, from the moment they are read until the call
they describe is safely stored: which to apply, and how far the saved cursor may move.

Re-reading a slice must change nothing, and a restart must re-read little. So:

- Each line is placed in its call (``durable.place_durable``: linkedid, Local pairs,
  ``dstchannel``, the ids already known live or stored).
- Catching up after a login (``catch_up=True``), every placed line is applied: it may
  describe a call that began or ended unseen. Between logins the live events tell the
  story; a line is applied when its call was rebuilt from durable records (it may correct
  it), or when its call is still unknown to the service after the grace: ``grace_s`` of
  PBX time and one more read since it was read, or ``patience`` reads (when nothing newer
  is written: a quiet PBX). Such a line tells what the live stream missed.
- A CDR row whose group has no call yet (a Local ``;2`` half whose ``;1`` is not written
  yet, a member's leg) waits; after the grace it is dropped: such legs never become calls.
  A group with a Local ``;1`` half's row but not yet its ``;2`` half's waits for it (the
  call would be closed without its queue story), for the grace at most.
  A queue_log line whose call is unknown waits for its call's rows (written at its end).
- The cursor of each file moves past a line once it is applied and its call has ended and
  been stored (``settle``), so after a crash the lines of every call still open are read
  again. A line older than ``max_age_s`` never holds the cursor back.

Pure: the service's knowledge of calls comes in through arguments; no I/O, no clock.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from callcenter.core.events import Event
from callcenter.telephony.cdr_calls import OVERLAP_SLACK_S
from callcenter.telephony.durable import NO_CALL, CdrRow, Offsets, durable_events, place_durable
from callcenter.telephony.durable_tail import ReadLine
from callcenter.telephony.queue_log import QueueLogEntry

__all__ = ["DurableLedger", "Following"]

# How the service knows a call: "open", "ended" (as live events or the store had it),
# "rebuilt" (closed from durable records) or "unknown".
Following = Callable[[str], str]


@dataclass(slots=True)
class _Pending:
    line: ReadLine
    call_id: str = ""  # placed call ("" : about no call, or dropped)
    applied: bool = False  # its event reached the tracker, or was not needed
    passes: int = 0  # passes it has waited through
    read_at: int = 0  # the pass that read it

    @property
    def ids(self) -> tuple[str, ...]:
        item = self.line.item
        if isinstance(item, QueueLogEntry):
            return () if item.callid in NO_CALL else (item.callid,)
        return (item.uniqueid,) if item.uniqueid else ()


class DurableLedger:
    def __init__(
        self,
        pbx: str,
        *,
        grace_s: float = 30.0,
        patience: int = 3,
        recent: int = 8,
        max_age_s: float = 6 * 3600,
    ) -> None:
        self.pbx = pbx
        self.grace_s = grace_s
        self.patience = patience
        self.recent = recent  # passes before a link loss whose "told live" may be untrue
        self._pass = 0
        self.max_age_s = max_age_s
        self._lines: dict[str, deque[_Pending]] = {}
        self._waiting: list[_Pending] = []  # lines not applied yet, in the order read
        self._newest = 0.0  # the latest line time read: the PBX's clock, as its files tell it
        self.dropped = 0  # CDR rows of legs no call was found for

    def reset(self) -> None:
        self._lines.clear()
        self._waiting.clear()

    def __len__(self) -> int:
        return sum(len(lines) for lines in self._lines.values())

    def add(self, lines: Iterable[ReadLine]) -> None:
        for line in lines:
            pending = _Pending(line, read_at=self._pass)
            self._lines.setdefault(line.source, deque()).append(pending)
            self._waiting.append(pending)
            self._newest = max(self._newest, line.at)

    @property
    def waiting(self) -> int:
        """Lines read and not applied yet (nor given up on)."""
        return sum(1 for p in self._waiting if not p.applied)

    def unplaced_ids(self) -> set[str]:
        """Uniqueids of the lines still to be applied: what to ask the service about."""
        return {i for p in self._waiting if not p.applied for i in p.ids}

    def take(self, known: Mapping[str, str], follows: Following, *, catch_up: bool) -> list[Event]:
        """The events to apply now, in time order.

        ``known``: Uniqueid -> call id, as the service knows them (live or stored);
        ``follows(call_id)``: "open", "ended" (as the live events or the store had it),
        "rebuilt" (from durable records) or "unknown". Catching up, the lines of calls still
        open read in the last ``recent`` passes are applied again too: the live events that
        were to tell them may have been lost with the link (the tracker takes each fact
        once, and a call's lines come in order, so views end where the call stands).
        """
        self._pass += 1
        waiting = [p for p in self._waiting if not p.applied]
        chosen: list[_Pending] = []
        if catch_up:
            since = self._pass - self.recent
            chosen = [
                p
                for lines in self._lines.values()
                for p in lines
                if p.applied and p.call_id and p.read_at >= since and follows(p.call_id) == "open"
            ]
        for pending in waiting:
            pending.passes += 1
        # Most lines name a channel the service knows: no grouping needed for them.
        call_of: dict[str, str] = {}
        rest: list[_Pending] = []
        for pending in waiting:
            ids = pending.ids
            if ids and ids[0] in known:
                call_of[ids[0]] = known[ids[0]]
                self._place(pending, call_of, follows, catch_up, chosen)
            else:
                rest.append(pending)
        if rest:
            call_of.update(self._group(rest, known, follows, catch_up, chosen))
        self._waiting = [p for p in waiting if not p.applied]
        for pending in chosen:
            if pending.ids and pending.call_id:
                call_of.setdefault(pending.ids[0], pending.call_id)
        return durable_events(
            [p.line.item for p in chosen if isinstance(p.line.item, QueueLogEntry)],
            [p.line.item for p in chosen if isinstance(p.line.item, CdrRow)],
            self.pbx,
            call_of,
        )

    def _group(
        self,
        waiting: list[_Pending],
        known: Mapping[str, str],
        follows: Following,
        catch_up: bool,
        chosen: list[_Pending],
    ) -> dict[str, str]:
        """Place the lines no known id places: CDR rows grouped into calls, queue_log lines
        through them. Returns the ids placed."""
        entries = [p for p in waiting if isinstance(p.line.item, QueueLogEntry)]
        rows = [p for p in waiting if isinstance(p.line.item, CdrRow)]
        anchors = self._recent_rows(rows)
        row_items = [p.line.item for p in rows + anchors if isinstance(p.line.item, CdrRow)]
        anchor_ids = {p.line.item.uniqueid: p.call_id for p in anchors
                      if isinstance(p.line.item, CdrRow) and p.call_id}  # fmt: skip
        placement = place_durable(
            [p.line.item for p in entries if isinstance(p.line.item, QueueLogEntry)],
            row_items,
            {**anchor_ids, **known},
        )
        for index, pending in enumerate(entries):
            if index in placement.unplaced_entries:
                self._expire(pending)
                continue
            self._place(pending, placement.call_of, follows, catch_up, chosen)
        for index, pending in enumerate(rows):
            if index in placement.unplaced_rows:
                if self._expire(pending):
                    self.dropped += 1
                continue
            if index in placement.incomplete_rows and not self._old(pending):
                continue
            self._place(pending, placement.call_of, follows, catch_up, chosen)
        return placement.call_of

    def _place(
        self,
        pending: _Pending,
        call_of: Mapping[str, str],
        follows: Following,
        catch_up: bool,
        chosen: list[_Pending],
    ) -> None:
        ids = pending.ids
        pending.call_id = call_of.get(ids[0], "") if ids else ""
        if not pending.call_id:
            pending.applied = True  # about no call (member changes): nothing to wait for
            chosen.append(pending)
            return
        how = follows(pending.call_id)
        if catch_up or how == "rebuilt" or (how == "unknown" and self._old(pending)):
            pending.applied = True
            chosen.append(pending)
        elif how in ("open", "ended"):  # the live events tell it, or told it already
            pending.applied = True

    def _old(self, pending: _Pending, age: float | None = None) -> bool:
        """Waited long enough: ``age`` of PBX time; without ``age``, the grace (PBX time
        and a second read) or ``patience`` reads (the files may say nothing newer)."""
        if age is not None:
            return self._newest - pending.line.at >= age
        if pending.passes > self.patience:
            return True
        # At least one more read after it: what is written with it (a table's rows commit
        # a moment apart) has had its chance to arrive.
        return pending.passes >= 2 and self._newest - pending.line.at >= self.grace_s

    def _expire(self, pending: _Pending) -> bool:
        """An unplaced line: given up on once old enough (it then holds nothing back)."""
        limit = None if isinstance(pending.line.item, CdrRow) else self.max_age_s
        if self._old(pending, limit):
            pending.applied = True
            pending.call_id = ""
            return True
        return False

    def _recent_rows(self, waiting_rows: list[_Pending]) -> list[_Pending]:
        """Rows already applied at times near the waiting ones: they may hold the other
        half of a pair, or the row that dialled a waiting leg."""
        if not waiting_rows:
            return []
        low = min(p.line.item.start for p in waiting_rows if isinstance(p.line.item, CdrRow))
        low -= OVERLAP_SLACK_S
        return [
            p
            for source in ("cdr", "cdr_db")
            for p in self._lines.get(source, ())
            if p.applied and p.call_id and p.line.at >= low
        ]

    def settle(self, ended: Callable[[str], bool], position: Offsets) -> Offsets:
        """Forget the lines whose calls are safely over; where each file's cursor may stand.

        ``ended(call_id)``: the call has ended and its record is stored (or will be before
        the cursor is saved). ``position``: where reading stopped, for files with no line
        left waiting (their unparsable tail, say).
        """
        offsets: Offsets = {}
        for source, lines in self._lines.items():
            last: tuple[int, str] | None = None
            while lines:
                head = lines[0]
                done = head.applied and (not head.call_id or ended(head.call_id))
                if not done and not self._old(head, self.max_age_s):
                    break
                last = (head.line.end, head.line.identity)
                lines.popleft()
            if not lines and source in position:
                offsets[source] = position[source]
            elif last is not None:
                offsets[source] = last
        for source, where in position.items():
            if source not in self._lines:
                offsets[source] = where
        return offsets
