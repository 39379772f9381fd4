"""Security headers on every response, pages, JSON, errors and streamed audio alike.

They are set in ``on_response_prepare``, not in a middleware: a middleware never sees an
``HTTPException`` raised past it, nor a ``StreamResponse`` its handler has already sent
(the recordings' audio), and both need the headers as much as a page does.

A page's Content-Security-Policy admits exactly the inline scripts it carries, by their
SHA-256 (computed from the HTML being sent), never ``'unsafe-inline'`` for scripts:
an injected ``<script>`` has another hash and does not run. Inline styles stay allowed
(the pages use ``style=`` attributes; a style cannot run code).
"""

from __future__ import annotations

import base64
import hashlib
import re

from aiohttp import web

# Every response: nothing may frame it, no plugins, no <base> elsewhere.
BASE_POLICY = (
    "default-src 'self'; object-src 'none'; base-uri 'self'; "
    "frame-ancestors 'none'; form-action 'self'"
)
_INLINE_SCRIPT = re.compile(
    r"<script(?P<attrs>(?:\s[^>]*)?)>(?P<body>.*?)</script>", re.DOTALL | re.IGNORECASE
)
_NOT_JAVASCRIPT = re.compile(r"""\b(?:src|type\s*=\s*["']?application/json)""", re.IGNORECASE)


def script_hashes(page: str) -> list[str]:
    """The CSP source of each inline script in ``page`` (data blocks are not scripts)."""
    hashes = []
    for match in _INLINE_SCRIPT.finditer(page):
        if _NOT_JAVASCRIPT.search(match.group("attrs")):
            continue
        digest = hashlib.sha256(match.group("body").encode()).digest()
        hashes.append(f"'sha256-{base64.b64encode(digest).decode()}'")
    return sorted(set(hashes))


def page_policy(page: str) -> str:
    """The policy of one HTML page: its own inline scripts, its websockets and fetches to
    this site, inline styles, images from here or data: URLs (the wallboard's charts)."""
    scripts = " ".join(["'self'", *script_hashes(page)])
    return (
        f"{BASE_POLICY}; script-src {scripts}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'"
    )


def security_headers(response: web.StreamResponse) -> dict[str, str]:
    """The headers ``response`` gets, where it does not set them itself."""
    headers = {
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        # same-origin, not no-referrer: browsers then send "Origin: null" on our own forms,
        # and the CSRF origin check must see the real origin.
        "Referrer-Policy": "same-origin",
        "Cache-Control": "no-store",
        "Content-Security-Policy": BASE_POLICY,
    }
    if response.content_type == "text/html" and isinstance(response, web.Response):
        body = response.body
        if isinstance(body, bytes | bytearray):
            page = bytes(body).decode(response.charset or "utf-8", errors="replace")
            headers["Content-Security-Policy"] = page_policy(page)
    return headers


async def _add_headers(_request: web.Request, response: web.StreamResponse) -> None:
    for name, value in security_headers(response).items():
        response.headers.setdefault(name, value)


def install(app: web.Application) -> None:
    """Every response of ``app`` carries the security headers."""
    app.on_response_prepare.append(_add_headers)
