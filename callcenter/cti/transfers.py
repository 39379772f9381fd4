"""Transfers from the seat page (pure): which AMI action moves the call, and to where.

The agent's own channel in the call is the transferer. A blind transfer is Asterisk's
``BlindTransfer`` action (the caller is sent to ``Exten@Context`` at once and the agent's
channel hangs up); an attended one is ``Atxfer`` (the caller is held while the agent's
channel dials the target; the agent hanging up completes the transfer). Both need the
``call`` write class in manager.conf (docs/deployment.md).

Targets live in ``cti.transfer_context``: a seat by its extension (``1002`` or
``PJSIP/1002``), a queue by its name (the context runs ``Queue(name)`` for it), the
caller's housekeeper by the seat of the owner's housekeeper.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from callcenter.core.call_record import CallRecord
from callcenter.cti.popper import seat_of

Mode = Literal["blind", "attended"]
To = Literal["seat", "queue", "housekeeper"]
_EXTEN = re.compile(r"^\d{2,10}$")
_QUEUE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class TransferRefused(ValueError):
    """The transfer cannot be asked for as it is; ``en`` and ``zh`` say why."""

    def __init__(self, en: str, zh: str, status: int = 400) -> None:
        super().__init__(en)
        self.en, self.zh, self.status = en, zh, status


@dataclass(frozen=True)
class Transfer:
    fields: dict[str, str]  # the AMI action
    exten: str  # where the caller goes in the transfer context
    target: str  # what the page and the call's history name: 1002, support, PJSIP/1030
    interface: str = ""  # the seat a seat or housekeeper transfer rings (PJSIP/1002)


def seat_exten(target: str) -> str:
    """``1002``, ``PJSIP/1002`` or ``SIP/1002`` -> ``1002``; anything else is refused."""
    exten = target.strip().rsplit("/", 1)[-1]
    if not _EXTEN.match(exten):
        raise TransferRefused(
            f"{target!r} is not a seat extension (digits, e.g. 1002)",
            f"“{target}”不是座席分机号（数字，例如 1002）",
        )
    return exten


def agent_channel(call: CallRecord | None, seat: str) -> str | None:
    """The seat's channel still up in the call (the transferer), if any."""
    if call is None:
        return None
    live = [leg for leg in call.legs if leg.ended_at is None and leg.answered_at is not None]
    return next((leg.channel for leg in reversed(live) if seat_of(leg.channel) == seat), None)


def plan_transfer(
    mode: Mode,
    to: To,
    target: str,
    *,
    channel: str,
    seat: str,
    context: str,
    housekeeper_seats: Iterable[str] = (),
) -> Transfer:
    """The action that moves the call whose agent leg is ``channel`` (at ``seat``)."""
    if to == "queue":
        if not _QUEUE.match(target):
            raise TransferRefused(f"{target!r} is not a queue name", f"“{target}”不是队列名称")
        exten = label = target
        interface = ""
    elif to == "housekeeper":
        keepers = [s for s in housekeeper_seats if s]
        if not keepers:
            raise TransferRefused(
                "the caller has no housekeeper with a seat",
                "该来电业主没有可转接的管家座席",
                409,
            )
        exten, label, interface = seat_exten(keepers[0]), keepers[0], keepers[0]
    else:
        exten = label = seat_exten(target)
        # a seat named by its extension has the technology of the agent's own seat
        tech = target.rsplit("/", 1)[0] if "/" in target else seat.split("/", 1)[0]
        interface = f"{tech}/{exten}"
    if exten == seat.rsplit("/", 1)[-1]:
        raise TransferRefused(
            "a call cannot be transferred to the seat it is at", "不能转接给自己的座席"
        )
    action = {"Action": "BlindTransfer"} if mode == "blind" else {"Action": "Atxfer"}
    fields = {**action, "Channel": channel, "Exten": exten, "Context": context}
    return Transfer(fields, exten, label, interface)
