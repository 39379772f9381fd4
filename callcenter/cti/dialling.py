"""Which outside numbers a seat may ring (pure): every Originate to an outside number
(click-to-call, work-order callbacks) passes ``check_dial`` first.

Emergency numbers are refused whatever the other settings say: a click on the wrong
number must not tie up 110 or 120. Numbers of other countries are refused unless
``dialling.international`` is true (a seat is for owners at home; a toll fraud through a
stolen agent account would call abroad). A national number must start with one of
``dialling.allowed_prefixes``. ``+86`` and ``0086`` numbers are national.
"""

from __future__ import annotations

from callcenter.cti.phones import Phone
from callcenter.cti.refusal import Refusal
from callcenter.cti.settings import DiallingSettings
from callcenter.log import mask_number


class DialRefused(Refusal):
    """The number may not be rung from a seat; ``en`` and ``zh`` say why."""


def check_dial(raw: str, phone: Phone, settings: DiallingSettings) -> str:
    """The digits to send as the Originate's ``Exten`` for ``phone`` (``raw`` normalised),
    or ``DialRefused``."""
    dial = phone.key.lstrip("+")
    typed = "".join(c for c in raw if c.isdigit())
    if dial in settings.emergency_numbers or typed in settings.emergency_numbers:
        raise DialRefused(
            f"{dial} is an emergency number: it is never dialled from a seat",
            f"{dial} 是紧急电话，坐席不能拨打",
        )
    if phone.kind == "international":
        if settings.international:
            return dial
        raise DialRefused(
            f"{mask_number(phone.key)} is an international number: not allowed "
            "(dialling.international is false)",
            f"{mask_number(phone.key)} 是国际号码：不允许拨打（dialling.international 为 false）",
        )
    prefixes = settings.allowed_prefixes
    if prefixes and not dial.startswith(tuple(prefixes)):
        raise DialRefused(
            f"{mask_number(dial)} does not start with an allowed prefix ({', '.join(prefixes)})",
            f"{mask_number(dial)} 不以允许的号段开头（{', '.join(prefixes)}）",
        )
    return dial
