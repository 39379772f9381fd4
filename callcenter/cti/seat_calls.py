"""Which calls popped on which seat lately (pure: the event times are the clock).

The pops on screen (``SeatHub``) are forgotten at hangup, and a call's record reaches the
database only once the call is over, in batches; yet an agent writes the wrap-up after the
hangup and often raises the work order during the call. ``SeatCallLog`` remembers every
call a seat was shown (ringing, answered, missed, ended) for ``keep_s`` seconds of event
time, with the caller and the owners the card showed, so that an action naming a call can
be checked against the seat it popped on before the call's record is stored.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from callcenter.cti.popper import PopState, PopUpdate

KEEP_S = 12 * 3600.0  # longer than any shift: a wrap-up written late still finds its call
MAX_CALLS = 50_000  # a bound whatever the traffic (90 lines for 12 h is about 20,000 calls)


@dataclass(frozen=True)
class SeatCall:
    """One call as one seat saw it."""

    pbx: str
    call_id: str
    interface: str
    caller_number: str
    started_at: float
    owner_ids: tuple[int, ...]
    state: PopState
    answered: bool  # answered at this seat at some point
    last_at: float


class SeatCallLog:
    def __init__(self, *, keep_s: float = KEEP_S, max_calls: int = MAX_CALLS) -> None:
        self.keep_s = keep_s
        self.max_calls = max_calls
        # (pbx, call_id) -> interface -> the call as that seat saw it; oldest change first
        self._calls: OrderedDict[tuple[str, str], dict[str, SeatCall]] = OrderedDict()
        self._by_seat: dict[str, set[tuple[str, str]]] = {}  # interface -> its calls' keys
        self._newest_at = 0.0

    def __len__(self) -> int:
        return len(self._calls)

    def note(self, update: PopUpdate) -> None:
        key = (update.pbx, update.call_id)
        seats = self._calls.pop(key, {})
        before = seats.get(update.interface)
        card = update.card
        seats[update.interface] = SeatCall(
            pbx=update.pbx,
            call_id=update.call_id,
            interface=update.interface,
            caller_number=str(card.get("caller_number", "")),
            started_at=float(card.get("started_at") or update.at),
            owner_ids=tuple(int(o["id"]) for o in card.get("owners", ())),
            state=update.state,
            answered=update.state == "answered" or (before is not None and before.answered),
            last_at=max(update.at, before.last_at if before is not None else 0.0),
        )
        self._calls[key] = seats
        self._by_seat.setdefault(update.interface, set()).add(key)
        self._newest_at = max(self._newest_at, update.at)
        self._forget_old()

    def at_seat(self, interface: str, pbx: str, call_id: str) -> SeatCall | None:
        """The call as ``interface`` saw it, if it popped there."""
        return self._calls.get((pbx, call_id), {}).get(interface)

    def calls_at(self, interface: str) -> list[SeatCall]:
        """Every call that popped at ``interface`` and is still remembered."""
        keys = self._by_seat.get(interface, ())
        return [self._calls[key][interface] for key in keys if key in self._calls]

    def seats_of(self, pbx: str, call_id: str) -> list[SeatCall]:
        """Every seat the call popped on."""
        return list(self._calls.get((pbx, call_id), {}).values())

    def _forget_old(self) -> None:
        horizon = self._newest_at - self.keep_s
        while self._calls:
            key, seats = next(iter(self._calls.items()))
            too_many = len(self._calls) > self.max_calls
            if not too_many and max(c.last_at for c in seats.values()) >= horizon:
                break
            del self._calls[key]
            for interface in seats:
                keys = self._by_seat.get(interface)
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del self._by_seat[interface]
