"""Calls and screen-pops for other systems (a CRM opening the caller's record, a BI tool
counting calls): an outgoing webhook, signed and retried as every webhook of the service
(``callcenter.core.webhook``, ``callcenter.core.signing``).

Kinds (the ``X-Callcenter-Event`` header and the body's ``kind``):
- ``call.queued``: a caller joined a queue (pbx, call_id, queue, caller_number, position),
- ``call.answered``: an agent took the call (agent, interface, queue, hold_time),
- ``call.ended``: the finished call record, as ``GET /api/calls`` shows it,
- ``screen_pop``: a seat's pop changed (ringing, answered, missed, ended) with the card
  the agent sees (caller, owners, IVR keys).

``deliveries_of_event`` and ``delivery_of_pop`` decide (pure); ``EventHook`` sends, and
is fed only where this instance speaks for the PBX, so several instances send once.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from callcenter.core.call_record import CallRecord
from callcenter.core.events import AgentAnswered, Event, QueueJoined
from callcenter.core.webhook import WebhookQueue
from callcenter.cti.popper import PopUpdate
from callcenter.cti.settings import EVENT_KINDS

Delivery = tuple[str, dict[str, Any]]


def delivery_of_event(event: Event) -> Delivery | None:
    base = {"pbx": event.pbx, "call_id": event.call_id, "at": event.at}
    if isinstance(event, QueueJoined):
        return "call.queued", {
            **base,
            "queue": event.queue,
            "caller_number": event.caller_number,
            "position": event.position,
        }
    if isinstance(event, AgentAnswered):
        return "call.answered", {
            **base,
            "queue": event.queue,
            "agent": event.member_name,
            "interface": event.interface,
            "hold_time": event.hold_time,
        }
    return None


def delivery_of_pop(update: PopUpdate) -> Delivery:
    card = {k: v for k, v in update.card.items() if k not in ("pbx", "call_id")}
    return "screen_pop", {
        "pbx": update.pbx,
        "call_id": update.call_id,
        "interface": update.interface,
        "state": update.state,
        "at": update.at,
        "card": card,
    }


class EventHook:
    """Sends the kinds asked for; ``holds(pbx)``: whether this instance speaks for it."""

    def __init__(
        self,
        sender: WebhookQueue,
        kinds: Collection[str] = EVENT_KINDS,
        *,
        holds: Callable[[str], bool] = lambda _pbx: True,
    ) -> None:
        self.sender = sender
        self.kinds = frozenset(kinds)
        self._holds = holds

    def _send(self, delivery: Delivery | None) -> None:
        if delivery is not None and delivery[0] in self.kinds:
            self.sender.send(*delivery)

    def on_event(self, event: Event) -> None:
        self._send(delivery_of_event(event))

    def on_record(self, record: CallRecord) -> None:
        self._send(("call.ended", record.to_dict()))

    def on_pop(self, update: PopUpdate) -> None:
        if self._holds(update.pbx):
            self._send(delivery_of_pop(update))
