"""The wallboard in a real browser (Debian's chromium driven by Playwright): a supervisor
signs in, watches the lines figure move as calls come in, and sees the alert when the lines
reach 80 % of capacity. Skipped, with the reason, when Playwright or chromium is absent
(failing instead when CALLCENTER_REQUIRE_SERVICES=1)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from aiohttp import web
from browser import CHROMIUM, CHROMIUM_ARGS, playwright_api, require_chromium
from cti_fixtures import PASSWORD, add_users, serving, sqlite_engine

from callcenter.core.events import ChannelCreated
from callcenter.cti.feature import CtiFeature
from callcenter.metrics.kpis import Thresholds
from callcenter.metrics.live import LiveCounters
from callcenter.metrics.wallboard import WallboardHub, setup
from callcenter.web.headers import install as install_security_headers

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()


def created(n: int) -> ChannelCreated:
    return ChannelCreated(
        pbx="p",
        call_id=f"c{n}",
        channel_id=f"c{n}",
        at=NOW,
        channel="PJSIP/trunk-1",
        context="from-pstn",
    )


async def test_the_wallboard_moves_when_calls_come_in(tmp_path: Path) -> None:
    require_chromium()
    engine = sqlite_engine(tmp_path)
    cti = CtiFeature(engine)
    add_users(cti.accounts)
    live = LiveCounters(thresholds=Thresholds(line_capacity=5))
    hub = WallboardHub(live, clock=lambda: NOW)
    app = web.Application()
    install_security_headers(app)
    cti.routes(app)
    setup(app, hub)

    def feed(*events: ChannelCreated) -> None:
        for event in events:
            live.apply(event)
            hub.on_event(event)

    async with serving(app) as base, playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            await page.goto(f"{base}/wallboard")
            assert "/login" in page.url  # signed out: sent to the sign-in page
            await page.fill("#login", "sue")
            await page.fill("#password", PASSWORD)
            await page.click("button[type=submit]")
            await page.wait_for_url(f"{base}/wallboard")
            await page.get_by_test_id("link").get_by_text("已连接").wait_for()
            lines = page.get_by_test_id("lines-in-use")
            await lines.get_by_text("0 / 5").wait_for()
            await page.get_by_test_id("alerts").get_by_text("无告警").wait_for()
            feed(created(1), created(2))
            await lines.get_by_text("2 / 5").wait_for(timeout=60_000)
            feed(created(3), created(4))  # 4 of 5 lines: 80 %
            await lines.get_by_text("4 / 5").wait_for(timeout=60_000)
            assert "warn" in (await lines.get_attribute("class") or "")
            await page.get_by_test_id("alerts").get_by_text("线路占用 4/5").wait_for()
            assert errors == []
        finally:
            await browser.close()
    engine.dispose()
