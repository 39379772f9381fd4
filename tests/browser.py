"""Debian's chromium driven by Playwright, for the browser tests.

Importing this module skips the importing test module when Playwright is missing (and
fails it instead when CALLCENTER_REQUIRE_SERVICES=1); ``require_chromium()`` does the same
for the browser itself.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

REQUIRED = os.environ.get("CALLCENTER_REQUIRE_SERVICES") == "1"

if REQUIRED:
    import playwright.async_api as playwright_api
else:
    playwright_api = pytest.importorskip(
        "playwright.async_api", reason="needs the playwright package"
    )

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# No sandbox as root; no background traffic to hosts this machine cannot reach.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_chromium() -> None:
    if not Path(CHROMIUM).exists():
        reason = "needs Debian's chromium (apt-get install chromium)"
        if REQUIRED:
            pytest.fail(reason)
        pytest.skip(reason)


async def sign_in(page: Any, url: str, login: str, password: str) -> None:
    """Open ``url`` signed out, sign in on the page it sends to, and wait to be back."""
    await page.goto(url)
    await page.fill("#login", login)
    await page.fill("#password", password)
    await page.click("button[type=submit]")
    await page.wait_for_url(url)
