"""In a real browser (Debian's chromium driven by Playwright): sign in, receive a pop,
raise a work order from it. Skipped, with the reason, when Playwright or chromium is absent."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web
from browser import CHROMIUM, CHROMIUM_ARGS, playwright_api, require_chromium
from cti_fixtures import PASSWORD, add_users, serving, sqlite_engine
from test_cti_http import HEADER, OWNER_ROWS, ring

from callcenter.cti.feature import CtiFeature
from callcenter.cti.importer import parse_rows


async def test_sign_in_receive_a_pop_and_raise_a_work_order(tmp_path: Path) -> None:
    require_chromium()
    engine = sqlite_engine(tmp_path)
    cti = CtiFeature(engine)
    add_users(cti.accounts)
    await cti.directory.import_owners(parse_rows(HEADER, OWNER_ROWS).records)
    await cti.start()
    app = web.Application()
    cti.setup_web(app)
    async with serving(app) as base, playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            await page.goto(f"{base}/seat")
            assert "/login" in page.url  # signed out: sent to the sign-in page
            await page.fill("#login", "alice")
            await page.fill("#password", PASSWORD)
            await page.click("button[type=submit]")
            await page.wait_for_url(f"{base}/seat")
            await page.get_by_text("已连接").wait_for()  # the seat's websocket is up
            for event in ring("1800000000.9", "13812345678", "PJSIP/1001"):
                cti.on_event(event)
            pop = page.get_by_test_id("pop")
            await pop.get_by_text("张三").wait_for()
            assert await pop.get_attribute("data-state") == "ringing"
            assert "3栋-2单元-1201" in await pop.inner_text()
            await page.select_option("[data-testid=order-kind]", "repair")
            await page.fill("[data-testid=order-description]", "厨房水管漏水")
            await page.click("[data-testid=order-submit]")
            await page.get_by_test_id("order-result").get_by_text("工单已创建").wait_for()
        finally:
            await browser.close()
    orders = cti.records.list_orders()
    assert len(orders) == 1
    order = orders[0]
    assert (order.kind, order.owner_id, order.created_by) == ("repair", 1, "alice")
    assert (order.caller_number, order.call_id, order.description) == (
        "13812345678",
        "1800000000.9",
        "厨房水管漏水",
    )
    await cti.stop()
    engine.dispose()
