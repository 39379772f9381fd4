"""Owner import from CSV or XLSX: map columns, validate every row, write all or nothing.

The header row names the columns; a mapping says which column holds which field (the
default knows the usual Chinese and English headers). Every problem is reported with its
spreadsheet row (the header is row 1), column and reason, and when there is any, nothing
is written. Several rows with the same owner code are one owner with several units.
"""

from __future__ import annotations

import csv
import importlib
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from callcenter.cti.owners import OwnerRecord, PhoneEntry, Unit
from callcenter.cti.phones import PhoneError, normalize

FIELDS: dict[str, tuple[str, ...]] = {
    "code": ("业主编号", "编号", "code", "owner_code"),
    "name": ("姓名", "业主姓名", "业主", "name"),
    "phones": ("电话", "手机", "手机号", "联系电话", "座机", "phone", "phones", "mobile"),
    "building": ("楼栋", "楼号", "building"),
    "unit": ("单元", "unit"),
    "room": ("房号", "房间", "room"),
    "zone": ("片区", "区域", "zone"),
    "housekeeper": ("管家", "housekeeper"),
    "vip": ("VIP", "vip", "贵宾"),
    "arrears": ("欠费", "欠费金额", "arrears"),
    "notes": ("备注", "notes"),
}
REQUIRED = ("code", "name")
_TRUE = {"1", "是", "y", "yes", "true", "vip", "√", "x"}
_FALSE = {"", "0", "否", "n", "no", "false"}
_PHONE_SPLIT = str.maketrans({c: ";" for c in ",，;；、/\n"})

Mapping_ = dict[str, list[str]]


class ImportFileError(ValueError):
    """The file or the mapping cannot be read at all."""


@dataclass(frozen=True)
class Problem:
    row: int
    column: str
    problem: str

    def __str__(self) -> str:
        return f"row {self.row}, column {self.column or '-'}: {self.problem}"


@dataclass
class Parsed:
    records: list[OwnerRecord] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    rows: int = 0


# --- reading ----------------------------------------------------------------------------


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a phone number stored as a number in Excel
    return str(value).strip()


def read_table(path: Path) -> tuple[list[str], Iterator[list[str]]]:
    """The header and the data rows of a .csv (UTF-8 or GB18030) or .xlsx file."""
    suffix = path.suffix.lower()
    if not path.exists():
        raise ImportFileError(f"{path}: no such file")
    if suffix == ".csv":
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("gb18030")  # what Excel writes for a Chinese-locale CSV
        reader = csv.reader(io.StringIO(text))
        header = next(reader, None)
        if header is None:
            raise ImportFileError(f"{path}: the file is empty")
        return [h.strip() for h in header], ([c.strip() for c in row] for row in reader)
    if suffix in (".xlsx", ".xlsm"):
        # imported lazily (CSV imports never need it); it ships no type information
        openpyxl: Any = importlib.import_module("openpyxl")
        try:
            workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:
            raise ImportFileError(f"{path}: not a readable XLSX workbook ({exc})") from None
        rows = workbook.worksheets[0].iter_rows(values_only=True)
        first = next(rows, None)
        if first is None:
            raise ImportFileError(f"{path}: the first sheet is empty")
        return [_cell(h) for h in first], ([_cell(c) for c in row] for row in rows)
    raise ImportFileError(f"{path}: only .csv and .xlsx files can be imported")


def load_mapping(path: Path | None) -> dict[str, list[str]]:
    """A YAML mapping ``field: column`` or ``field: [column, ...]``; {} for the defaults."""
    if path is None:
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ImportFileError(f"{path}: cannot read the mapping: {exc}") from None
    if not isinstance(data, dict):
        raise ImportFileError(f"{path}: a mapping is 'field: column name' lines")
    mapping: dict[str, list[str]] = {}
    for key, value in data.items():
        if key not in FIELDS:
            raise ImportFileError(f"{path}: unknown field {key!r} (known: {', '.join(FIELDS)})")
        columns = value if isinstance(value, list) else [value]
        mapping[key] = [str(c) for c in columns]
    return mapping


