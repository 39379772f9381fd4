"""Reading queue_log and Master.csv on from a position, line by line, as Asterisk appends."""

from __future__ import annotations

import os
from datetime import UTC
from pathlib import Path

from callcenter.telephony.durable_tail import DurableTail

CDR_19 = (
    '"","5550002","5551234","from-pstn","""Bob"" <5550002>",'
    '"PJSIP/trunk-0000001a","PJSIP/1001-0000001b","Queue","support",'
    '"2026-11-26 22:18:45","2026-11-26 22:18:46","2026-11-26 22:19:00",15,14,'
    '"ANSWERED","DOCUMENTATION","1795731525.2","dnis:5551234","1795731525.2"'
)
Q1 = "1795731526|c1|support|NONE|ENTERQUEUE||5550001|1\n"
Q2 = "1795731528|c1|support|Agent 1|CONNECT|2|c2|2\n"


def test_tail_reads_complete_lines_each_with_its_end(tmp_path: Path) -> None:
    qlog, csv = tmp_path / "queue_log", tmp_path / "Master.csv"
    qlog.write_text(Q1 + Q2[:10])
    csv.write_text(CDR_19 + "\n")
    tail = DurableTail(qlog, csv, zone=UTC)
    lines = tail.read_lines()
    # The CDR first: a call's queue_log lines are written before its rows.
    assert [(line.source, line.end) for line in lines] == [
        ("cdr", len(CDR_19) + 1),
        ("queue_log", len(Q1)),
    ]
    assert tail.position["queue_log"][0] == len(Q1)  # the half-written line waits
    assert tail.read_lines() == []
    with qlog.open("a") as f:
        f.write(Q2[10:])
    (line,) = tail.read_lines()
    assert line.item.event == "CONNECT" and line.end == len(Q1 + Q2)  # type: ignore[union-attr]
    # A saved position read again gives the same lines again.
    again = DurableTail(qlog, csv, zone=UTC, offsets={"queue_log": (0, lines[1].identity)})
    assert [x.end for x in again.read_lines()] == [len(CDR_19) + 1, len(Q1), len(Q1 + Q2)]


def test_tail_restarts_a_truncated_file(tmp_path: Path) -> None:
    qlog = tmp_path / "queue_log"
    qlog.write_text(Q1 + Q2)
    tail = DurableTail(qlog, None, zone=UTC)
    tail.read_new()
    qlog.write_text(Q2)  # same inode, shorter than the offset
    entries, _, _ = tail.read_new()
    assert [e.event for e in entries] == ["CONNECT"]


def test_tail_restarts_a_rotated_file(tmp_path: Path) -> None:
    qlog = tmp_path / "queue_log"
    qlog.write_text(Q1)
    tail = DurableTail(qlog, None, zone=UTC)
    tail.read_new()
    os.rename(qlog, tmp_path / "queue_log.1")
    qlog.write_text(Q2 + Q1 + Q1)  # a new file, already longer than the old offset
    entries, _, _ = tail.read_new()
    assert [e.event for e in entries] == ["CONNECT", "ENTERQUEUE", "ENTERQUEUE"]


def test_tail_missing_files_read_empty(tmp_path: Path) -> None:
    tail = DurableTail(tmp_path / "nope", tmp_path / "nada.csv", zone=UTC)
    assert tail.read_new() == ([], [], {})
    tail.skip_to_end()
    assert tail.position == {}


def test_tail_skips_and_counts_malformed_lines(tmp_path: Path) -> None:
    qlog, csv = tmp_path / "queue_log", tmp_path / "Master.csv"
    qlog.write_text("junk\n\n" + Q1)
    csv.write_text('"only","two"\n' + CDR_19 + "\n")
    tail = DurableTail(str(qlog), str(csv), zone=UTC)
    entries, rows, _ = tail.read_new()
    assert len(entries) == 1 and len(rows) == 1
    assert tail.malformed == 2


def test_tail_restore_and_skip_to_end(tmp_path: Path) -> None:
    qlog = tmp_path / "queue_log"
    qlog.write_text(Q1)
    tail = DurableTail(qlog, None, zone=UTC)
    tail.skip_to_end()
    assert tail.read_new()[0] == []
    saved = dict(tail.position)
    with qlog.open("a") as f:
        f.write(Q2)
    fresh = DurableTail(qlog, None, zone=UTC, offsets=saved)
    assert [e.event for e in fresh.read_new()[0]] == ["CONNECT"]
    other = DurableTail(qlog, None, zone=UTC)
    other.restore({"queue_log": (len(Q1), "not-this-file")})
    assert len(other.read_new()[0]) == 2  # another file's offset: read from the start
