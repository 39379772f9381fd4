"""Phone numbers as owners write them and as trunks present them, reduced to one key.

The key is what lookups compare:
- mobiles: the 11 digits (``13812345678``), from ``+86 138-1234-5678``, ``0086…``,
  ``86138…`` or ``0138…`` (the trunk prefix some PBXs add to out-of-town mobiles);
- landlines: ``0`` + area code + local number (``02161234567``), from ``(021) 6123-4567``,
  ``+86 21 6123 4567``; a bare local number gets ``default_area_code`` when one is set;
- service numbers (400/800, 95xxx, short codes) as their digits;
- other countries: ``+`` and the digits.
An extension (``转 801``, ``ext. 801``, ``x801``, ``#801`` or a trailing ``-801`` after a
complete landline) is split off: the switchboard number is what rings.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from callcenter.cti.refusal import Refusal

Kind = Literal["mobile", "landline", "local", "service", "international"]

_EXTENSION = re.compile(r"(?:转|分机|ext\.?|extension|x|#)\s*(\d{1,6})\s*$", re.IGNORECASE)
_SEPARATORS = re.compile(r"[\s\-.()（）/]+")


class PhoneError(Refusal):
    """Not something a phone can dial; ``en`` and ``zh`` say what is wrong (``str()`` is
    the English, as the owner importer reports it)."""


@dataclass(frozen=True)
class Phone:
    key: str
    kind: Kind
    extension: str = ""


def _national(digits: str, default_area_code: str) -> Phone | None:
    """Classify digits that carry no country prefix any more; None when they fit nothing."""
    n = len(digits)
    if n == 11 and digits[0] == "1" and digits[1] in "3456789":
        return Phone(digits, "mobile")
    if n == 12 and digits[:2] == "01" and digits[2] in "3456789":
        return Phone(digits[1:], "mobile")  # trunk prefix 0 before a mobile
    if digits[0] == "0" and digits[1:2] != "0" and 10 <= n <= 12:
        return Phone(digits, "landline")
    if n == 10 and digits[:3] in ("400", "800"):
        return Phone(digits, "service")
    if (5 <= n <= 6 and digits[:2] == "95") or (3 <= n <= 5 and digits[0] == "1"):
        return Phone(digits, "service")
    if n in (7, 8) and digits[0] not in "01":
        if default_area_code:
            return Phone(f"0{default_area_code}{digits}", "landline")
        return Phone(digits, "local")
    return None


def normalize(raw: str, *, default_area_code: str = "") -> Phone:
    """The canonical key of ``raw``; raises PhoneError naming the problem."""
    text = unicodedata.normalize("NFKC", raw).strip()
    if not text:
        raise PhoneError("enter a phone number", "请输入号码")
    extension = ""
    marker = _EXTENSION.search(text)
    if marker is not None and marker.start() > 0:
        extension = marker.group(1)
        text = text[: marker.start()].strip()
    plus = text.startswith("+")
    groups = [g for g in _SEPARATORS.split(text.lstrip("+")) if g]
    if not groups or not all(g.isdigit() for g in groups):
        bad = next((c for c in text if not (c.isdigit() or c in "+-.()（）/ ")), "?")
        raise PhoneError(f"unexpected character {bad!r} in a phone number", f"号码中不能有“{bad}”")
    digits = "".join(groups)
    if plus or digits.startswith("00"):
        digits = digits if plus else digits[2:]
        if not digits.startswith("86"):
            if not 7 <= len(digits) <= 15:
                raise PhoneError(
                    f"an international number has 7-15 digits, got {len(digits)}",
                    f"国际号码应为 7-15 位数字，这里是 {len(digits)} 位",
                )
            return Phone("+" + digits, "international", extension)
        digits = digits[2:]
        mobile = len(digits) == 11 and digits[0] == "1"
        service = len(digits) == 10 and digits[:3] in ("400", "800")
        if digits and not (mobile or service) and digits[0] != "0":
            digits = "0" + digits  # +86 21 … is 021 … at home (and +86 10 … is 010 …)
    elif len(digits) == 13 and digits.startswith("861"):
        digits = digits[2:]
    if not digits:
        raise PhoneError("no digits after the country code", "国家代码后面没有号码")
    # "021-61234567-801": a trailing short group after a complete landline is an extension.
    if not extension and len(groups) >= 2 and len(groups[-1]) <= 5:
        head = "".join(groups[:-1])
        if plus or head.startswith("00"):
            head = ""
        found = _national(head, default_area_code) if head else None
        if found is not None and found.kind in ("landline", "local"):
            return Phone(found.key, found.kind, groups[-1])
    found = _national(digits, default_area_code)
    if found is None:
        raise PhoneError(
            f"not a Chinese phone number: {len(digits)} digits ({digits[:3]}…)",
            f"不是有效的国内号码（{len(digits)} 位，{digits[:3]}…）",
        )
    return Phone(found.key, found.kind, extension)


def lookup_key(raw: str, *, default_area_code: str = "") -> str | None:
    """The key of a caller ID as a PBX presents it; None for anonymous or odd ones."""
    try:
        return normalize(raw, default_area_code=default_area_code).key
    except PhoneError:
        return None
