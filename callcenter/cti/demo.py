"""Demo owners for ``make demo``: the sample estate in ``config/demo_owners.csv``.

The simulator's callers are drawn from these owners' numbers (``SimConfig.caller_numbers``)
so the seat page shows real owner cards, and the owners are imported into the demo database
once, the same way ``callcenter owners import`` would.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from callcenter.cti.feature import CtiFeature
from callcenter.cti.importer import ImportFileError, Parsed, parse_rows, read_table

DEMO_OWNERS_FILE = Path("config/demo_owners.csv")


def _parse(path: Path | str, default_area_code: str) -> Parsed:
    """The owners of the file; any bad row is an error (a demo file must be clean)."""
    header, rows = read_table(Path(path))
    parsed = parse_rows(header, rows, default_area_code=default_area_code)
    if parsed.problems:
        shown = "; ".join(str(p) for p in parsed.problems[:5])
        raise ImportFileError(f"{path}: {len(parsed.problems)} problem(s): {shown}")
    return parsed


def demo_owner_numbers(
    path: Path | str = DEMO_OWNERS_FILE, *, default_area_code: str = "21"
) -> tuple[str, ...]:
    """Every owner number of the file the way a trunk presents it (national digits, no
    extension), sorted and without repeats: the simulator's known callers."""
    parsed = _parse(path, default_area_code)
    return tuple(sorted({phone.key for record in parsed.records for phone in record.phones}))


async def load_demo_owners(cti: CtiFeature, path: Path | str = DEMO_OWNERS_FILE) -> int:
    """Import the file's owners that the database does not have yet (by owner code) and
    refresh the lookup index; returns how many were imported (0 on a second start)."""
    parsed = await asyncio.to_thread(_parse, path, cti.settings.default_area_code)
    known = await asyncio.to_thread(cti.directory.repository.codes)
    missing = [record for record in parsed.records if record.code not in known]
    if missing:
        await cti.directory.import_owners(missing)
    return len(missing)
