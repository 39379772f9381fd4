"""Durable lines from being read to being safely stored: what is applied, and how far the
saved cursor may move, across restarts (a fresh ledger and tracker on the same store)."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path

from durable_fixtures import (
    CALLS,
    LOCAL_ABANDONED,
    LOCAL_ANSWERED,
    PJSIP_ANSWERED,
    cdr_lines,
    queue_log_lines,
)

from callcenter.calls.tracker import CallTracker
from callcenter.core.call_record import CallRecord
from callcenter.core.events import ChannelCreated, ChannelHungUp, Event, ResyncCompleted
from callcenter.telephony.durable import Offsets
from callcenter.telephony.durable_ledger import DurableLedger
from callcenter.telephony.durable_tail import DurableTail

QUEUE_LOG = queue_log_lines()
CDR = cdr_lines()


class Service:
    """The service's side, as small as a test needs: a tracker, a 'store' of finished
    records, files that Asterisk appends to, and one ledger over them."""

    def __init__(self, folder: Path, stored: dict[str, CallRecord], saved: Offsets) -> None:
        self.folder = folder
        self.tracker = CallTracker()
        self.stored = stored
        self.tail = DurableTail(folder / "queue_log", folder / "Master.csv", zone=UTC)
        self.tail.restore(saved)
        self.ledger = DurableLedger("p", grace_s=30.0)
        self.written: list[CallRecord] = []
        self.applied: list[Event] = []

    def apply(self, event: Event) -> None:
        for record in self.tracker.apply(event):
            self.stored[record.call_id] = record
            self.written.append(record)

    def read(self, *, catch_up: bool) -> Offsets:
        self.ledger.add(self.tail.read_lines())
        ids = self.ledger.unplaced_ids()
        known = self.tracker.placed(ids)
        for key in ids - known.keys():  # the store, found by any leg (service.StoredCalls)
            for record in self.stored.values():
                if key == record.call_id or key in {leg.channel_id for leg in record.legs}:
                    known[key] = record.call_id
                    self.tracker.remember_ended(record.call_id, [key])
        for event in self.ledger.take(known, self.tracker.follows, catch_up=catch_up):
            self.applied.append(event)
            self.apply(event)
        if catch_up:
            self.apply(ResyncCompleted(pbx="p", call_id="", at=0.0))
        return self.ledger.settle(lambda c: not self.tracker.is_open(c), self.tail.position)


def append(folder: Path, name: str, lines: list[str]) -> None:
    with (folder / name).open("a") as handle:
        handle.writelines(line + "\n" for line in lines)


def test_reading_the_same_slice_again_after_a_restart_changes_nothing(tmp_path: Path) -> None:
    append(tmp_path, "queue_log", QUEUE_LOG)
    append(tmp_path, "Master.csv", CDR)
    stored: dict[str, CallRecord] = {}
    first = Service(tmp_path, stored, {})
    offsets = first.read(catch_up=True)
    assert set(stored) == set(CALLS)
    assert offsets == first.tail.position  # every call over: the cursor is at the end
    before = dict(stored)
    for _ in range(2):  # a restart that lost the cursor reads it all again, twice
        again = Service(tmp_path, stored, {})
        again.read(catch_up=True)
        assert again.written == [] and stored == before
        assert again.tracker.open_calls() == []


def test_the_cursor_stops_before_the_first_line_of_a_call_still_open(tmp_path: Path) -> None:
    abandon_lines = [line for line in QUEUE_LOG if "1796451912.111" in line]
    first_part = [line for line in QUEUE_LOG if line not in abandon_lines]
    append(tmp_path, "queue_log", first_part[:4] + abandon_lines[:1] + first_part[4:])
    append(tmp_path, "Master.csv", [row for row in CDR if "1796451912" not in row])
    service = Service(tmp_path, {}, {})
    # The abandoning caller is still waiting: the live link shows both halves up.
    for uid, name in (("1796451912.110", ";1"), ("1796451912.111", ";2")):
        service.apply(ChannelCreated(pbx="p", call_id=LOCAL_ABANDONED, channel_id=uid,
                                     at=1796451912.0, source="ami",
                                     channel=f"Local/74006007000@from-pstn-00000037{name}",
                                     context="from-pstn", exten="74006007000"))  # fmt: skip
    service.read(catch_up=False)
    offsets = service.read(catch_up=False)  # a second read: the older calls were missed
    waiting_line_starts = sum(len(line) + 1 for line in first_part[:4])
    assert offsets["queue_log"][0] == waiting_line_starts
    # The two calls before it ended long ago and nothing live told of them: applied.
    assert set(service.stored) == {LOCAL_ANSWERED, PJSIP_ANSWERED}
    # The caller abandons; Asterisk writes the rest; the live link sees the hang-ups.
    append(tmp_path, "queue_log", abandon_lines[1:])
    append(tmp_path, "Master.csv", [row for row in CDR if "1796451912" in row])
    for uid in ("1796451912.111", "1796451912.110"):
        service.apply(ChannelHungUp(pbx="p", call_id=LOCAL_ABANDONED, channel_id=uid,
                                    at=1796451943.0, source="ami", cause=16, channel=""))  # fmt: skip
    offsets = service.read(catch_up=False)
    assert offsets == service.tail.position


def test_lines_the_live_stream_missed_are_applied_after_the_grace(tmp_path: Path) -> None:
    answered = [line for line in QUEUE_LOG if line.split("|")[1] == "1796450971.1"]
    rows = [row for row in CDR if "1796450971." in row]
    append(tmp_path, "queue_log", answered)
    append(tmp_path, "Master.csv", rows)
    service = Service(tmp_path, {}, {})
    service.read(catch_up=False)
    assert service.applied == []  # written just now: the live events may still come
    # Asterisk writes on (another call, a minute later): the missed call is applied.
    append(tmp_path, "queue_log", [line for line in QUEUE_LOG if "1796451912.111" in line])
    service.read(catch_up=False)
    assert LOCAL_ANSWERED in service.stored
    assert service.stored[LOCAL_ANSWERED].outcome == "answered"


def test_queue_log_lines_read_after_the_rows_that_closed_a_call_correct_it(
    tmp_path: Path,
) -> None:
    # Read between Asterisk writing the call's queue_log lines and its CDR rows is not
    # possible (rows are read first); but a call closed by its rows at a catch-up may
    # still learn from lines read later: they are applied, not taken as told live.
    rows = [row for row in CDR if "1796451912." in row]
    append(tmp_path, "Master.csv", rows)
    service = Service(tmp_path, {}, {})
    service.read(catch_up=True)
    assert service.stored[LOCAL_ABANDONED].outcome == "ivr_only"  # rows alone: no queue
    append(tmp_path, "queue_log", [line for line in QUEUE_LOG if "1796451912.111" in line])
    service.read(catch_up=False)
    record = service.stored[LOCAL_ABANDONED]
    assert (record.outcome, record.queue, record.wait_s) == ("abandoned", "empty", 31.0)


def test_a_first_half_waits_for_its_second_halfs_row(tmp_path: Path) -> None:
    # Asterisk writes each half's row as it hangs up: ;1 may be read before ;2 is written.
    first_half = [row for row in CDR if '"1796451912.110"' in row]
    append(tmp_path, "Master.csv", first_half)
    service = Service(tmp_path, {}, {})
    service.read(catch_up=True)
    assert service.stored == {}  # not closed without its queue story
    append(tmp_path, "queue_log", [line for line in QUEUE_LOG if "1796451912.111" in line])
    append(tmp_path, "Master.csv", [row for row in CDR if '"1796451912.111"' in row])
    service.read(catch_up=True)
    assert service.stored[LOCAL_ABANDONED].outcome == "abandoned"


def test_a_first_half_whose_second_never_comes_is_a_call_after_the_grace(
    tmp_path: Path,
) -> None:
    # An unanswered ;2 half writes no row (cdr.c): the ;1 row alone is the call.
    append(tmp_path, "Master.csv", [row for row in CDR if '"1796450971.0"' in row])
    service = Service(tmp_path, {}, {})
    service.read(catch_up=True)
    assert service.stored == {}
    append(tmp_path, "Master.csv", [row for row in CDR if "1796451912." in row])  # later
    service.read(catch_up=True)
    assert LOCAL_ANSWERED in service.stored


def test_a_call_split_across_two_reads_is_one_call(tmp_path: Path) -> None:
    first_half = [row for row in CDR if '"1796450971.0"' not in row and "1796450971." in row]
    append(tmp_path, "queue_log", [line for line in QUEUE_LOG if "1796450971.1" in line])
    append(tmp_path, "Master.csv", first_half)
    service = Service(tmp_path, {}, {})
    service.read(catch_up=True)  # the ;2 half and the member's leg: no call of their own
    assert service.stored == {} and service.tracker.open_calls() == []
    append(tmp_path, "Master.csv", [row for row in CDR if '"1796450971.0"' in row])
    service.read(catch_up=True)
    assert set(service.stored) == {LOCAL_ANSWERED}
    record = service.stored[LOCAL_ANSWERED]
    assert (
        record.outcome == "answered"
        and {leg.channel_id for leg in record.legs} == CALLS[LOCAL_ANSWERED]
    )


def test_a_members_leg_no_call_claims_is_dropped_and_holds_nothing_back(tmp_path: Path) -> None:
    member = [row for row in CDR if '"1796451022.6"' in row]
    append(tmp_path, "Master.csv", member)
    service = Service(tmp_path, {}, {})
    offsets = service.read(catch_up=True)
    assert "cdr" not in offsets  # it may still be placed: the cursor waits
    later = [row for row in CDR if "1796451912." in row]  # Asterisk writes on
    append(tmp_path, "Master.csv", later)
    offsets = service.read(catch_up=True)
    assert service.ledger.dropped == 1
    assert set(service.stored) == {LOCAL_ABANDONED} and PJSIP_ANSWERED not in service.stored
    assert offsets["cdr"] == service.tail.position["cdr"]


def test_a_call_opened_from_durable_lines_takes_its_later_lines_too(tmp_path: Path) -> None:
    # The service started after the call ended: its queue_log lines are read first, its CDR
    # rows (a table's commit, say) a pass later. By then the earliest lines are past the
    # grace and open the call; its last lines are not yet. Nothing live will ever tell this
    # call, so those lines must still be applied, not taken as told by the live events.
    append(tmp_path, "queue_log", [line for line in QUEUE_LOG if "1796451912.111" in line])
    service = Service(tmp_path, {}, {})
    service.read(catch_up=False)
    append(tmp_path, "Master.csv", [row for row in CDR if "1796451912." in row])
    service.read(catch_up=False)
    assert service.tracker.follows(LOCAL_ABANDONED) == "rebuilt"  # opened, not heard live
    for _ in range(service.ledger.patience + 1):  # Asterisk writes nothing newer meanwhile
        service.read(catch_up=False)
    record = service.stored[LOCAL_ABANDONED]
    assert (record.outcome, record.queue, record.wait_s) == ("abandoned", "empty", 31.0)
    assert service.tracker.open_calls() == []
