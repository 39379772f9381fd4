"""The one shape of a request a cti rule turns down (pure).

Each rule module names its own subclass (``DialRefused``, ``SearchRefused``,
``CallbackError``) so callers catch exactly the refusals they expect; the http layer
answers any of them with the same bilingual error body.
"""

from __future__ import annotations


class Refusal(ValueError):
    """Refused: ``en`` and ``zh`` say why, ready for the error body."""

    def __init__(self, en: str, zh: str) -> None:
        super().__init__(en)
        self.en, self.zh = en, zh
