"""CDRs kept in PostgreSQL (cdr_pgsql / cdr_adaptive_odbc with Asterisk's own schema, or an
older table with calldate and no linkedid), read like Master.csv."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from durable_fixtures import CALLS, LOCAL_ANSWERED, queue_log_lines, rows
from sqlalchemy import Column, DateTime, Engine, Integer, MetaData, String, Table, insert
from store_fixtures import pg_url, postgres_schema

from callcenter.db import create_engine_for
from callcenter.telephony.cdr_table import CdrTable, CdrTableError
from callcenter.telephony.durable import CdrRow, place_durable
from callcenter.telephony.durable_tail import DurableTail


def asterisk_cdr_table(metadata: MetaData, *, linkedid: bool = True, old: bool = False) -> Table:
    """contrib/ast-db-manage/cdr/versions/210693f3123d_create_cdr_table.py, or an older
    hand-made table (calldate, no answer/end, no linkedid)."""
    columns = [
        Column("accountcode", String(20)), Column("src", String(80)), Column("dst", String(80)),
        Column("dcontext", String(80)), Column("clid", String(80)),
        Column("channel", String(80)), Column("dstchannel", String(80)),
        Column("lastapp", String(80)), Column("lastdata", String(80)),
    ]  # fmt: skip
    if old:
        columns.append(Column("calldate", DateTime()))
    else:
        columns += [Column("start", DateTime()), Column("answer", DateTime()),
                    Column("end", DateTime())]  # fmt: skip
    columns += [
        Column("duration", Integer), Column("billsec", Integer),
        Column("disposition", String(45)), Column("amaflags", String(45)),
        Column("userfield", String(256)), Column("uniqueid", String(150)),
    ]  # fmt: skip
    if linkedid:
        columns += [Column("linkedid", String(150)), Column("peeraccount", String(20)),
                    Column("sequence", Integer)]  # fmt: skip
    return Table("cdr", metadata, *columns)


def local(epoch: float) -> datetime | None:
    return datetime.fromtimestamp(epoch, UTC).replace(tzinfo=None) if epoch else None


def as_table_row(row: CdrRow, *, linkedid: str | None, old: bool) -> dict[str, object]:
    values: dict[str, object] = {
        name: getattr(row, name)
        for name in ("accountcode", "src", "dst", "dcontext", "clid", "channel", "dstchannel",
                     "lastapp", "lastdata", "duration", "billsec", "disposition", "amaflags",
                     "userfield", "uniqueid")
    }  # fmt: skip
    if old:
        values["calldate"] = local(row.start)
    else:
        values.update(start=local(row.start), answer=local(row.answer), end=local(row.end))
    if linkedid is not None:
        values["linkedid"] = linkedid
    return values


@pytest.fixture
def engine() -> Iterator[Engine]:
    with postgres_schema() as schema:
        engine = create_engine_for(pg_url(schema))
        yield engine
        engine.dispose()


def fill(engine: Engine, *, linkedid: bool, old: bool = False) -> None:
    metadata = MetaData()
    table = asterisk_cdr_table(metadata, linkedid=linkedid, old=old)
    metadata.create_all(engine)
    call_of = {uid: call for call, uids in CALLS.items() for uid in uids}
    with engine.begin() as connection:
        for row in rows():
            link = call_of[row.uniqueid] if linkedid else None
            connection.execute(insert(table), [as_table_row(row, linkedid=link, old=old)])


@pytest.mark.parametrize("linkedid", [True, False])
def test_table_rows_are_the_csv_rows_and_fall_into_the_same_calls(
    engine: Engine, linkedid: bool
) -> None:
    fill(engine, linkedid=linkedid)
    table = CdrTable("", "cdr", zone=UTC, engine=engine)
    assert table.has_linkedid is linkedid
    assert ("names its call" in table.describe()) is linkedid
    got = table.read_since(0)
    want = rows()
    assert sorted((r.uniqueid, r.channel, r.start, r.answer, r.end) for r in got) == sorted(
        (r.uniqueid, r.channel, r.start, r.answer, r.end) for r in want
    )
    assert [r.end for r in got] == sorted(r.end for r in got)
    call_of = place_durable([], got).call_of
    for call_id, uniqueids in CALLS.items():
        assert {call_of[u] for u in uniqueids} == {call_id}


def test_the_table_cursor_reads_each_row_once_and_again_after_a_restart(engine: Engine) -> None:
    fill(engine, linkedid=True)
    tail = DurableTail(None, None, zone=UTC, cdr_table=CdrTable("", "cdr", zone=UTC, engine=engine))
    first = tail.read_lines()
    assert len(first) == len(rows()) and tail.read_lines() == []  # nothing twice
    last_end = max(line.end for line in first)
    assert tail.position["cdr_db"] == (last_end, "cdr")
    # A new process from a cursor at the answered call's end reads from that second on.
    answered_end = next(line.end for line in first if line.item.uniqueid == LOCAL_ANSWERED)  # type: ignore[union-attr]
    again = DurableTail(None, None, zone=UTC, cdr_table=CdrTable("", "cdr", zone=UTC, engine=engine),
                        offsets={"cdr_db": (answered_end, "cdr")})  # fmt: skip
    reread = again.read_lines()
    assert {line.item.uniqueid for line in reread} >= {LOCAL_ANSWERED}  # type: ignore[union-attr]
    assert all(line.end >= answered_end for line in reread)


def test_an_older_table_with_calldate_and_no_linkedid(engine: Engine) -> None:
    fill(engine, linkedid=False, old=True)
    got = CdrTable("", "cdr", zone=UTC, engine=engine).read_since(0)
    assert len(got) == len(rows()) and all(r.end == r.start + r.duration for r in got)


def test_a_missing_table_or_column_is_named(engine: Engine) -> None:
    table = CdrTable("", "cdr", zone=UTC, engine=engine)
    assert "'cdr' does not exist" in table.describe()
    # Not there yet (the first CDR creates it, or the admin has not yet): no rows, no end.
    assert table.read_since(0) == [] and table.newest_end() == 0.0
    with pytest.raises(CdrTableError, match="'cdr' does not exist"):
        table.has_linkedid  # noqa: B018
    metadata = MetaData()
    Table("cdr", metadata, Column("src", String(80)), Column("calldate", DateTime()))
    metadata.create_all(engine)
    table = CdrTable("", "cdr", zone=UTC, engine=engine)
    assert "lacks column(s) channel, dstchannel, uniqueid, disposition" in table.describe()


def test_a_cdr_database_away_leaves_the_files_read_and_is_read_again_later(
    tmp_path: Path,
) -> None:
    from store_fixtures import free_port

    away = create_engine_for(f"postgresql://postgres@127.0.0.1:{free_port()}/test")
    queue_log = tmp_path / "queue_log"
    queue_log.write_text(queue_log_lines()[0] + "\n")
    tail = DurableTail(queue_log, None, zone=UTC, cdr_table=CdrTable("", "cdr", zone=UTC,
                                                                       engine=away))  # fmt: skip
    lines = tail.read_lines()
    assert [line.source for line in lines] == ["queue_log"]
    assert tail.table_error.startswith("OperationalError")
    assert "cdr_db" not in tail.position  # read from where it stood once it answers
    away.dispose()
