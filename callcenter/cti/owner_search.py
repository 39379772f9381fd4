"""Owner search by name, unit or number (pure: walks the owners it is given).

A search is a deliberate look into the directory, not a screen-pop: what it returns is a
summary to recognise the right owner by (name, units, zone, the numbers' last four
digits), never arrears or notes; the full record is opened one owner at a time through
``/api/owners/{id}`` with its own audit line. Who may search and how often:
``callcenter.cti.owner_access`` (decision 0036).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from callcenter.cti.owners import Owner
from callcenter.cti.phones import lookup_key
from callcenter.cti.refusal import Refusal
from callcenter.log import mask_number

QUERY_MIN = 2  # letters or digits: one alone matches nearly every owner
# One Chinese character is a surname (张, 王): what a caller gives first. It may list many
# owners, but the result is cut at cti.owner_search_max and says so (``more``).
QUERY_MAX = 64


class SearchRefused(Refusal):
    """A search the rules turn down (too short, too long)."""


@dataclass(frozen=True)
class SearchResult:
    owners: list[Owner]
    more: bool  # more owners matched than were returned


def _is_han(char: str) -> bool:
    """A Chinese character (CJK unified ideographs and extension A)."""
    return "\u4e00" <= char <= "\u9fff" or "\u3400" <= char <= "\u4dbf"


def clean_query(raw: str) -> str:
    """The query as searched (spaces folded, at most QUERY_MAX characters); refused, in
    words for the agent, when it is empty or one letter or digit."""
    query = " ".join("".join(c for c in raw if c.isprintable()).split())
    if not query:
        raise SearchRefused(
            "Type a name, unit or phone number to search for", "请输入要查找的姓名、房号或号码"
        )
    if len(query) < QUERY_MIN and not _is_han(query):
        raise SearchRefused(
            f"Type at least {QUERY_MIN} letters or digits, or one Chinese character",
            f"请至少输入 {QUERY_MIN} 个字母或数字，或一个汉字（如姓氏）",
        )
    return query[:QUERY_MAX]


def _matches(owner: Owner, text: str, digits: str, key: str | None) -> bool:
    if text in owner.search_text or text == owner.code.casefold():
        return True
    if key is not None and f"\n{key}\n" in owner.phone_keys_text:
        return True
    return len(digits) >= 4 and f"{digits}\n" in owner.phone_keys_text


def search_owners(
    owners: Iterable[Owner],
    query: str,
    *,
    limit: int,
    default_area_code: str = "",
    by_number: Callable[[str], Sequence[Owner]] | None = None,
) -> SearchResult:
    """Owners whose name or unit contains ``query``, whose code is it, or whose number is
    it (any common spelling) or ends with its digits (4 or more); exact names first.
    ``by_number``: the index's number lookup, asked instead of walking every owner when
    the query is a whole number (10 digits or more once normalised)."""
    text = query.casefold()
    digits = query if query.isdigit() else ""
    key = lookup_key(query, default_area_code=default_area_code)
    if by_number is not None and key is not None and len(key) >= 10:
        found = list(by_number(query))
        return SearchResult(found[:limit], more=len(found) > limit)
    found = [o for o in owners if _matches(o, text, digits, key)]
    found.sort(key=lambda o: (o.name.casefold() != text, o.id))
    return SearchResult(found[:limit], more=len(found) > limit)


def summary(owner: Owner) -> dict[str, Any]:
    """What a search shows of an owner: enough to tell them apart, no more."""
    return {
        "id": owner.id,
        "name": owner.name,
        "zone": owner.zone,
        "vip": owner.vip,
        "units": [u.label() for u in owner.units],
        "phones": [mask_number(p.key) for p in owner.phones],
    }
