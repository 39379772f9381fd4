"""The CTI feature assembled from its parts (a ``callcenter.core.feature.Feature``).

cti = CtiFeature(engine, settings.cti, zone=settings.zone, ami=link.client)
await cti.start()                       # loads the owner index, starts the webhook
cti.listeners                           # screen-pops follow every event
cti.routes(app)                         # sign-in middleware + pages + seat routes
...
await cti.stop()
"""

from __future__ import annotations

import asyncio
import time
import zoneinfo
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from aiohttp import web
from sqlalchemy import Engine

from callcenter.core.call_record import CallRecord
from callcenter.core.contracts import OwnerInfo, SeatFacts
from callcenter.core.events import Event
from callcenter.core.feature import Duty, Listeners
from callcenter.core.webhook import RetryPolicy, SignedPost, WebhookQueue
from callcenter.cti import admin_http, admin_pages, api_doc, import_jobs, signin
from callcenter.cti.accounts import AccountStore, hash_password
from callcenter.cti.callback_store import CallbackRecords
from callcenter.cti.event_hook import EventHook
from callcenter.cti.http import AmiActions, CtiDeps
from callcenter.cti.http import setup as setup_seat_routes
from callcenter.cti.lookup import OwnerDirectory
from callcenter.cti.owner_access import OwnerReadLimiter
from callcenter.cti.owners import Owner, OwnerRepository
from callcenter.cti.phones import lookup_key
from callcenter.cti.popper import Popper, PopUpdate
from callcenter.cti.records import CtiRecords
from callcenter.cti.screenpop import ScreenPop, SeatHub
from callcenter.cti.settings import CtiSettings, DiallingSettings
from callcenter.cti.tokens import TokenStore
from callcenter.cti.workorders import timer
from callcenter.web.openapi_schema import ApiPart


def spellings(number: str) -> list[str]:
    """The ways a trunk may present one caller's number (as typed, national, +86, 0-prefixed)."""
    key = lookup_key(number)
    if key is None:
        return [number]
    found = {number, key}
    if key[0] == "1":
        found |= {"0" + key, "86" + key, "+86" + key}
    elif key[0] == "0":
        found |= {"+86" + key[1:], "86" + key[1:]}
    return sorted(found)


def to_owner_info(owner: Owner, housekeeper_seats: Mapping[str, str]) -> OwnerInfo:
    """The IVR's view of an owner: whether to greet a VIP, mention arrears, route to the
    housekeeper's seat (whether they are on duty is routing's decision)."""
    owed_yuan = owner.arrears_cents // 100
    first_unit = owner.units[0].label() if owner.units else ""
    return OwnerInfo(
        owner_id=str(owner.id),
        name=owner.name,
        vip=owner.vip,
        arrears=owner.arrears_cents > 0,
        zone=owner.zone,
        housekeeper_interface=housekeeper_seats.get(owner.housekeeper, ""),
        housekeeper_name=owner.housekeeper,
        balances={first_unit: owed_yuan} if owed_yuan and first_unit else {},
    )


