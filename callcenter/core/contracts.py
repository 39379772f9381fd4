"""Small types that more than one feature speaks: the IVR asks for an owner and a route,
the CTI answers the owner lookup, routing answers the route. Kept here so that none of
them imports another."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class OwnerInfo:
    """What the caller lookup knows about an owner (业主). ``balances``: unit -> yuan owed."""

    owner_id: str
    name: str = ""
    vip: bool = False
    arrears: bool = False
    zone: str = ""
    housekeeper_interface: str = ""  # e.g. PJSIP/1001; "" when the zone has none on duty
    housekeeper_name: str = ""
    language: str = ""  # "zh" / "en" / "" (unknown)
    balances: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RouteStep:
    """One step of a routing decision: ``kind`` housekeeper (ring ``target``, an interface),
    zone_queue / general_queue (queue ``target``), voicemail (mailbox ``target``);
    ``wait_s``: how long to ring or wait before the next step."""

    kind: str
    target: str
    priority: int = 0
    wait_s: float = 0.0
    reason: str = ""
    # zone_queue: QUEUE_MAX_PENALTY, the members offered the caller until the queue's
    # penalty rule widens it (None: every member at once)
    max_penalty: int | None = None


class DatabaseAddress(Protocol):
    """Where the service's database is: the part of its settings a command needs to open it."""

    @property
    def url(self) -> str: ...


# What a feature's commands may read of the service's settings, piece by piece: a
# feature's context protocol names its own section and takes these as they are.
class HasDatabase(Protocol):
    @property
    def database(self) -> DatabaseAddress: ...


class HasTimezone(Protocol):
    @property
    def timezone(self) -> str: ...  # an IANA name, e.g. Asia/Shanghai


class HasZone(Protocol):
    @property
    def zone(self) -> ZoneInfo: ...  # the timezone, loaded


@dataclass(frozen=True, slots=True)
class StateSpan:
    """Time a seat spent in one agent state (routing's agent states): ``reason`` is the
    pause reason while paused, else the queue; ``current``: the state it is in now (its
    ``end`` is routing's now)."""

    state: str
    reason: str
    start: float
    end: float
    current: bool = False


QueueNames = Callable[[str], Mapping[str, str]]
"""Routing's queue names in a language: queue code -> how people call it (repair -> 报修)."""


class SeatFacts(Protocol):
    """What the seat page asks routing about a seat: its label (6号座席), the zones' and
    queues' names, whether it is paused, and its agent-state time for the agent's own day."""

    def seat_label(self, interface: str) -> str: ...

    def seat_labels(self) -> Mapping[str, str]:
        """Every seat of the directory: interface -> its label (the interface when unlabelled)."""
        ...

    def zone_names(self, lang: str) -> Mapping[str, str]: ...

    def queue_names(self, lang: str) -> Mapping[str, str]: ...

    def seat_paused(self, interface: str) -> bool:
        """Whether the seat is paused in its queues (through a call and its wrap-up too)."""
        ...

    async def state_spans(self, interface: str, start: float, end: float) -> list[StateSpan]: ...
