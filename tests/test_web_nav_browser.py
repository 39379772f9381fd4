"""Each role's home and the navigation bar in a real browser (Debian's chromium driven by
Playwright), against the whole service's web app: an agent lands at the seat, a supervisor
at the wallboard, an admin at the admin home; the bar shows only the pages the role may
open, marks the current one, switches language and signs out; a page the role may not open
and a page that does not exist come back as pages in the site's frame; the wallboard's TV
mode fits a wall screen, has no controls and names the queues; a supervisor walking every page sees no console error."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from browser import chromium, require_chromium, sign_in
from service_fixtures import service_settings, serving_service

# role -> (home path, the bar's links in order)
HOMES = {
    "alice": ("/seat", ["坐席", "录音"]),
    "sue": ("/wallboard", ["监控大屏", "报表", "录音"]),
    "ada": ("/admin", ["监控大屏", "报表", "录音", "管理"]),
}


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[str]:
    require_chromium()
    async with serving_service(service_settings(tmp_path)) as url:
        yield url


def watch_console(page: Any) -> list[str]:
    """Every console error and uncaught script error of ``page`` (refused sockets and
    failed requests are console errors in Chromium)."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return errors


async def nav_links(page: Any) -> list[str]:
    return [text.strip() for text in await page.locator("nav.site a[data-nav]").all_inner_texts()]


async def test_each_role_lands_at_its_home_with_its_own_links(site: str) -> None:
    async with chromium() as browser:
        for login, (home, links) in HOMES.items():
            context = await browser.new_context(viewport={"width": 1024, "height": 768})
            page = await context.new_page()
            errors = watch_console(page)
            await sign_in(page, site, login)
            await page.wait_for_url(f"{site}{home}")
            assert await nav_links(page) == links, login
            current = page.locator('nav.site a[aria-current="page"]')
            assert await current.get_attribute("href") == home
            assert await page.get_by_test_id("who").inner_text() == login.title()
            # the bar holds together at 1024 px: one row, nothing wider than the window
            box = await page.locator("nav.site").bounding_box()
            assert box is not None and box["width"] <= 1024 and box["height"] < 60, box
            assert errors == [], (login, errors)
            await context.close()


async def test_the_admin_home_links_the_admin_pages_and_switches_language(site: str) -> None:
    async with chromium() as browser:
        page = await browser.new_page()
        await sign_in(page, site, "ada")
        await page.wait_for_url(f"{site}/admin")
        hrefs = [
            await a.get_attribute("href") for a in await page.get_by_test_id("admin-link").all()
        ]
        assert {"/wallboard", "/reports", "/recordings", "/api/openapi.json"} <= set(hrefs)
        await page.get_by_test_id("other-lang").click()
        await page.locator("h1", has_text="Administration").wait_for()
        assert await nav_links(page) == ["Wallboard", "Reports", "Recordings", "Administration"]
        # the choice stays on the next page
        await page.locator("nav.site a[data-nav='/reports']").click()
        await page.wait_for_url(f"{site}/reports")
        assert await page.locator("html").get_attribute("lang") == "en"
        await page.get_by_test_id("sign-out").click()
        await page.wait_for_url(f"{site}/login")


async def test_refused_and_missing_pages_are_pages_in_the_frame(site: str) -> None:
    async with chromium() as browser:
        page = await browser.new_page()
        await sign_in(page, site, "alice")
        await page.wait_for_url(f"{site}/seat")
        reply = await page.goto(f"{site}/wallboard")
        assert reply is not None and reply.status == 403
        error = page.get_by_test_id("error")
        assert await error.get_attribute("data-status") == "403"
        await error.get_by_text("您的角色无权执行此操作").wait_for()
        assert await nav_links(page) == ["坐席", "录音"]  # still the agent's own bar
        await error.get_by_role("link").click()  # the way on: the agent's home
        await page.wait_for_url(f"{site}/seat")
        reply = await page.goto(f"{site}/no-such-page?lang=en")
        assert reply is not None and reply.status == 404
        await page.get_by_test_id("error").get_by_text("This address does not exist.").wait_for()
        assert await page.locator("html").get_attribute("lang") == "en"
        # /api stays JSON for programs, even asked by a browser
        reply = await page.goto(f"{site}/api/no-such-route")
        assert reply is not None and reply.status == 404
        assert (await reply.json())["error"]["code"] == "not_found"


async def test_a_supervisor_walks_every_page_without_a_console_error(site: str) -> None:
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1280, "height": 800})
        errors = watch_console(page)
        await sign_in(page, site, "sue")
        await page.wait_for_url(f"{site}/wallboard")
        await page.get_by_test_id("link").get_by_text("已连接").wait_for()
        for path in ("/reports", "/recordings", "/wallboard"):
            await page.locator(f"nav.site a[data-nav='{path}']").click()
            await page.wait_for_url(f"{site}{path}")
            current = page.locator('nav.site a[aria-current="page"]')
            assert await current.get_attribute("href") == path
        await page.get_by_test_id("link").get_by_text("已连接").wait_for()
        # a supervisor without a seat who opens the seat page: no socket refused
        await page.goto(f"{site}/seat")
        await page.get_by_test_id("seat").get_by_text("未绑定座席").wait_for()
        await page.get_by_test_id("notice").get_by_text("没有绑定坐席分机").wait_for()
        await page.wait_for_load_state("networkidle")
        assert errors == [], errors