class CtiFeature:
    def __init__(
        self,
        engine: Engine,
        settings: CtiSettings | None = None,
        *,
        zone: zoneinfo.ZoneInfo | None = None,
        ami: AmiActions | None = None,
        clock: Callable[[], float] = time.time,
        open_call: Callable[[str, str], CallRecord | None] | None = None,
        dialling: DiallingSettings | None = None,
        alert: Callable[[dict[str, Any]], None] | None = None,
        trusted_proxies: Sequence[str] = (),
        holds: Callable[[str], bool] = lambda _pbx: True,
        pbx_of_seat: Callable[[str], str] | None = None,
        seat_facts: SeatFacts | None = None,
        pbx_now: Callable[[], float] | None = None,
    ) -> None:
        self.settings = settings or CtiSettings()
        self.clock = clock
        self.trusted_proxies = trusted_proxies
        self._keepers: dict[str, str] = {}
        self.accounts = AccountStore(engine, clock=clock)
        self.tokens = TokenStore(engine, clock=clock)
        self.directory = OwnerDirectory(
            OwnerRepository(engine, clock=clock), default_area_code=self.settings.default_area_code
        )
        self.records = CtiRecords(engine, clock=clock)
        self.imports = import_jobs.ImportJobs(self.directory, self.settings.default_area_code)
        self.hub = SeatHub()
        self.popper = Popper(self.directory.find)
        self.webhook = self._sender(self.settings.webhook_url, self.settings.webhook_secret)
        # calls and screen-pops for other systems
        events_sender = self._sender(
            self.settings.events_webhook_url, self.settings.events_webhook_secret
        )
        self.event_hook = (
            EventHook(events_sender, self.settings.events_webhook_kinds, holds=holds)
            if events_sender is not None
            else None
        )
        self.screenpop = ScreenPop(
            self.popper,
            self.hub,
            self.pop_details,
            on_pop=self.event_hook.on_pop if self.event_hook is not None else None,
        )
        self.deps = CtiDeps(
            records=self.records,
            directory=self.directory,
            hub=self.hub,
            ami=ami,
            webhook=self.webhook,
            settings=self.settings,
            dialling=dialling or DiallingSettings(),
            zone=zone or zoneinfo.ZoneInfo("Asia/Shanghai"),
            clock=clock,
            callbacks=CallbackRecords(engine, clock=clock),
            seat_facts=seat_facts,
            housekeeper_seat=lambda name: self._keepers.get(name, ""),
        )
        if open_call is not None:
            self.deps.open_call = open_call
        self.deps.owner_reads = OwnerReadLimiter(
            self.settings.owner_reads_limit, self.settings.owner_reads_window_s
        )
        if alert is not None:
            self.deps.alert = alert
        if pbx_of_seat is not None:
            self.deps.pbx_of_seat = pbx_of_seat
        if pbx_now is not None:  # the agent's day follows the PBX's clock
            self.deps.pbx_now = pbx_now

    def _sender(self, url: str, secret: str) -> WebhookQueue | None:
        if not url:
            return None
        policy = RetryPolicy(self.settings.webhook_max_attempts)
        return WebhookQueue(SignedPost(url, secret, policy, clock=self.clock))

    def _senders(self) -> list[WebhookQueue]:
        hook = self.event_hook.sender if self.event_hook is not None else None
        return [s for s in (self.webhook, hook) if s is not None]

    async def start(self) -> None:
        await self.directory.load()
        await self.refresh_housekeepers()
        await asyncio.to_thread(self.accounts.purge_expired)
        for sender in self._senders():
            await sender.start()

    def duties(self) -> Sequence[Duty]:
        return ()

    async def stop(self) -> None:
        await self.screenpop.settle()
        await self.imports.settle()
        for sender in self._senders():
            await sender.close()

    @property
    def listeners(self) -> Listeners:
        hook = self.event_hook
        if hook is None:
            return Listeners(events=[self.on_event])
        return Listeners(
            events=[self.on_event], pbx_events=[hook.on_event], pbx_records=[hook.on_record]
        )

    def on_event(self, event: Event) -> None:
        """Screen-pops follow every event: synchronous, in event order."""
        self.screenpop.on_event(event)

    def api_doc(self) -> ApiPart:
        return api_doc.PART

    def routes(self, app: web.Application) -> None:
        signin.setup(
            app,
            self.accounts,
            self.settings,
            clock=self.clock,
            trusted_proxies=self.trusted_proxies,
            tokens=self.tokens,
            audit=self.records.audit,
        )
        admin_http.setup(app, self.accounts, self.tokens, self.refresh_housekeepers)
        admin_pages.setup(app)
        import_jobs.setup(app, self.imports)
        setup_seat_routes(app, self.deps)

    async def lookup(self, number: str) -> OwnerInfo | None:
        """The IVR's caller lookup (``callcenter.ivr.agi_session`` ``Lookup``): the caller's
        owner, the first one when a number is shared, None when unknown."""
        owner = await self.directory.lookup(number)
        return None if owner is None else to_owner_info(owner, self._keepers)

    async def refresh_housekeepers(self) -> None:
        """Housekeeper name -> seat, from the users (their display name or login)."""
        users = await asyncio.to_thread(self.accounts.list_users)
        self._keepers = {
            name: u.interface
            for u in users
            if u.interface
            for name in (u.login, u.display_name)
            if name
        }

    async def seed_demo_users(self, interfaces: Sequence[str], password: str) -> list[str]:
        """For ``make demo`` only: ``agent1001`` at ``PJSIP/1001`` and so on, plus
        ``supervisor`` and ``admin``, all with ``password``; existing users are kept."""
        encoded = await asyncio.to_thread(hash_password, password)
        known = {u.login for u in await asyncio.to_thread(self.accounts.list_users)}
        wanted = [
            (f"agent{i.split('/')[-1]}", "agent", i, f"Agent {i.split('/')[-1]}")
            for i in interfaces
        ] + [("supervisor", "supervisor", "", ""), ("admin", "admin", "", "")]
        added = []
        for login, role, interface, agent in wanted:
            if login in known:
                continue
            await asyncio.to_thread(
                self.accounts.add_user, login, role, "", display_name=login,
                interface=interface, agent=agent, password_hash=encoded,
            )  # fmt: skip
            added.append(login)
        await self.refresh_housekeepers()
        return added

    async def pop_details(self, update: PopUpdate) -> dict[str, Any]:
        """What a pop shows after the first frame: the owners' open work orders (a summary:
        the orders themselves stay with whoever handles them) and the last five calls."""
        owner_ids = [o["id"] for o in update.card["owners"]]
        number = str(update.card["caller_number"])
        orders = (
            await asyncio.to_thread(self.records.list_orders, owner_ids=owner_ids, open_only=True)
            if owner_ids
            else []
        )
        calls = (
            await asyncio.to_thread(self.records.recent_calls, spellings(number)) if number else []
        )
        now = self.clock()
        return {
            "open_work_orders": [
                {
                    "id": o.id,
                    "kind": o.kind,
                    "category": o.category,
                    "state": o.state,
                    "due_at": o.due_at,
                    "timer": timer(o, now)["state"],
                }
                for o in orders
            ],
            "last_calls": calls,
        }
