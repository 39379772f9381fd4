"""Debian's chromium driven by Playwright, for the browser tests.

Importing this module skips the importing test module when Playwright is missing (and
fails it instead when CALLCENTER_REQUIRE_SERVICES=1); ``require_chromium()`` does the same
for the browser itself.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from cti_fixtures import PASSWORD

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


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[Any]:
    """A launched Debian chromium (skipped, with the reason, when it is missing)."""
    require_chromium()
    async with playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


async def sign_in(page: Any, base: str, login: str, path: str = "/") -> None:
    """Open ``path`` signed out, and sign in as ``login`` on the page it leads to."""
    await page.goto(f"{base}{path}")
    await page.fill("#login", login)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
