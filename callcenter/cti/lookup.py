"""Number -> owner(s), from memory: one dict probe after normalising the caller ID.

``OwnerIndex`` is pure (build it from owners, ask it numbers). ``OwnerDirectory`` keeps one
up to date with the database: loaded at start, refreshed for the owners an import wrote.
At 100k owners a lookup is a few microseconds (see tests/test_cti_lookup.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from callcenter.cti.owners import ImportCounts, Owner, OwnerRecord, OwnerRepository, Progress
from callcenter.cti.phones import lookup_key


class OwnerIndex:
    def __init__(self, owners: Iterable[Owner] = (), *, default_area_code: str = "") -> None:
        self.default_area_code = default_area_code
        self._owners: dict[int, Owner] = {}
        self._by_key: dict[str, tuple[Owner, ...]] = {}
        self.replace(owners)

    def __len__(self) -> int:
        return len(self._owners)

    def replace(self, owners: Iterable[Owner]) -> None:
        """Rebuild from scratch (start-up, or after a bulk change)."""
        owners_by_id: dict[int, Owner] = {}
        by_key: dict[str, list[Owner]] = {}
        for owner in owners:
            owners_by_id[owner.id] = owner
            for phone in owner.phones:
                by_key.setdefault(phone.key, []).append(owner)
        self._owners = owners_by_id
        self._by_key = {key: tuple(found) for key, found in by_key.items()}

    def upsert(self, owners: Iterable[Owner]) -> None:
        """Add or replace a few owners without rebuilding the rest."""
        for owner in owners:
            old = self._owners.get(owner.id)
            if old is not None:
                for phone in old.phones:
                    self._drop(phone.key, owner.id)
            self._owners[owner.id] = owner
            for phone in owner.phones:
                found = tuple(o for o in self._by_key.get(phone.key, ()) if o.id != owner.id)
                self._by_key[phone.key] = (*found, owner)

    def _drop(self, key: str, owner_id: int) -> None:
        remaining = tuple(o for o in self._by_key.get(key, ()) if o.id != owner_id)
        if remaining:
            self._by_key[key] = remaining
        else:
            self._by_key.pop(key, None)

    def find(self, number: str) -> tuple[Owner, ...]:
        """Every owner with this number (several when a family shares one); () when unknown."""
        key = lookup_key(number, default_area_code=self.default_area_code)
        return self._by_key.get(key, ()) if key else ()

    def owner(self, owner_id: int) -> Owner | None:
        return self._owners.get(owner_id)

    def owners(self) -> Iterable[Owner]:
        """Every owner, in id order of loading (what a search walks)."""
        return self._owners.values()


class OwnerDirectory:
    """The index kept in step with the repository; the async face other features use."""

    def __init__(self, repository: OwnerRepository, *, default_area_code: str = "") -> None:
        self.repository = repository
        self.index = OwnerIndex(default_area_code=default_area_code)

    async def load(self) -> int:
        owners = await asyncio.to_thread(self.repository.all_owners)
        self.index.replace(owners)
        return len(owners)

    async def import_owners(
        self, records: list[OwnerRecord], progress: Progress | None = None
    ) -> ImportCounts:
        counts, ids = await asyncio.to_thread(self.repository.import_owners, records, progress)
        await self.refresh(ids)
        return counts

    async def link_number(
        self, owner_id: int, number_key: str, login: str, pbx: str = "", call_id: str = ""
    ) -> Owner | None:
        """Store the link and refresh the owner in the index: the next call from the
        number pops as them. None when there is no such owner."""
        if self.index.owner(owner_id) is None:
            return None
        await asyncio.to_thread(
            self.repository.link_number, owner_id, number_key, login, pbx, call_id
        )
        await self.refresh([owner_id])
        return self.index.owner(owner_id)

    async def refresh(self, owner_ids: Iterable[int]) -> None:
        owners = await asyncio.to_thread(self.repository.get, owner_ids)
        self.index.upsert(owners)

    def find(self, number: str) -> tuple[Owner, ...]:
        return self.index.find(number)

    async def lookup(self, number: str) -> Owner | None:
        """The caller's owner for the IVR: the first one when a number is shared, None when
        unknown. (Sync under the hood; async so a database-backed lookup can replace it.)"""
        found = self.index.find(number)
        return found[0] if found else None
