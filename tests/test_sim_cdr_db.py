"""CDR rows in Asterisk's standard cdr table (contrib/ast-db-manage/cdr), filled as cdr_pgsql
fills it, in the real PostgreSQL."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from store_fixtures import PG_DB, PG_HOST, PG_PORT, PG_USER, pg_url, postgres_schema

from callcenter.sim import PbxSimulator, SimConfig, TrafficParams, agents
from callcenter.sim.config import QueueConfig

pytestmark = pytest.mark.postgres

START = 1795731524.0 + 4 * 3600
COLUMNS = [
    ("accountcode", "character varying", 80), ("src", "character varying", 80),
    ("dst", "character varying", 80), ("dcontext", "character varying", 80),
    ("clid", "character varying", 80), ("channel", "character varying", 80),
    ("dstchannel", "character varying", 80), ("lastapp", "character varying", 80),
    ("lastdata", "character varying", 80), ("start", "timestamp without time zone", None),
    ("answer", "timestamp without time zone", None), ("end", "timestamp without time zone", None),
    ("duration", "integer", None), ("billsec", "integer", None),
    ("disposition", "character varying", 45), ("amaflags", "character varying", 45),
    ("userfield", "character varying", 256), ("uniqueid", "character varying", 150),
    ("linkedid", "character varying", 150), ("peeraccount", "character varying", 80),
    ("sequence", "integer", None),
]  # fmt: skip


@pytest.fixture
def schema() -> Iterator[str]:
    with postgres_schema() as name:
        yield name


def connect(schema: str) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(
        host=PG_HOST, port=PG_PORT, dbname=PG_DB, user=PG_USER,
        options=f"-c search_path={schema}", autocommit=True,
    )  # fmt: skip


def config(records: Path, schema: str, **changes: object) -> SimConfig:
    staff = agents(1001, 4, local_context="agents")
    cfg = SimConfig(
        seed=21, speed=2000.0, start_epoch=START, records_dir=records, topology="local",
        queues=[QueueConfig("support", staff[:3]), QueueConfig("repair", staff[3:])],
        hotlines={"4008001000": "support", "4008002000": "repair"},
        menu_routes={"2": "repair"}, cdr_layout="newcdrcolumns", cdr_db_url=pg_url(schema),
        traffic=TrafficParams(peak_calls_per_hour=400.0, patience_mean_s=60.0,
                              no_answer_prob=0.2),
    )  # fmt: skip
    for key, value in changes.items():
        setattr(cfg, key, value)
    return cfg


async def simulate(cfg: SimConfig, calls: int) -> PbxSimulator:
    sim = PbxSimulator(cfg)
    await sim.start()
    await sim.run(calls, timeout=60)
    await sim.stop()  # the table's writer has committed every row once stop() returns
    return sim


def table_rows(schema: str, table: str) -> list[tuple[object, ...]]:
    """In commit order: each row was committed in its own transaction."""
    with connect(schema) as conn:
        query = sql.SQL("SELECT * FROM {} ORDER BY xmin::text::bigint").format(
            sql.Identifier(table)
        )
        return list(conn.execute(query))


def as_table(row: list[str], timezone_shift: timedelta = timedelta(0)) -> tuple[object, ...]:
    """A Master.csv row (newcdrcolumns) as cdr_pgsql stores it: empty values NULL, times
    whole seconds, integers as integers."""

    def text(value: str) -> str | None:
        return value or None

    def when(value: str) -> datetime | None:
        if not value:
            return None
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S") + timezone_shift

    (accountcode, src, dst, dcontext, clid, channel, dstchannel, lastapp, lastdata, start,
     answer, end, duration, billsec, disposition, amaflags, uniqueid, userfield, peeraccount,
     linkedid, sequence) = row  # fmt: skip
    return (
        text(accountcode), text(src), text(dst), text(dcontext), text(clid), text(channel),
        text(dstchannel), text(lastapp), text(lastdata), when(start), when(answer), when(end),
        int(duration), int(billsec), text(disposition), text(amaflags), text(userfield),
        text(uniqueid), text(linkedid), text(peeraccount), int(sequence),
    )  # fmt: skip


def master_csv(records: Path) -> list[list[str]]:
    with open(records / "Master.csv", newline="") as handle:
        return list(csv.reader(handle))


async def test_every_row_lands_in_the_standard_table_in_order(tmp_path: Path, schema: str) -> None:
    sim = await simulate(config(tmp_path, schema), 40)
    with connect(schema) as conn:
        columns = list(
            conn.execute(
                "SELECT column_name, data_type, character_maximum_length"
                " FROM information_schema.columns WHERE table_schema = %s AND table_name = 'cdr'"
                " ORDER BY ordinal_position",
                (schema,),
            )
        )
    assert columns == COLUMNS  # as contrib/ast-db-manage/cdr creates it
    rows = master_csv(tmp_path)
    stored = table_rows(schema, "cdr")
    assert len(rows) >= 40 + sum(1 for t in sim.finished if t.outcome != "blocked")
    assert stored == [as_table(row) for row in rows]
    nulls = [r for r in stored if r[6] is None]  # no dstchannel: NULL, not ''
    assert nulls and all(r[0] is None and r[19] is None for r in stored)


async def test_an_existing_table_is_used_with_the_time_zone_cdr_pgsql_is_given(
    tmp_path: Path, schema: str
) -> None:
    with connect(schema) as conn:  # an administrator made the table before Asterisk ran
        conn.execute(
            """CREATE TABLE cdr_2026 (accountcode VARCHAR(80), src VARCHAR(80), dst VARCHAR(80),
            dcontext VARCHAR(80), clid VARCHAR(80), channel VARCHAR(80), dstchannel VARCHAR(80),
            lastapp VARCHAR(80), lastdata VARCHAR(80), start TIMESTAMP, answer TIMESTAMP,
            "end" TIMESTAMP, duration INTEGER, billsec INTEGER, disposition VARCHAR(45),
            amaflags VARCHAR(45), userfield VARCHAR(256), uniqueid VARCHAR(150),
            linkedid VARCHAR(150), peeraccount VARCHAR(80), sequence INTEGER)"""
        )
        conn.execute("INSERT INTO cdr_2026 (uniqueid, sequence) VALUES ('1700000000.1', 0)")
    cfg = config(tmp_path, schema, cdr_db_table=f"{schema}.cdr_2026", cdr_db_timezone="UTC")
    await simulate(cfg, 10)
    stored = table_rows(schema, "cdr_2026")
    assert stored[0][17] == "1700000000.1"  # kept: the table is not made again
    shanghai_to_utc = timedelta(hours=-8)
    assert stored[1:] == [as_table(row, shanghai_to_utc) for row in master_csv(tmp_path)]
