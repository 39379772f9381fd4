"""QA scoring in Chromium is tied to the recording shown: the form names the recording it
scores, the confirmation stays while the list refreshes, and opening another recording
empties the form and names that one; the supervisor's own earlier sheet comes back when
they open its recording again. Then the QA history page shows the sheet per agent and
criterion."""

from __future__ import annotations

from typing import Any

from browser import CHROMIUM, CHROMIUM_ARGS, playwright_api, require_chromium
from test_recordings_http import client, rid, root, store  # noqa: F401 (fixtures)

from callcenter.recordings.store import RecordingStore


async def test_scores_go_to_the_recording_shown(client: Any, store: RecordingStore) -> None:  # noqa: F811
    require_chromium()
    http, _ = client
    base = str(http.make_url("")).rstrip("/")
    first = rid(store, "1795731524.1.wav")  # Agent 1001's call, 2 s long
    second = rid(store, "2026/11/27/1795735000.2.wav")  # Agent 1002's, 6 s long
    async with playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(
                extra_http_headers={"X-Test-User": "sup"}, viewport={"width": 1024, "height": 768}
            )
            page = await context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            await page.goto(f"{base}/recordings?lang=en")
            rows = page.locator("#rows tr")
            await rows.first.wait_for()
            assert await rows.count() == 4
            recording_a = rows.filter(has_text="2.0s")
            recording_b = rows.filter(has_text="6.0s")
            await recording_a.get_by_role("button").click()
            target = page.get_by_test_id("qa-target")
            await target.get_by_text(f"Scoring recording #{first} ").wait_for()
            for key, points in (("greeting", "9"), ("accuracy", "8"), ("courtesy", "10"),
                                ("resolution", "7")):  # fmt: skip
                await page.fill(f"#qa_{key}", points)
            await page.fill("#qa_comment", "polite, slow to resolve")
            await page.get_by_role("button", name="Save scores").click()
            status = page.get_by_test_id("qa-status")
            await status.get_by_text(f"Saved the scores of recording #{first}: 85.0").wait_for()
            # the list refreshes with the new score; the confirmation is still there
            await recording_a.get_by_text("85.0").wait_for()
            assert "85.0" in await status.inner_text()

            await recording_b.get_by_role("button").click()
            await target.get_by_text(f"Scoring recording #{second} ").wait_for()
            assert await page.locator("#qa").get_attribute("data-recording") == str(second)
            for key in ("greeting", "accuracy", "courtesy", "resolution", "comment"):
                assert await page.input_value(f"#qa_{key}") == ""
            assert await status.inner_text() == ""

            await recording_a.get_by_role("button").click()  # back to A: my sheet comes back
            await status.get_by_text("Your earlier scores").wait_for()
            assert await page.input_value("#qa_greeting") == "9"
            assert await page.input_value("#qa_comment") == "polite, slow to resolve"

            await page.get_by_test_id("qa-history-link").click()
            await page.wait_for_url(f"{base}/recordings/qa")
            await page.goto(f"{base}/recordings/qa?from=2026-11-01&to=2026-11-30&lang=en")
            table = page.get_by_test_id("qa-by-agent")
            # Agent 1001: one sheet, 85 %; greeting 9 of 10 is 90 %
            await table.get_by_text("Agent 1001").wait_for()
            cells = await table.locator("tr").nth(1).locator("td").all_inner_texts()
            assert cells == ["Agent 1001", "1", "85.0", "90.0", "80.0", "100.0", "70.0"]
            assert await page.evaluate("document.documentElement.scrollWidth") <= 1024
            assert errors == []
        finally:
            await browser.close()