# A busy floor: the widest numbers the tiles show, every queue and 31 agents on calls.
BUSY_FRAME = """async () => {
  const d = await (await fetch('/api/wallboard')).json();
  const queues = ['support', 'repair', 'complaint', 'zone-east', 'zone-west'];
  d.lines_in_use = 88; d.calls_in_ivr = 17; d.today.answer_rate = 0.875; d.hour.answer_rate = 1;
  d.today.service_level = 0.875; d.today.answered = 12345; d.today.offered = 13999;
  d.waiting = {}; d.queues = {};
  for (const q of queues) {
    d.waiting[q] = {waiting: 17, longest_wait_s: 1234};
    d.queues[q] = {waiting: 17, longest_wait_s: 1234, answer_rate: 0.875, service_level: 1};
  }
  d.agent_rows = [...Array(31).keys()].map((i) => ({interface: 'PJSIP/' + (1001 + i),
    name: '高秀英', state: 'on_call', since: d.at - 3725, queue: queues[i % 5], reason: ''}));
  render(d);
}"""

# What overlaps or scrolls: a tile value wider than its tile, a header on two lines, a
# page taller than the screen, on the wall screen an agent left out.
LAYOUT_FAULTS = """() => {
  const faults = [];
  for (const v of document.querySelectorAll('.tile .value')) {
    const tile = v.closest('.tile').getBoundingClientRect();
    if (v.scrollWidth > v.clientWidth + 1 || v.getBoundingClientRect().right > tile.right)
      faults.push('tile ' + v.id + ' ' + v.textContent);
  }
  for (const th of document.querySelectorAll('th')) {
    const line = parseFloat(getComputedStyle(th).fontSize) * 1.6;
    if (th.offsetParent && th.getBoundingClientRect().height > line + 12)
      faults.push('header ' + th.textContent);
  }
  const card = document.getElementById('agents').closest('section').getBoundingClientRect();
  const rows = document.querySelectorAll('#agents tr');
  if (document.body.classList.contains('tv') && rows[rows.length - 1].getBoundingClientRect().bottom > card.bottom)
    faults.push('agents cut off');
  const root = document.scrollingElement;
  if (root.scrollHeight > innerHeight || root.scrollWidth > innerWidth)
    faults.push('scrolls ' + root.scrollWidth + 'x' + root.scrollHeight);
  return faults;
}"""


async def test_the_tv_mode_is_large_fits_the_screen_and_has_no_controls(site: str) -> None:
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1920, "height": 1080})
        errors = watch_console(page)
        await sign_in(page, site, "sue", "/wallboard?tv=1")
        await page.wait_for_url(f"{site}/wallboard?tv=1")
        await page.get_by_test_id("link").wait_for(state="attached")
        await page.get_by_test_id("lines-in-use").get_by_text("0 / 90").wait_for()
        assert await page.locator("nav.site").count() == 0
        assert not await page.get_by_test_id("my-phone").is_visible()
        assert not await page.get_by_test_id("tv-link").is_visible()
        assert await page.locator("button").count() == 0
        size = await page.get_by_test_id("lines-in-use").evaluate(
            "e => parseFloat(getComputedStyle(e).fontSize)"
        )
        assert size >= 48
        for width, height in ((1920, 1080), (1280, 800), (1024, 768)):
            await page.set_viewport_size({"width": width, "height": height})
            await page.evaluate(BUSY_FRAME)
            assert await page.evaluate(LAYOUT_FAULTS) == [], (width, height)
            # the answer rate's counts show whole, not cut off behind an ellipsis
            counts = page.locator("#s-rate-today")
            assert "12345 / 13999" in await counts.inner_text()
            assert await counts.evaluate("e => e.scrollWidth <= e.clientWidth"), width
        # queues by their names, in the table and in an agent's state
        queues = page.get_by_test_id("queues")
        await queues.get_by_text("咨询", exact=True).wait_for()
        await queues.get_by_text("东区片区", exact=True).wait_for()
        assert await queues.get_by_text("zone-east").count() == 0
        await page.get_by_test_id("agents").get_by_text("通话中 · 报修").first.wait_for()
        # what is on a call reads clearly on the dark screen (contrast against #182430)
        colour = await page.locator("tr[data-state=on_call] td.state").first.evaluate(
            "e => getComputedStyle(e).color"
        )
        assert colour == "rgb(124, 196, 255)"
        assert errors == [], errors


async def test_the_wallboard_headers_stand_apart_at_1024(site: str) -> None:
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1024, "height": 768})
        await sign_in(page, site, "sue", "/wallboard")
        await page.wait_for_url(f"{site}/wallboard")
        await page.get_by_test_id("link").get_by_text("已连接").wait_for()
        await page.evaluate(BUSY_FRAME)
        time_box = await page.locator("#h-time").bounding_box()
        reason_box = await page.locator("#h-reason").bounding_box()
        assert time_box is not None and reason_box is not None
        text_end = await page.locator("#h-time").evaluate(
            "e => { const r = document.createRange(); r.selectNodeContents(e); "
            "return r.getBoundingClientRect().right; }"
        )
        text_start = await page.locator("#h-reason").evaluate(
            "e => { const r = document.createRange(); r.selectNodeContents(e); "
            "return r.getBoundingClientRect().left; }"
        )
        assert text_start - text_end >= 16, (text_end, text_start)  # 持续 and 原因 apart
