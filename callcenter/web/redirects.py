"""Where to send someone after sign-in (pure): a path on this site, or the home page.

A browser reads ``//host/x`` and ``/\\host/x`` as another site. Attackers dress these up
so that a check on the raw text passes and something later makes them dangerous again:
tab, CR and LF are dropped from a URL by browsers and by aiohttp when it writes the
Location header (``/\\t/evil`` becomes ``//evil``), and a percent-encoded ``%2F`` or ``%5C``
turns into ``/`` or ``\\`` wherever the value is decoded once more. So the value is refused
when it, or any percent-decoding of it, holds a control character, whitespace or a
backslash, or does not start with exactly one ``/``. (Only a decoded plain space is let
through: ``?agent=Agent%201001`` is a real link, and a space cannot make a path another
site's.)
"""

from __future__ import annotations

import unicodedata
from urllib.parse import unquote

MAX_LENGTH = 2048
MAX_DECODINGS = 4  # %252F needs two; more than a few is an attack, not a link


def _dangerous_char(char: str) -> bool:
    # Cc: control characters (tab, CR, LF...); Cf: invisible format characters;
    # Zs/Zl/Zp: every kind of space, which browsers may strip or fold.
    return char == "\\" or unicodedata.category(char) in {"Cc", "Cf", "Zs", "Zl", "Zp"}


def _is_local_path(text: str, *, decoded: bool) -> bool:
    return (
        text.startswith("/")
        and not text.startswith("//")
        and not any(_dangerous_char(c) for c in text if not (decoded and c == " "))
    )


def safe_next(value: str, default: str = "/seat") -> str:
    """``value`` when it is a path on this site in every decoding, else ``default``."""
    if not value or len(value) > MAX_LENGTH:
        return default
    text = value
    for round_ in range(MAX_DECODINGS):
        if not _is_local_path(text, decoded=round_ > 0):
            return default
        decoded = unquote(text)
        if decoded == text:
            return value
        text = decoded
    return default
