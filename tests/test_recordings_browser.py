"""The recordings page in Chromium under the service's Content-Security-Policy: its
inline script runs (it is admitted by its hash), lists the recordings (their times in the
service's timezone, whatever the browser's; their queues by name) and plays one
through a signed link, and the browser reports no policy violation."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from browser import CHROMIUM, CHROMIUM_ARGS, playwright_api, require_chromium
from test_recordings_http import client, root, store  # noqa: F401 (fixtures)


async def test_the_page_lists_and_plays_under_the_policy(client: Any) -> None:  # noqa: F811
    require_chromium()
    http, _ = client
    base = str(http.make_url("")).rstrip("/")
    async with playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            # a browser on UTC: the page still shows the service's zone (Asia/Shanghai)
            context = await browser.new_context(
                extra_http_headers={"X-Test-User": "sup"}, timezone_id="UTC"
            )
            page = await context.new_page()
            violations: list[str] = []
            page.on(
                "console",
                lambda m: (
                    violations.append(m.text) if "Content Security Policy" in m.text else None
                ),
            )
            response = await page.goto(f"{base}/recordings?lang=en")
            assert response is not None
            assert "script-src 'self' 'sha256-" in response.headers["content-security-policy"]
            await page.locator("#rows tr").first.wait_for()  # the inline script ran
            assert await page.locator("#rows tr").count() == 4
            listed = await (await page.request.get(f"{base}/api/recordings")).json()
            shanghai = ZoneInfo("Asia/Shanghai")
            expected = [
                datetime.fromtimestamp(r["recorded_at"], shanghai).strftime("%Y-%m-%d %H:%M:%S")
                for r in listed["recordings"]
            ]
            shown = await page.locator("#rows tr td:first-child").all_inner_texts()
            assert shown == expected
            # the queue by its name (the API keeps the code)
            await page.locator("#rows td", has_text="Repairs").wait_for()
            assert {r["queue"] for r in listed["recordings"]} >= {"repair"}
            await page.get_by_test_id("queue-filter").select_option(label="Repairs")
            await page.locator("#filters button").click()
            await page.locator("#status", has_text="1 found").wait_for()
            await page.locator("#rows tr", has_text="Repairs").wait_for()
            await page.locator("#rows button").first.click()
            # a selector, not wait_for_function: the policy (rightly) forbids its eval
            await page.locator("#player[src*='sig=']").wait_for(state="attached")
            assert violations == []
        finally:
            await browser.close()
