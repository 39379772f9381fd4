"""What an event handler may ask of the tracker, and the table that finds a handler by the
event's type.

Its own module so the handlers (``live_events.py``, ``recovery.py``) depend on this small
contract, not on the tracker, and the tracker imports them one way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from callcenter.calls.open_call import OpenCall
from callcenter.core.call_record import Leg
from callcenter.core.events import Event

E = TypeVar("E", bound=Event)


class CallBook(Protocol):
    """The part of the tracker that spans calls, as the handlers need it."""

    @property
    def latest_at(self) -> float:
        """The latest event time seen: the fallback for unstamped events."""
        ...

    def register_channel(self, call: OpenCall, channel_id: str, channel: str, at: float) -> Leg:
        """The call's leg for a channel (made on first sight; the channel now maps to it)."""
        ...

    def set_origin(self, call: OpenCall, channel_id: str, context: str, exten: str) -> None:
        """The call's first channel says where it came from and what was dialled."""
        ...

    def member_name(self, interface: str) -> str:
        """The queue member name last seen for a seat's interface ("" when never seen)."""
        ...


# How one type of event changes an open call; the book holds what spans calls.
Handler = Callable[[CallBook, OpenCall, E], None]


class EventHandlers:
    """Handlers keyed by event type; ``on`` registers one for exactly its event's type."""

    def __init__(self, *parts: EventHandlers) -> None:
        # Any: each entry's handler takes exactly its key's type, as ``on`` checked.
        self._by_type: dict[type[Event], Handler[Any]] = {}
        for part in parts:
            self._by_type.update(part._by_type)

    def on(self, event_type: type[E]) -> Callable[[Handler[E]], Handler[E]]:
        def register(handler: Handler[E]) -> Handler[E]:
            self._by_type[event_type] = handler
            return handler

        return register

    def get(self, event_type: type[Event]) -> Handler[Any] | None:
        return self._by_type.get(event_type)
