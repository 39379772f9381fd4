"""CDR rows without a linkedid column put back into their calls, as Asterisk 22 wrote them."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
from durable_fixtures import (
    CALLS,
    LOCAL_ABANDONED,
    LOCAL_ANSWERED,
    PJSIP_ANSWERED,
    cdr_lines,
    entries,
    rows,
)

from callcenter.calls.tracker import CallTracker
from callcenter.core.call_record import CallRecord
from callcenter.core.events import Event, ResyncCompleted
from callcenter.telephony.cdr_calls import pair_name, place_rows, uniqueid_order
from callcenter.telephony.durable import (
    CDR_LAYOUTS,
    cdr_layout_of,
    durable_events,
    parse_cdr_line,
    place_durable,
)


def fold(events: list[Event]) -> dict[str, CallRecord]:
    tracker = CallTracker()
    done: dict[str, CallRecord] = {}
    for event in events:
        for record in tracker.apply(event):
            done[record.call_id] = record
    for record in tracker.apply(ResyncCompleted(pbx="p", call_id="", at=0.0)):
        done[record.call_id] = record
    return done


def test_uniqueids_order_by_creation_and_pairs_share_a_name() -> None:
    assert uniqueid_order("1796451912.110") > uniqueid_order("1796451912.99")
    assert uniqueid_order("pbx1-1796451912.5") < uniqueid_order("pbx1-1796451913.1")
    assert pair_name("Local/1003@agents-00000001;2") == "Local/1003@agents-00000001"
    assert pair_name("PJSIP/sipp-00000000") == "PJSIP/sipp-00000000"


def test_default_layout_rows_are_grouped_into_their_calls() -> None:
    placement = place_rows(rows())
    assert not placement.unplaced
    for call_id, uniqueids in CALLS.items():
        assert {placement.call_of[uid] for uid in uniqueids} == {call_id}


def test_grouping_does_not_depend_on_the_order_rows_were_written() -> None:
    shuffled = rows()
    random.Random(5).shuffle(shuffled)
    assert place_rows(shuffled).call_of == place_rows(rows()).call_of


@pytest.mark.parametrize("layout", ["default", "linkedid", "newcdrcolumns"])
def test_each_layout_gives_the_same_three_inbound_calls(layout: str) -> None:
    records = fold(durable_events(entries(), rows(layout), "p"))
    assert set(records) == set(CALLS)  # the members' own legs never became calls
    answered, pjsip = records[LOCAL_ANSWERED], records[PJSIP_ANSWERED]
    abandoned = records[LOCAL_ABANDONED]
    assert all(r.kind == "inbound" for r in records.values())
    assert (answered.outcome, answered.agent, answered.wait_s) == ("answered", "Agent 1003", 1.0)
    assert (answered.hotline, answered.caller_number) == ("5551234", "5550001")
    assert (pjsip.outcome, pjsip.agent, pjsip.talk_s) == ("answered", "Agent 1002", 8.0)
    assert (abandoned.outcome, abandoned.queue, abandoned.wait_s) == ("abandoned", "empty", 31.0)
    assert {leg.channel_id for leg in answered.legs} == CALLS[LOCAL_ANSWERED]


def test_layouts_are_told_apart_by_their_columns() -> None:
    names = {}
    for layout in ("default", "linkedid", "newcdrcolumns"):
        row = parse_cdr_line(cdr_lines(layout)[0])
        assert row is not None
        names[layout] = row.linkedid
    assert names == {"default": "", "linkedid": LOCAL_ANSWERED, "newcdrcolumns": LOCAL_ANSWERED}
    assert cdr_layout_of(["x"] * 16) == CDR_LAYOUTS["no-uniqueid"]
    assert not CDR_LAYOUTS["no-uniqueid"].usable
    assert parse_cdr_line(",".join(['""'] * 16)) is None  # no uniqueid: cannot be placed


def test_a_second_half_without_the_first_waits_for_it_or_for_a_known_id() -> None:
    without_first_half = [r for r in rows() if r.uniqueid != "1796450971.0"]
    placement = place_rows(without_first_half)
    unplaced = {without_first_half[i].uniqueid for i in placement.unplaced}
    assert unplaced == {"1796450971.1", "1796450971.3"}  # not a call of their own
    known = place_rows(without_first_half, {"1796450971.1": LOCAL_ANSWERED})
    assert {known.call_of[u] for u in unplaced} == {LOCAL_ANSWERED} and not known.unplaced


def test_a_members_leg_alone_is_never_a_call() -> None:
    member = [r for r in rows() if r.uniqueid == "1796450971.3"]
    assert place_rows(member).unplaced == frozenset({0})
    assert durable_events([], member, "p") == []


def test_channel_names_repeat_after_an_asterisk_restart_without_merging_calls() -> None:
    day = rows()
    later = [
        replace(r, start=r.start + 86400, answer=r.answer and r.answer + 86400,
                end=r.end + 86400, uniqueid=r.uniqueid.replace("17964", "17965"))
        for r in day
    ]  # fmt: skip
    placement = place_rows(day + later)
    assert len(set(placement.call_of.values())) == 2 * len(CALLS)


def test_queue_log_lines_take_the_call_of_their_queued_channel() -> None:
    placement = place_durable(entries(), rows())
    assert not placement.unplaced_entries
    assert placement.call_of["1796450971.1"] == LOCAL_ANSWERED  # the ;2 half queued
    alone = place_durable(entries(), [])
    assert len(alone.unplaced_entries) == len(entries())  # nothing says which call yet
