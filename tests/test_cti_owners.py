"""Owner import: column mapping, the validation report, all-or-nothing writes, re-imports
that update, the command line; on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import Engine, func, select

from callcenter.cti.importer import ImportFileError, load_mapping, parse_rows, read_table
from callcenter.cti.owners import OwnerRecord, OwnerRepository, PhoneEntry, Unit
from callcenter.cti.store import owners_table, phones_table, units_table
from callcenter.db import create_engine_for

HEADER = ["业主编号", "姓名", "电话", "楼栋", "单元", "房号", "片区", "管家", "VIP", "欠费", "备注"]
GOOD_ROWS = [
    ["A001", "张三", "138 1234 5678; 021-61234567-801", "3栋", "2单元", "1201", "东区", "李管家", "是", "1,200.50", ""],
    ["A001", "张三", "", "5栋", "1单元", "301", "东区", "李管家", "是", "1200.50", "第二套"],
    ["A002", "李四", "+86 139 0000 1111", "3栋", "2单元", "1202", "东区", "", "否", "", ""],
    ["A003", "王五", "13800001111、13900001111", "8栋", "", "101", "西区", "周管家", "", "0", ""],
]  # fmt: skip


def _count(engine: Engine, table: object) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def test_rows_become_owners_with_units_and_normalised_numbers() -> None:
    parsed = parse_rows(HEADER, GOOD_ROWS)
    assert parsed.problems == []
    assert parsed.rows == 4
    first, second, third = parsed.records
    assert first.code == "A001" and first.vip and first.arrears_cents == 120050
    assert first.units == [Unit("3栋", "2单元", "1201"), Unit("5栋", "1单元", "301")]
    assert [(p.key, p.extension) for p in first.phones] == [
        ("13812345678", ""),
        ("02161234567", "801"),
    ]
    assert second.phones == [PhoneEntry("13900001111", "", "+86 139 0000 1111")]
    assert [p.key for p in third.phones] == ["13800001111", "13900001111"]
    assert third.zone == "西区" and third.housekeeper == "周管家" and not third.vip


def test_every_bad_cell_is_reported_with_row_column_and_problem() -> None:
    rows = [
        ["B001", "", "1381234", "3栋", "", "", "", "", "maybe", "-5", ""],
        ["", "赵六", "13812345678", "", "", "101", "", "", "", "abc", ""],
        ["B003", "钱七", "13812345678", "3栋", "", "1", "", "", "", "", ""],
        ["B003", "孙八", "13812345679", "3栋", "", "2", "", "", "", "", ""],
    ]
    problems = [(p.row, p.column, p.problem) for p in parse_rows(HEADER, rows).problems]
    assert (2, "姓名", "the name is empty") in problems
    assert any(p[:2] == (2, "电话") and "not a Chinese phone number" in p[2] for p in problems)
    assert (2, "房号", "a unit needs its room number") in problems
    assert any(p[:2] == (2, "VIP") for p in problems)
    assert any(p[:2] == (2, "欠费") for p in problems)
    assert (3, "业主编号", "the owner code is empty") in problems
    assert (3, "楼栋", "a unit needs its building") in problems
    assert any(p[:2] == (5, "姓名") and "row 4" in p[2] for p in problems)


def test_a_mapping_names_other_columns_and_missing_ones_are_reported() -> None:
    header = ["Owner No", "Full name", "Mobile", "Office"]
    rows = [["C1", "Ann", "13811112222", "010-12345678"]]
    mapping = {"code": ["Owner No"], "name": ["Full name"], "phones": ["Mobile", "Office"]}
    parsed = parse_rows(header, rows, mapping)
    assert parsed.problems == []
    assert [p.key for p in parsed.records[0].phones] == ["13811112222", "01012345678"]
    missing = parse_rows(header, rows, {"code": ["Owner Number"]})
    assert (missing.problems[0].row, missing.problems[0].column) == (1, "Owner Number")
    unmapped = parse_rows(["foo", "bar"], [["1", "2"]])
    assert {p.problem.split(" (")[0] for p in unmapped.problems} == {
        "no column for 'code'",
        "no column for 'name'",
    }


def test_mapping_file_with_an_unknown_field_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "map.yaml"
    path.write_text("code: 编号\nphone_number: 手机\n", encoding="utf-8")
    with pytest.raises(ImportFileError, match="unknown field 'phone_number'"):
        load_mapping(path)


def test_reads_gb18030_csv_and_xlsx_with_numeric_cells(tmp_path: Path) -> None:
    csv_path = tmp_path / "owners.csv"
    csv_path.write_bytes("业主编号,姓名,电话\nD1,周九,13812345678\n".encode("gb18030"))
    header, rows = read_table(csv_path)
    assert header == ["业主编号", "姓名", "电话"] and list(rows) == [["D1", "周九", "13812345678"]]
    xlsx_path = tmp_path / "owners.xlsx"
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["业主编号", "姓名", "电话"])
    sheet.append(["D2", "吴十", 13812345678])  # Excel keeps numbers as numbers
    workbook.save(xlsx_path)
    header, rows = read_table(xlsx_path)
    assert list(rows) == [["D2", "吴十", "13812345678"]]
    (tmp_path / "owners.txt").write_text("x", encoding="utf-8")
    with pytest.raises(ImportFileError, match=r"only \.csv and \.xlsx"):
        read_table(tmp_path / "owners.txt")


def test_reimport_updates_instead_of_duplicating(engine: Engine) -> None:
    repository = OwnerRepository(engine)
    counts, _ = repository.import_owners(parse_rows(HEADER, GOOD_ROWS).records)
    assert (counts.created, counts.updated) == (3, 0)
    changed = [list(r) for r in GOOD_ROWS]
    changed[2][1:3] = ["李四", "13911112222"]  # A002 changed number
    changed[2][8] = "是"
    counts, _ = repository.import_owners(parse_rows(HEADER, changed).records)
    assert (counts.created, counts.updated) == (0, 3)
    assert _count(engine, owners_table) == 3
    assert _count(engine, units_table) == 4
    owners = {o.code: o for o in repository.all_owners()}
    assert [p.key for p in owners["A002"].phones] == ["13911112222"]
    assert owners["A002"].vip
    assert owners["A001"].housekeeper == "李管家" and owners["A001"].zone == "东区"
    assert [u.label() for u in owners["A001"].units] == ["3栋-2单元-1201", "5栋-1单元-301"]


def test_a_failure_while_writing_leaves_nothing_behind(engine: Engine) -> None:
    repository = OwnerRepository(engine)
    good = parse_rows(HEADER, GOOD_ROWS).records
    broken = OwnerRecord(code="Z9", name="坏", units=[Unit(None, "", "1")])  # type: ignore[arg-type]
    with pytest.raises(Exception, match=r"(?i)null"):
        repository.import_owners([*good, broken])
    assert _count(engine, owners_table) == 0
    assert _count(engine, phones_table) == 0


def _run_cli(*args: str, stdin: str = "", cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "callcenter.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
    )


def test_command_line_import_dry_run_and_report(tmp_path: Path) -> None:
    config = tmp_path / "cc.yaml"
    config.write_text(f"database:\n  url: sqlite:///{tmp_path / 'cc.db'}\n", encoding="utf-8")
    good = tmp_path / "owners.csv"
    buffer = io.StringIO()
    buffer.write(",".join(HEADER) + "\n")
    for row in GOOD_ROWS:
        buffer.write(",".join(f'"{c}"' for c in row) + "\n")
    good.write_text(buffer.getvalue(), encoding="utf-8")
    dry = _run_cli(
        "--config", str(config), "owners", "import", str(good), "--dry-run", cwd=tmp_path
    )
    assert dry.returncode == 0, dry.stderr
    assert "would create 3 and update 0" in dry.stdout
    done = _run_cli("--config", str(config), "owners", "import", str(good), cwd=tmp_path)
    assert done.returncode == 0 and "3 owner(s) created" in done.stdout
    again = _run_cli("--config", str(config), "owners", "import", str(good), cwd=tmp_path)
    assert "0 owner(s) created, 3 updated" in again.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text(",".join(HEADER) + "\nE1,,12,,,,,,,,\n", encoding="utf-8")
    refused = _run_cli("--config", str(config), "owners", "import", str(bad), cwd=tmp_path)
    assert refused.returncode == 1
    assert f"{bad}: row 2, column 姓名: the name is empty" in refused.stdout
    assert "nothing was imported" in refused.stdout
    engine = create_engine_for(f"sqlite:///{tmp_path / 'cc.db'}")
    assert _count(engine, owners_table) == 3
    engine.dispose()


def test_command_line_users_add_reads_the_password_from_stdin(tmp_path: Path) -> None:
    config = tmp_path / "cc.yaml"
    config.write_text(f"database:\n  url: sqlite:///{tmp_path / 'cc.db'}\n", encoding="utf-8")
    added = _run_cli(
        "--config", str(config), "users", "add", "li.lei", "--role", "agent",
        "--interface", "PJSIP/1001", stdin="a long password\n", cwd=tmp_path,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "user li.lei (agent) at PJSIP/1001 added" in added.stdout
    assert "a long password" not in added.stdout + added.stderr
    again = _run_cli(
        "--config", str(config), "users", "add", "li.lei", "--role", "agent",
        stdin="a long password\n", cwd=tmp_path,
    )  # fmt: skip
    assert again.returncode == 1 and "exists already" in again.stderr
    listed = _run_cli("--config", str(config), "users", "list", cwd=tmp_path)
    assert "li.lei\tagent\tPJSIP/1001" in listed.stdout