def resolve_columns(
    header: Sequence[str], mapping: Mapping[str, list[str]]
) -> tuple[dict[str, list[int]], list[Problem]]:
    """Field -> the column indexes that hold it, and the problems of the header row."""
    positions = {name: i for i, name in enumerate(header) if name}
    columns: dict[str, list[int]] = {}
    problems: list[Problem] = []
    for name, aliases in FIELDS.items():
        if name in mapping:
            for column in mapping[name]:
                if column not in positions:
                    problems.append(Problem(1, column, f"column for {name!r} not in the file"))
            found = [positions[c] for c in mapping[name] if c in positions]
        else:
            found = [positions[a] for a in aliases if a in positions]
            if name != "phones":
                found = found[:1]
        if found:
            columns[name] = found
    for name in REQUIRED:
        if name not in columns and name not in mapping:
            problems.append(
                Problem(1, FIELDS[name][0], f"no column for {name!r} (map one with --mapping)")
            )
    return columns, problems


# --- validating (pure) --------------------------------------------------------------------


@dataclass
class _Reporter:
    """Records a problem of one row under the column's own header text."""

    line: int
    header: Sequence[str]
    columns: dict[str, list[int]]
    problems: list[Problem]

    def __call__(self, name: str, reason: str, index: int | None = None) -> None:
        if index is None and name in self.columns:
            index = self.columns[name][0]
        column = self.header[index] if index is not None else name
        self.problems.append(Problem(self.line, column, reason))


def _money_cents(text: str) -> int:
    cleaned = text.replace(",", "").replace("¥", "").replace("￥", "").replace("元", "").strip()
    amount = Decimal(cleaned or "0")
    if not amount.is_finite() or amount < 0:
        raise InvalidOperation
    return int((amount * 100).to_integral_value())


def parse_rows(
    header: Sequence[str],
    rows: Iterable[Sequence[str]],
    mapping: Mapping[str, list[str]] | None = None,
    *,
    default_area_code: str = "",
) -> Parsed:
    columns, header_problems = resolve_columns(header, mapping or {})
    parsed = Parsed(problems=list(header_problems))
    if header_problems:
        return parsed
    by_code: dict[str, tuple[int, OwnerRecord]] = {}

    def value(row: Sequence[str], name: str) -> str:
        index = columns.get(name, [None])[0]
        return row[index].strip() if index is not None and index < len(row) else ""

    for offset, row in enumerate(rows):
        line = offset + 2
        if not any(cell.strip() for cell in row):
            continue
        parsed.rows += 1
        problems: list[Problem] = []

        bad = _Reporter(line, header, columns, problems)

        code, name = value(row, "code"), value(row, "name")
        if not code:
            bad("code", "the owner code is empty")
        if not name:
            bad("name", "the name is empty")
        phones: list[PhoneEntry] = []
        for index in columns.get("phones", []):
            cell = row[index] if index < len(row) else ""
            for part in cell.translate(_PHONE_SPLIT).split(";"):
                if not part.strip():
                    continue
                try:
                    phone = normalize(part, default_area_code=default_area_code)
                except PhoneError as exc:
                    bad("phones", f"{exc} in {part.strip()[:24]!r}", index)
                    continue
                phones.append(PhoneEntry(phone.key, phone.extension, part.strip()))
        building, unit, room = value(row, "building"), value(row, "unit"), value(row, "room")
        units = []
        if building or room or unit:
            if not building:
                bad("building", "a unit needs its building")
            if not room:
                bad("room", "a unit needs its room number")
            units.append(Unit(building, unit, room))
        vip_text = value(row, "vip").lower()
        if vip_text not in _TRUE | _FALSE:
            bad("vip", f"VIP must be 是/否 (yes/no), got {vip_text[:20]!r}")
        arrears = 0
        try:
            arrears = _money_cents(value(row, "arrears"))
        except (InvalidOperation, ValueError):
            bad("arrears", f"arrears must be an amount >= 0, got {value(row, 'arrears')[:20]!r}")
        if problems:
            parsed.problems.extend(problems)
            continue
        record = OwnerRecord(
            code=code,
            name=name,
            zone=value(row, "zone"),
            housekeeper=value(row, "housekeeper"),
            vip=vip_text in _TRUE,
            arrears_cents=arrears,
            notes=value(row, "notes"),
            units=units,
            phones=phones,
        )
        if code in by_code:
            first_line, earlier = by_code[code]
            if earlier.name != name:
                parsed.problems.append(
                    Problem(
                        line,
                        header[columns["name"][0]],
                        f"owner {code} is {earlier.name!r} on row {first_line} but {name!r} here",
                    )
                )
                continue
            earlier.units.extend(u for u in units if u not in earlier.units)
            earlier.phones.extend(p for p in phones if p not in earlier.phones)
            continue
        by_code[code] = (line, record)
        parsed.records.append(record)
    return parsed
