"""Signed, short-lived playback links. Pure (the clock is passed in).

A link names the recording's path, the user it was issued to and when it expires, and
carries an HMAC-SHA256 of those over the secret from the settings. Anyone holding the
link can play that one file until it expires, which is what an ``<audio>`` element
needs; nobody can forge one for another file, another user or a later time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import quote

PLAY_PREFIX = "/recordings/play/"


class LinkError(ValueError):
    """A playback link is forged, tampered with or expired; ``code`` says which."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class LinkSigner:
    secret: bytes
    lifetime_s: float = 300.0

    @classmethod
    def from_settings(cls, secret: str, lifetime_s: float) -> LinkSigner:
        # No secret configured: a random one, so links die with the process.
        key = secret.encode() if secret else secrets.token_bytes(32)
        return cls(key, lifetime_s)

    def signature(self, path: str, login: str, expires: int) -> str:
        message = f"{path}\n{login}\n{expires}".encode()
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()

    def issue(self, path: str, login: str, now: float) -> tuple[str, int]:
        """The URL (path and query) to play ``path`` as ``login``, and its expiry."""
        expires = int(now + self.lifetime_s)
        query = (
            f"u={quote(login, safe='')}&exp={expires}&sig={self.signature(path, login, expires)}"
        )
        return f"{PLAY_PREFIX}{quote(path)}?{query}", expires

    def verify(self, path: str, login: str, expires: str, signature: str, now: float) -> None:
        if not expires.isdigit() or not signature:
            raise LinkError("malformed", "the playback link is incomplete")
        expected = self.signature(path, login, int(expires))
        if not hmac.compare_digest(expected, signature):
            raise LinkError("forged", "the playback link's signature does not match")
        if int(expires) < now:
            raise LinkError("expired", "the playback link has expired")
