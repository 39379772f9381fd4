"""Which call an agent's action is stored on, and whether they may write on it (pure).

A wrap-up or a work order names its call (pbx and call id) as the page that started it
knew it; the server stores the action on exactly that call, never on "the latest call".
The call must be known: shown on a seat lately (``SeatCallLog``), stored, or open in the
tracker (a call in progress across a restart of the service); else 404. An agent
writes only on their own calls (else 403): ringing or talking at their seat, answered
there, or stored with them as its agent (a call nobody answered: one that reached their
seat); a seat where the call only rang while another agent took it has no say.
Supervisors and admins write on any known call. The caller number and owner a
work order gives must be the call's.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row

from callcenter.core.call_record import CallRecord
from callcenter.cti.phones import lookup_key
from callcenter.cti.popper import seat_of
from callcenter.cti.seat_calls import SeatCall
from callcenter.log import mask_number
from callcenter.web.security import User


@dataclass(frozen=True)
class StoredCall:
    """What the calls table says about a call: who took it, which seats it reached."""

    pbx: str
    call_id: str
    caller_number: str
    started_at: float
    agent: str
    agent_interface: str
    seats: frozenset[str]  # the interfaces of its legs' channels


@dataclass(frozen=True)
class CallTarget:
    """The call an action is stored on."""

    pbx: str
    call_id: str
    caller_number: str
    started_at: float
    owner_ids: frozenset[int]  # the owners its caller's card showed


class CallRefused(Exception):
    """The action cannot go on that call: ``status`` (400, 403, 404) and why, in both
    languages."""

    def __init__(self, status: int, en: str, zh: str) -> None:
        super().__init__(en)
        self.status = status
        self.en = en
        self.zh = zh


def open_call_facts(record: CallRecord) -> StoredCall:
    """A call still in progress, as the tracker has it (after a restart of the service no
    pop of it is remembered, yet the agent talking on it may write on it)."""
    return stored_call(record, (leg.channel for leg in record.legs))


def stored_call(call: CallRecord | Row[*tuple[Any, ...]], channels: Iterable[str]) -> StoredCall:
    """``call``'s facts (a record, or a row of the calls table's columns of those names),
    with the seats of its legs' ``channels``."""
    return StoredCall(
        pbx=call.pbx,
        call_id=call.call_id,
        caller_number=call.caller_number,
        started_at=call.started_at,
        agent=call.agent,
        agent_interface=call.agent_interface,
        seats=frozenset(seat_of(channel) for channel in channels if channel),
    )


def _took_it(user: User, stored: StoredCall) -> bool:
    """The call is the user's: they answered it, or, when nobody answered it (a call the
    seat placed, one that rang out), it reached their seat. A seat that only rang while
    another agent answered has no say on the call."""
    if stored.agent or stored.agent_interface:
        by_agent = bool(user.agent) and stored.agent == user.agent
        return by_agent or (bool(user.interface) and stored.agent_interface == user.interface)
    return bool(user.interface) and user.interface in stored.seats


def _in_hand(call: SeatCall) -> bool:
    """Ringing, talking or ended at the seat, or answered there at some point: not a call
    that rang there and went on to someone else (``missed``)."""
    return call.state != "missed" or call.answered


def resolve_call(
    user: User,
    pbx: str,
    call_id: str,
    popped: Sequence[SeatCall],
    stored: StoredCall | None,
) -> CallTarget:
    """The call ``user`` may store an action on, or ``CallRefused``. ``popped``: the seats
    the call popped on lately; ``stored``: its record, when stored already."""
    name = f"{pbx}/{call_id}"
    if not pbx:
        raise CallRefused(400, "pbx: needed with call_id", "pbx: 提供 call_id 时必须提供 pbx")
    if not popped and stored is None:
        raise CallRefused(
            404, f"no call {name} is known", f"找不到来电 {name}（未在坐席弹屏，也没有通话记录）"
        )
    supervising = user.role in ("supervisor", "admin")
    mine = [
        c
        for c in popped
        if supervising or (user.interface and c.interface == user.interface and _in_hand(c))
    ]
    if not mine and not (stored is not None and (supervising or _took_it(user, stored))):
        seat = user.interface or "-"
        raise CallRefused(
            403,
            f"call {name} did not ring at your seat ({seat}) and is not yours: "
            "an agent writes only on their own calls",
            f"来电 {name} 没有在您的坐席（{seat}）振铃，不是您的来电：坐席只能记录自己的来电",
        )
    seen = mine[0] if mine else None
    caller = seen.caller_number if seen is not None else stored.caller_number if stored else ""
    started = seen.started_at if seen is not None else stored.started_at if stored else 0.0
    return CallTarget(
        pbx=pbx,
        call_id=call_id,
        caller_number=caller,
        started_at=started,
        owner_ids=frozenset(o for c in mine for o in c.owner_ids),
    )


def same_number(a: str, b: str) -> bool:
    """Two spellings of one number (``+86 138…`` and ``138…``), or the same text."""
    key_a, key_b = lookup_key(a), lookup_key(b)
    return a == b if key_a is None or key_b is None else key_a == key_b


def check_work_order_caller(
    target: CallTarget,
    caller_number: str,
    owner_id: int | None,
    callers_owners: Collection[int],
) -> None:
    """A work order's number and owner must be its call's: an owner of the calling number
    (the card's, or the directory's now) when that number is an owner's; any owner when
    the caller is unknown (they said who they are)."""
    name = f"{target.pbx}/{target.call_id}"
    if caller_number and not same_number(caller_number, target.caller_number):
        raise CallRefused(
            400,
            f"caller_number {mask_number(caller_number)} is not the caller of call {name} "
            f"({mask_number(target.caller_number)})",
            f"caller_number {mask_number(caller_number)} 不是来电 {name} 的号码"
            f"（{mask_number(target.caller_number)}）",
        )
    owners = set(callers_owners) | target.owner_ids
    if owner_id is not None and owners and owner_id not in owners:
        raise CallRefused(
            400,
            f"owner_id {owner_id} is not an owner of the number that made call {name}",
            f"owner_id {owner_id} 不是来电 {name} 号码的业主",
        )
