"""Chinese (the default) and English: how a language is chosen and how a feature's texts
are looked up. Each feature keeps its own table of texts; the mechanism is this one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from aiohttp import web

Lang = Literal["zh", "en"]
LANG_COOKIE = "cc_lang"
LANG_COOKIE_MAX_AGE_S = 365 * 86400


def pick(lang: Lang, zh: str, en: str) -> str:
    return en if lang == "en" else zh


class Catalogue:
    """A table of texts, ``key: (Chinese, English)``; a text may hold ``{name}`` fields."""

    def __init__(self, texts: Mapping[str, tuple[str, str]]) -> None:
        self.texts = texts

    def text(self, lang: Lang, key: str, **values: object) -> str:
        zh, en = self.texts[key]
        chosen = pick(lang, zh, en)
        return chosen.format(**values) if values else chosen

    def all(self, lang: Lang) -> dict[str, str]:
        """Every text in one language, for the browser's script."""
        return {key: pick(lang, zh, en) for key, (zh, en) in self.texts.items()}


def request_lang(request: web.Request) -> Lang:
    """``?lang=`` first, then the language cookie; Chinese unless English is asked for."""
    chosen = request.query.get("lang") or request.cookies.get(LANG_COOKIE) or "zh"
    return "en" if chosen == "en" else "zh"


def remember_lang(request: web.Request, response: web.StreamResponse) -> None:
    """A language asked for with ``?lang=`` stays chosen on the next pages."""
    if request.query.get("lang") in ("zh", "en"):
        response.set_cookie(
            LANG_COOKIE,
            request.query["lang"],
            max_age=LANG_COOKIE_MAX_AGE_S,
            samesite="Lax",
            path="/",
        )
