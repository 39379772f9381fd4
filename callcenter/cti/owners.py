"""Owners, their units, numbers and zones: the model and its repository.

An owner is keyed by ``code``, the business system's owner number, so importing the same
file again updates owners instead of adding them twice. An import replaces the units and
numbers of every owner it names, in one transaction: it is written whole or not at all.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, delete, insert, select, update

from callcenter.cti.store import (
    number_links_table,
    owners_table,
    phones_table,
    units_table,
    zones_table,
)
from callcenter.db.upsert import upsert


@dataclass(frozen=True)
class Unit:
    building: str
    unit: str
    room: str

    def label(self) -> str:
        """``3栋2单元1201`` style, the way staff say it."""
        parts = [self.building]
        if self.unit:
            parts.append(self.unit)
        parts.append(self.room)
        return "-".join(parts)


@dataclass(frozen=True)
class PhoneEntry:
    key: str
    extension: str = ""
    raw: str = ""


@dataclass(frozen=True)
class Owner:
    id: int
    code: str
    name: str
    zone: str = ""
    housekeeper: str = ""
    vip: bool = False
    arrears_cents: int = 0
    notes: str = ""
    units: tuple[Unit, ...] = ()
    phones: tuple[PhoneEntry, ...] = ()

    @functools.cached_property
    def search_text(self) -> str:
        """Name and unit labels, case-folded, one per line: what a search looks into,
        worked out once per owner (an import makes new Owner objects)."""
        return "\n".join([self.name, *(u.label() for u in self.units)]).casefold()

    @functools.cached_property
    def phone_keys_text(self) -> str:
        """``\n``-framed number keys: ``"\n" + key + "\n" in it`` is an exact number,
        ``digits + "\n" in it`` a number ending with them."""
        return "".join(f"\n{p.key}" for p in self.phones) + "\n"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "code": self.code,
            "name": self.name,
            "zone": self.zone,
            "housekeeper": self.housekeeper,
            "vip": self.vip,
            "arrears": self.arrears_cents / 100,
            "notes": self.notes,
            "units": [u.label() for u in self.units],
            "phones": [p.key + (f" ext {p.extension}" if p.extension else "") for p in self.phones],
        }


@dataclass
class OwnerRecord:
    """One owner as an import file describes it (before it has a database id)."""

    code: str
    name: str
    zone: str = ""
    housekeeper: str = ""
    vip: bool = False
    arrears_cents: int = 0
    notes: str = ""
    units: list[Unit] = field(default_factory=list)
    phones: list[PhoneEntry] = field(default_factory=list)


@dataclass(frozen=True)
class ImportCounts:
    created: int
    updated: int


Progress = Callable[[int, int], None]
LINKED = "linked"  # the raw text of a number an agent linked (not in the imported file)
_CHUNK = 500


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class OwnerRepository:
    def __init__(self, engine: Engine, *, clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.clock = clock

    # --- reads ----------------------------------------------------------------------------

    def all_owners(self) -> list[Owner]:
        """Every owner with units and numbers: three queries, whatever the count."""
        with self.engine.connect() as connection:
            return self._load(connection, None)

    def get(self, owner_ids: Iterable[int]) -> list[Owner]:
        ids = sorted(set(owner_ids))
        if not ids:
            return []
        with self.engine.connect() as connection:
            return self._load(connection, ids)

    def codes(self) -> set[str]:
        with self.engine.connect() as connection:
            return set(connection.execute(select(owners_table.c.code)).scalars())

    def _load(self, connection: Connection, ids: Sequence[int] | None) -> list[Owner]:
        o, u, p = owners_table.c, units_table.c, phones_table.c
        owners_q = select(
            o.id, o.code, o.name, o.vip, o.arrears_cents, o.notes, zones_table.c.name,
            zones_table.c.housekeeper,
        ).outerjoin(zones_table, zones_table.c.id == o.zone_id)  # fmt: skip
        units_q = select(u.owner_id, u.building, u.unit, u.room).order_by(u.id)
        phones_q = select(p.owner_id, p.number_key, p.extension, p.raw)
        links = number_links_table.c
        links_q = select(links.owner_id, links.number_key)
        if ids is not None:
            owners_q = owners_q.where(o.id.in_(ids))
            units_q = units_q.where(u.owner_id.in_(ids))
            phones_q = phones_q.where(p.owner_id.in_(ids))
            links_q = links_q.where(links.owner_id.in_(ids))
        units: dict[int, list[Unit]] = {}
        for owner_id, building, unit, room in connection.execute(units_q):
            units.setdefault(owner_id, []).append(Unit(building, unit, room))
        phones: dict[int, list[PhoneEntry]] = {}
        for owner_id, key, extension, raw in connection.execute(phones_q):
            phones.setdefault(owner_id, []).append(PhoneEntry(key, extension, raw))
        for owner_id, key in connection.execute(links_q):  # linked by agents: after the file's
            if all(known.key != key for known in phones.get(owner_id, ())):
                phones.setdefault(owner_id, []).append(PhoneEntry(key, raw=LINKED))
        return [
            Owner(
                id=row[0],
                code=row[1],
                name=row[2],
                vip=bool(row[3]),
                arrears_cents=row[4],
                notes=row[5],
                zone=row[6] or "",
                housekeeper=row[7] or "",
                units=tuple(units.get(row[0], ())),
                phones=tuple(phones.get(row[0], ())),
            )
            for row in connection.execute(owners_q.order_by(o.id))
        ]

    # --- writes ---------------------------------------------------------------------------

    def link_number(
        self, owner_id: int, number_key: str, login: str, pbx: str = "", call_id: str = ""
    ) -> None:
        """Keep ``number_key`` as one of the owner's numbers (a second link of the same pair
        only renews who linked it and when); imports leave these links alone."""
        row = {"owner_id": owner_id, "number_key": number_key, "linked_by": login,
               "linked_at": self.clock(), "pbx": pbx, "call_id": call_id}  # fmt: skip
        with self.engine.begin() as connection:
            statement = upsert(connection, number_links_table, ("owner_id", "number_key"))
            connection.execute(statement.values(row))

    def import_owners(
        self, records: Sequence[OwnerRecord], progress: Progress | None = None
    ) -> tuple[ImportCounts, list[int]]:
        """Create or update every record, all in one transaction; returns the counts and
        the ids of the owners written (so the lookup index can refresh just those)."""
        now = self.clock()
        with self.engine.begin() as connection:
            zone_ids = self._zones(connection, records)
            existing = dict(
                connection.execute(select(owners_table.c.code, owners_table.c.id)).all()
            )
            new_rows, updates = [], []
            for record in records:
                row = {
                    "name": record.name,
                    "zone_id": zone_ids.get(record.zone),
                    "vip": record.vip,
                    "arrears_cents": record.arrears_cents,
                    "notes": record.notes,
                    "updated_at": now,
                }
                if record.code in existing:
                    updates.append({"o_id": existing[record.code], **row})
                else:
                    new_rows.append({"code": record.code, **row})
            done = 0
            for chunk in _chunks(new_rows):
                connection.execute(insert(owners_table), list(chunk))
                done += len(chunk)
                if progress:
                    progress(done, len(records))
            if updates:
                statement = (
                    update(owners_table)
                    .where(owners_table.c.id == bindparam("o_id"))
                    .values({k: bindparam(k) for k in updates[0] if k != "o_id"})
                )
                for chunk in _chunks(updates):
                    connection.execute(statement, list(chunk))
                    done += len(chunk)
                    if progress:
                        progress(done, len(records))
            if new_rows:
                existing = dict(
                    connection.execute(select(owners_table.c.code, owners_table.c.id)).all()
                )
            ids = [existing[r.code] for r in records]
            for chunk in _chunks(ids):
                connection.execute(delete(units_table).where(units_table.c.owner_id.in_(chunk)))
                connection.execute(delete(phones_table).where(phones_table.c.owner_id.in_(chunk)))
            unit_rows = [
                {
                    "owner_id": existing[r.code],
                    "building": u.building,
                    "unit": u.unit,
                    "room": u.room,
                }
                for r in records
                for u in dict.fromkeys(r.units)
            ]
            phone_rows = [
                {
                    "owner_id": existing[r.code],
                    "number_key": key,
                    "extension": p.extension,
                    "raw": p.raw,
                }
                for r in records
                for key, p in {p.key: p for p in r.phones}.items()
            ]
            for chunk in _chunks(unit_rows, 2000):
                connection.execute(insert(units_table), list(chunk))
            for chunk in _chunks(phone_rows, 2000):
                connection.execute(insert(phones_table), list(chunk))
        return ImportCounts(created=len(new_rows), updated=len(updates)), ids

    def _zones(self, connection: Connection, records: Sequence[OwnerRecord]) -> dict[str, int]:
        """Zone name -> id, creating zones and updating housekeepers as the file says."""
        wanted: dict[str, str] = {}
        for record in records:
            if record.zone:
                wanted[record.zone] = record.housekeeper or wanted.get(record.zone, "")
        known = {
            name: (zone_id, keeper)
            for zone_id, name, keeper in connection.execute(
                select(zones_table.c.id, zones_table.c.name, zones_table.c.housekeeper)
            )
        }
        for name, keeper in wanted.items():
            if name not in known:
                connection.execute(insert(zones_table).values(name=name, housekeeper=keeper))
            elif keeper and keeper != known[name][1]:
                connection.execute(
                    update(zones_table).where(zones_table.c.name == name).values(housekeeper=keeper)
                )
        return dict(connection.execute(select(zones_table.c.name, zones_table.c.id)).all())
