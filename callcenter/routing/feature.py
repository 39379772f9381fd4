"""The routing feature assembled: who is on duty, queue membership at shift edges, agent
states and the time in each, staffing minimums, and the housekeeper decision the IVR asks."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence

from aiohttp import web
from sqlalchemy import Engine

from callcenter.core.contracts import StateSpan
from callcenter.core.events import AgentStateChanged, Event
from callcenter.core.feature import Duty, Listeners
from callcenter.routing import admin_pages, api_doc, roster_http
from callcenter.routing.agent_state import AgentStates
from callcenter.routing.alerts import StaffingWatch, alert_webhook, ready_by_team
from callcenter.routing.housekeeper import HousekeeperRouter
from callcenter.routing.http import RoutingState
from callcenter.routing.http import setup as setup_routes
from callcenter.routing.loading import load_routing, routing_rules
from callcenter.routing.roster import Roster
from callcenter.routing.settings import RoutingSettings
from callcenter.routing.staffing import LiveStaffingMonitor
from callcenter.routing.state_time import StateTimeRecorder
from callcenter.routing.store import AgentTimeStore
from callcenter.routing.sync import AmiLike, Clock, MembershipSync
from callcenter.web.openapi_schema import ApiPart


class RoutingFeature:
    """``clients``: each PBX's AMI client (membership changes go to the PBX's own);
    ``publish``: where agent-state changes and routing events go; ``holds(pbx)``: whether
    this instance speaks for the PBX; ``managed_queues``: the queues whose membership
    follows the roster (default: every queue in the directory)."""

    def __init__(
        self,
        settings: RoutingSettings,
        engine: Engine,
        *,
        timezone: str,
        clients: Mapping[str, AmiLike],
        clock: Clock,
        publish: Callable[[Event], None],
        holds: Callable[[str], bool],
        first_pbx: str,
        managed_queues: set[str] | None = None,
    ) -> None:
        self.clock = clock
        self._publish = publish
        self._holds = holds
        self._first_pbx = first_pbx
        self.data = load_routing(settings, timezone)
        self.agent_states = AgentStates(settings.wrapup_s)
        # time in each state, written to the database as intervals close (for occupancy)
        self.state_time = StateTimeRecorder(
            AgentTimeStore(engine), self.agent_states, clock=clock.now, holds=holds
        )
        self.syncs = [
            MembershipSync(
                client,
                self.data.directory,
                self.data.roster,
                clock,
                pbx=name,
                managed_queues=managed_queues,
                publish=publish,
                resync_interval_s=settings.resync_interval_s,
            )
            for name, client in clients.items()
        ]
        self.staffing = StaffingWatch(
            LiveStaffingMonitor(self.data.rules, self.data.book.zone, self.data.roster.calendar),
            lambda: ready_by_team(self.agent_states, self.data.directory),
            publish=publish,
            webhook=(
                alert_webhook(settings.alert_webhook_url, settings.alert_webhook_secret)
                if settings.alert_webhook_url
                else None
            ),
            clock=clock,
            interval_s=settings.staffing_check_interval_s,
            pbx=first_pbx,
        )
        # The IVR asks before ringing an owner's housekeeper: on duty and free, else the
        # zone's queue, else the general queue.
        self.housekeeper = HousekeeperRouter(
            self.data.roster, self.data.directory, self.agent_states, routing_rules(settings)
        )
        self.state = RoutingState(
            self.data.directory,
            self.data.roster,
            self.data.rules,
            agents_file=settings.agents_file,
            syncs=self.syncs,
            clock=clock.now,
            occupancy=self.state_time.occupancy,
            directory_listeners=[self.housekeeper.update_directory],
            roster_file=settings.roster_file,
            roster_listeners=[self._use_roster],
        )

    def _use_roster(self, roster: Roster) -> None:
        """An edited roster (``roster_http``): who is on duty follows it everywhere."""
        self.data = dataclasses.replace(self.data, roster=roster)
        self.housekeeper.roster = roster

    def sync_of(self, pbx: str) -> MembershipSync:
        """The membership sync of ``pbx`` (its link pokes it after every resync)."""
        return next(sync for sync in self.syncs if sync.pbx == pbx)

    def seats(self) -> Collection[str]:
        """The interfaces of the directory's seats, as the directory is now."""
        return {seat.interface for seat in self.state.directory.seats.values()}

    def agent_names(self) -> dict[str, str]:
        """Each seat's interface and the name of the agent sitting there (the directory)."""
        directory = self.state.directory
        return {
            interface: agent.name
            for agent in directory.agents.values()
            if agent.name and (interface := directory.interface_of(agent.id))
        }

    def seat_label(self, interface: str) -> str:
        """The seat's label in the directory (6号座席), "" for a seat it does not know."""
        seats = self.state.directory.seats.values()
        return next((seat.label for seat in seats if seat.interface == interface), "")

    def seat_labels(self) -> dict[str, str]:
        """Every seat's interface -> its label (the interface when it has none)."""
        seats = self.state.directory.seats.values()
        return {seat.interface: seat.label or seat.interface for seat in seats}

    def zone_names(self, lang: str) -> dict[str, str]:
        """Zone id -> its name in ``lang`` (east -> 东区)."""
        return {zone_id: zone.label(lang) for zone_id, zone in self.state.directory.zones.items()}

    def queue_names(self, lang: str) -> dict[str, str]:
        """Queue code -> its name in ``lang`` (repair -> 报修; the code when unnamed)."""
        return self.state.directory.queue_names(lang)

    def seat_paused(self, interface: str) -> bool:
        status = self.agent_states.agents.get(interface)
        return status is not None and status.paused

    async def state_spans(self, interface: str, start: float, end: float) -> list[StateSpan]:
        """The seat's agent-state time inside [start, end), for the agent's own day."""
        closed, current = await self.state_time.seat_intervals(interface, start, end)
        spans = [StateSpan(i.state, i.reason, max(i.start, start), min(i.end, end)) for i in closed]
        if current is not None:
            spans.append(StateSpan(current.state, current.reason, max(current.start, start),
                                   current.end, current=True))  # fmt: skip
        return spans

    def pbx_of_phone(self, interface: str) -> str | None:
        """The PBX that serves a seat's phone, as the agent states last saw it."""
        status = self.agent_states.agents.get(interface)
        return status.pbx if status is not None and status.pbx else None

    @property
    def listeners(self) -> Listeners:
        return Listeners(events=[self._follow_agents])

    def _follow_agents(self, event: Event) -> None:
        self._publish_held(self.agent_states.apply(event))

    async def _tick_agents(self) -> None:
        """End wrap-ups on time even when no event comes."""
        while True:
            await asyncio.sleep(1.0)
            self._publish_held(self.agent_states.tick(self.clock.now()))

    def _publish_held(self, changes: Iterable[AgentStateChanged]) -> None:
        """Publish the changes of the PBXs this instance speaks for: elsewhere the holder's
        changes arrive over the stream."""
        for change in changes:
            if self._holds(change.pbx):
                self._publish(change)

    def routes(self, app: web.Application) -> None:
        setup_routes(app, self.state)
        roster_http.setup(app)
        admin_pages.setup(app)

    def api_doc(self) -> ApiPart:
        return api_doc.PART

    async def start(self) -> None:
        self.state_time.start()

    def duties(self) -> Sequence[Duty]:
        return [
            *(Duty(f"membership-sync:{sync.pbx}", sync.run, pbx=sync.pbx) for sync in self.syncs),
            Duty("staffing-watch", self.staffing.run, pbx=self._first_pbx),
            Duty("agent-wrapup", self._tick_agents),
        ]

    async def stop(self) -> None:
        await self.state_time.close()
