"""Listening in from the wallboard at human speed, in a real browser (Debian's chromium
through Playwright) against the PBX simulator over AMI: the supervisor chooses their phone
once (it is remembered), moves the pointer onto an agent's listen button, and clicks 300 ms
later while the board keeps updating several times a second; the button is still there,
and the simulator sees the ChanSpy originate. And rows keep their places while the pointer
rests on the table."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiohttp import web
from browser import chromium, require_chromium, sign_in
from cti_fixtures import serving
from monitor_fixtures import MonitoredFloor

from callcenter.core.events import AgentStateChanged, ResyncCompleted
from callcenter.metrics.wallboard import WallboardHub, setup
from callcenter.telephony.ami import AmiClient
from callcenter.testing import running_simulator
from callcenter.web.headers import install as install_security_headers

PHONES = {"PJSIP/1011", "PJSIP/1012"}  # seats a supervisor may be rung on
HUMAN_PAUSE_MS = 300  # a person's hand: pointer on the button, then the click


@asynccontextmanager
async def busy_board(hub: WallboardHub, every_s: float = 0.1) -> AsyncIterator[None]:
    """Keep frames coming ten times a second, as on a busy floor (a harmless event arms
    a push each time)."""

    async def tick() -> None:
        while True:
            hub.on_event(ResyncCompleted(pbx="elsewhere", call_id="", at=time.time()))
            await asyncio.sleep(every_s)

    task = asyncio.get_running_loop().create_task(tick())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def hover_then_click_listen(page: Any, hub: WallboardHub) -> str:
    """Pointer onto the listen button of an agent on a call, 300 ms, click: the agent's
    seat, or "" when their call ended during the pause (the button went grey)."""
    row = page.locator(
        "tr[data-testid=agent-row][data-state=on_call]:not([data-interface='PJSIP/1012'])"
    ).first
    await row.wait_for(timeout=60_000)
    agent = await row.get_attribute("data-interface")
    assert agent
    button = page.locator(f"tr[data-interface='{agent}']").get_by_test_id("monitor-listen")
    async with busy_board(hub):
        handle = await button.element_handle()
        assert handle is not None
        await button.hover()
        before = await button.bounding_box()
        pushes = hub.pushes
        await page.wait_for_timeout(HUMAN_PAUSE_MS)  # the hand, not a wait
        assert hub.pushes >= pushes + 2  # the board kept updating meanwhile
        # the same button, in the same place, under the pointer
        assert await handle.evaluate("b => b.isConnected")
        assert await button.bounding_box() == before
        if await handle.evaluate("b => b.disabled"):
            return ""
        await page.mouse.down()
        await page.mouse.up()
    return agent


async def test_a_listen_click_at_human_speed_starts_a_spy(tmp_path: Path) -> None:
    require_chromium()
    floor = MonitoredFloor.build(tmp_path, push_delay_s=0.05)
    async with running_simulator(tmp_path / "pbx", seed=5, speed=10, secret="s") as pbx:
        ami = AmiClient("127.0.0.1", pbx.ami_port, "callcenter", "s", on_event=floor.on_message)
        await ami.start()
        app = web.Application()
        install_security_headers(app)
        floor.cti.routes(app)
        setup(app, floor.hub, ami=ami, audit=floor.cti.records.audit, seats=lambda: PHONES)
        try:
            async with serving(app) as base, chromium() as browser:
                page = await browser.new_page(viewport={"width": 1280, "height": 800})
                errors: list[str] = []
                page.on("pageerror", lambda error: errors.append(str(error)))
                await sign_in(page, base, "sue", "/wallboard")
                await page.wait_for_url(f"{base}/wallboard")
                await page.get_by_test_id("link").get_by_text("已连接").wait_for()
                await page.get_by_test_id("my-phone").select_option("PJSIP/1012")
                # the phone is remembered: chosen once, there after a reload
                await page.reload()
                assert await page.get_by_test_id("my-phone").input_value() == "PJSIP/1012"
                pbx.start_traffic(60)
                agent = ""
                for _attempt in range(5):  # a call that ends in the pause is no click
                    agent = await hover_then_click_listen(page, floor.hub)
                    if agent:
                        break
                assert agent, "every call ended while the pointer rested on listen"
                await (
                    page.get_by_test_id("monitor-result")
                    .get_by_text("正在呼叫您的话机")
                    .wait_for(timeout=30_000)
                )
                deadline = time.monotonic() + 60
                while not floor.spies and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
                assert floor.spies, "no ChanSpyStart from the PBX"
                assert floor.spies[0]["SpyerChannel"].startswith("PJSIP/1012-")
                assert floor.spies[0]["SpyeeChannel"].startswith(agent + "-")
                assert floor.originated[0]["Data"] == f"{agent},qE"
                assert errors == []
        finally:
            await ami.close()
    floor.engine.dispose()


def state(at: float, interface: str, name: str, new: str) -> AgentStateChanged:
    return AgentStateChanged(pbx="main", call_id="", at=at, agent=name, interface=interface,
                             state=new)  # fmt: skip


async def test_rows_do_not_move_under_the_pointer(tmp_path: Path) -> None:
    """An agent signing off or on while the pointer rests on the table changes no row's
    place: the one who left is greyed where they were, the newcomer waits until the
    pointer leaves; then the table takes its new shape."""
    floor = MonitoredFloor.build(tmp_path, push_delay_s=0.02)
    now = time.time()
    for n, name in enumerate(("A1", "B2", "C3")):
        floor.hub.on_event(state(now, f"PJSIP/100{n + 1}", name, "on_call"))
    app = web.Application()
    floor.cti.routes(app)
    setup(app, floor.hub, seats=lambda: PHONES)
    async with serving(app) as base, chromium() as browser:
        page = await browser.new_page(viewport={"width": 1280, "height": 800})
        await sign_in(page, base, "sue", "/wallboard")
        rows = page.locator("tr[data-testid=agent-row]")
        await page.locator("tr[data-interface='PJSIP/1003']").wait_for()
        listen = page.locator("tr[data-interface='PJSIP/1003']").get_by_test_id("monitor-listen")
        await listen.hover()
        before = await listen.bounding_box()
        floor.hub.on_event(state(now + 1, "PJSIP/1001", "A1", "offline"))  # above the pointer
        floor.hub.on_event(state(now + 1, "PJSIP/1000", "A0", "ready"))  # would sort first
        gone = page.locator("tr[data-interface='PJSIP/1001']")
        await gone.get_by_text("离线").wait_for()
        assert await gone.get_by_test_id("monitor-listen").is_disabled()
        assert await rows.evaluate_all("rs => rs.map((r) => r.dataset.interface)") == [
            "PJSIP/1001", "PJSIP/1002", "PJSIP/1003",
        ]  # fmt: skip
        assert await listen.bounding_box() == before
        await page.mouse.move(5, 5)  # the pointer leaves: the table takes its new shape
        await page.locator("tr[data-interface='PJSIP/1000']").wait_for()
        await gone.wait_for(state="detached")
        assert await rows.evaluate_all("rs => rs.map((r) => r.dataset.interface)") == [
            "PJSIP/1000", "PJSIP/1002", "PJSIP/1003",
        ]  # fmt: skip
    floor.engine.dispose()
