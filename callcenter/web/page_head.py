"""The head every signed-in HTML page opens with: its language, the CSRF token the page's
script sends back with each change, and its title, as ``__HTML_LANG__``, ``__CSRF__`` and
``__TITLE__`` markers for the page to fill in."""

from __future__ import annotations

from callcenter.core.i18n import Lang

PAGE_HEAD = """<!doctype html>
<html lang="__HTML_LANG__"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="__CSRF__">
<title>__TITLE__</title>
"""


def html_lang(lang: Lang) -> str:
    """The page's ``lang`` attribute: the BCP 47 tag for the catalogue's language."""
    return "en" if lang == "en" else "zh-CN"
