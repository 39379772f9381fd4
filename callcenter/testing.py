"""Helpers for tests of code built on callcenter: replay recorded AMI traffic, run the
PBX simulator.

A transcript is the capture format of ``tests/data/*.txt``: AMI blocks exactly as received,
one blank line between blocks. Lines starting with ``### `` are comments (direction
markers, the banner) and a bare ``Asterisk Call Manager/...`` banner line is skipped.

    messages = load_transcript("tests/data/ami_events_queue_calls.txt")
    events = replay(messages)           # the domain events, in wire order
    records = track(messages)           # the call records they fold into
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Iterable, Mapping
from pathlib import Path
from typing import Any

from callcenter.calls.tracker import CallTracker
from callcenter.core.call_record import CallRecord
from callcenter.core.events import Event
from callcenter.sim import PbxSimulator, SimConfig, daytime_start
from callcenter.telephony.ami_events import translate

__all__ = [
    "load_transcript",
    "parse_transcript",
    "replay",
    "running_simulator",
    "simulator_fixture",
    "track",
]

_BANNER = "Asterisk Call Manager/"


def parse_transcript(text: str) -> list[dict[str, str]]:
    """Split capture-format text into AMI messages (dicts in header order)."""
    messages: list[dict[str, str]] = []
    block: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.rstrip("\r")
        if line.startswith("### ") or line.startswith(_BANNER):
            continue
        if not line:
            if block:
                messages.append(block)
                block = {}
            continue
        key, sep, value = line.partition(": ")
        if not sep:
            # "AccountCode:" with its trailing space trimmed by an editor.
            key, value = line.rstrip(":"), ""
        block[key] = value
    if block:
        messages.append(block)
    return messages


def load_transcript(path: str | os.PathLike[str]) -> list[dict[str, str]]:
    """Read a capture-format file into AMI messages."""
    with open(path, encoding="utf-8") as handle:
        return parse_transcript(handle.read())


def replay(messages: Iterable[Mapping[str, str]], pbx: str = "test") -> list[Event]:
    """Translate every message; those that map to no event are left out."""
    events: list[Event] = []
    for message in messages:
        event = translate(message, pbx)
        if event is not None:
            events.append(event)
    return events


def track(
    messages: Iterable[Mapping[str, str]], pbx: str = "test", **tracker_kwargs: Any
) -> list[CallRecord]:
    """Fold the messages through a fresh CallTracker.

    Returns every call: finished ones in the order they ended (a record re-emitted by a
    correction replaces its earlier version), then the still-open ones.
    """
    tracker = CallTracker(**tracker_kwargs)
    finished: dict[str, CallRecord] = {}
    for event in replay(messages, pbx):
        for record in tracker.apply(event):
            finished.pop(record.call_id, None)
            finished[record.call_id] = record
    return [*finished.values(), *tracker.open_calls()]


# --- the durable records a transcript implies ---------------------------------------------


def _csv_field(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def durable_lines(
    messages: Iterable[Mapping[str, str]],
) -> tuple[list[tuple[float, str]], list[tuple[float, str]]]:
    """The queue_log lines and Master.csv rows Asterisk wrote while sending ``messages``.

    Each comes with the time it was written (the AMI Timestamp of the event it mirrors),
    so a test can take the slice written while a link was down. queue_log lines follow
    app_queue.c's data fields; CDR rows follow cdr_csv (quoted strings, bare integers, an
    empty answer left unquoted) plus a 19th ``linkedid`` column.
    """
    linkedid: dict[str, str] = {}
    positions: dict[str, str] = {}
    queue_log: list[tuple[float, str]] = []
    cdr: list[tuple[float, str]] = []
    for m in messages:
        name = m.get("Event")
        if "Uniqueid" in m and "Linkedid" in m:
            linkedid.setdefault(m["Uniqueid"], m["Linkedid"])
        stamp = m.get("Timestamp")
        if not stamp or name is None:
            continue
        at = float(stamp)
        head = f"{int(at)}|{m.get('Uniqueid', '')}|{m.get('Queue', '')}"
        member = m.get("MemberName", "")
        line = ""
        if name == "QueueCallerJoin":
            positions[m["Uniqueid"]] = m["Position"]
            line = f"{head}|NONE|ENTERQUEUE||{m.get('CallerIDNum', '')}|{m['Position']}"
        elif name == "AgentConnect":
            line = f"{head}|{member}|CONNECT|{m['HoldTime']}|{m['DestUniqueid']}|{m['RingTime']}"
        elif name == "AgentComplete":
            event = "COMPLETECALLER" if m.get("Reason") == "caller" else "COMPLETEAGENT"
            origin = positions.get(m["Uniqueid"], "1")
            line = f"{head}|{member}|{event}|{m['HoldTime']}|{m['TalkTime']}|{origin}"
        elif name == "QueueCallerAbandon":
            line = f"{head}|NONE|ABANDON|{m['Position']}|{m['OriginalPosition']}|{m['HoldTime']}"
        elif name == "AgentRingNoAnswer":
            line = f"{head}|{member}|RINGNOANSWER|{m['RingTime']}"
        elif name == "Cdr":
            uid = m["UniqueID"]
            strings = [
                m.get(key, "")
                for key in (
                    "AccountCode",
                    "Source",
                    "Destination",
                    "DestinationContext",
                    "CallerID",
                    "Channel",
                    "DestinationChannel",
                    "LastApplication",
                    "LastData",
                )
            ]
            dates = [m.get(key, "") for key in ("StartTime", "AnswerTime", "EndTime")]
            fields = [_csv_field(s) for s in strings]
            fields += [_csv_field(d) if d else "" for d in dates]
            fields += [m.get("Duration", "0"), m.get("BillableSeconds", "0")]
            fields += [_csv_field(m.get(key, "")) for key in ("Disposition", "AMAFlags")]
            fields += [_csv_field(uid), _csv_field(m.get("UserField", ""))]
            fields.append(_csv_field(linkedid.get(uid, uid)))
            cdr.append((at, ",".join(fields)))
        if line:
            queue_log.append((at, line))
    return queue_log, cdr


# --- simulator fixture ----------------------------------------------------------------------


@contextlib.asynccontextmanager
async def running_simulator(
    records_dir: str | os.PathLike[str], **config: Any
) -> AsyncIterator[PbxSimulator]:
    """A PBX simulator listening on an ephemeral 127.0.0.1 port for the duration of a block.

    ``config`` overrides ``SimConfig`` fields (seed, speed, queues, agi_target...). The
    simulator starts at 09:00 local time so the default traffic curve is busy.
    """
    settings = SimConfig(records_dir=str(records_dir), ami_port=0, **config)
    if settings.start_epoch is None:
        settings.start_epoch = daytime_start(settings.timezone)
    simulator = PbxSimulator(settings)
    await simulator.start()
    try:
        yield simulator
    finally:
        await simulator.stop()


def simulator_fixture(**config: Any) -> Any:
    """A pytest fixture factory: ``pbx = simulator_fixture(seed=3)`` in a conftest gives
    tests a running ``PbxSimulator`` whose records live in the test's tmp_path."""
    import pytest

    @pytest.fixture
    async def _fixture(tmp_path: Path) -> AsyncIterator[PbxSimulator]:
        async with running_simulator(tmp_path / "pbx", **config) as simulator:
            yield simulator

    return _fixture
