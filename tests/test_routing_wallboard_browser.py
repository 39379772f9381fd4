"""The staffing banner in a real browser (Debian's chromium through Playwright): a
supervisor watching the wallboard sees it appear when the seats working fall below a
minimum, named as people call the rule, its count following the seats working, and
disappear when the rule is met again."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web
from browser import CHROMIUM, CHROMIUM_ARGS, playwright_api, require_chromium
from cti_fixtures import PASSWORD, add_users, serving, sqlite_engine
from routing_fixtures import at

from callcenter.core.events import StaffingBelowMinimum
from callcenter.cti.feature import CtiFeature
from callcenter.metrics.kpis import Thresholds
from callcenter.metrics.live import LiveCounters
from callcenter.metrics.wallboard import WallboardHub, setup
from callcenter.web.headers import install as install_security_headers

NOW = at("2026-12-01T03:00")


def staffing(below: bool, have: int) -> StaffingBelowMinimum:
    return StaffingBelowMinimum(pbx="main", call_id="", at=NOW, rule="night", have=have,
                                need=2, below=below, title_zh="夜班 21:00-08:00",
                                title_en="Night shift 21:00-08:00")  # fmt: skip


async def test_the_staffing_banner_shows_and_clears(tmp_path: Path) -> None:
    require_chromium()
    engine = sqlite_engine(tmp_path)
    cti = CtiFeature(engine)
    add_users(cti.accounts)
    hub = WallboardHub(LiveCounters(thresholds=Thresholds(line_capacity=5)), clock=lambda: NOW)
    app = web.Application()
    install_security_headers(app)
    cti.routes(app)
    setup(app, hub)
    async with serving(app) as base, playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            await page.goto(f"{base}/login?next=/wallboard")
            await page.fill("#login", "sue")
            await page.fill("#password", PASSWORD)
            await page.click("button[type=submit]")
            await page.wait_for_url(f"{base}/wallboard")
            await page.get_by_test_id("link").get_by_text("已连接").wait_for()
            banner = page.get_by_test_id("staffing-banner")
            assert not await banner.is_visible()
            hub.on_event(staffing(True, 1))
            await banner.get_by_text(
                "人手不足：夜班 21:00-08:00 需要至少 2 个坐席在线，当前 1 个"
            ).wait_for(timeout=60_000)
            assert await banner.get_attribute("role") == "alert"
            hub.on_event(staffing(True, 0))  # one more seat gone: the count follows
            await banner.get_by_text("当前 0 个").wait_for(timeout=60_000)
            hub.on_event(staffing(False, 2))
            await banner.wait_for(state="hidden", timeout=60_000)
            await page.get_by_test_id("alerts").get_by_text("无告警").wait_for()
            assert errors == []
        finally:
            await browser.close()
    engine.dispose()
