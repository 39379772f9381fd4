"""The next call does not take the agent's work, in a real browser (Debian's chromium via
Playwright) against the whole service and the PBX simulator over AMI.

张三 calls; the agent starts a work order and, after the hangup, a 需回电 wrap-up; then an
unknown number rings while both are half written. The agent finishes and submits them:
both are stored on 张三's call and owner, nothing on the new call, and the forms said whose
call they were for all along. 张三's pop stays through the wrap-up until the agent closes it. Walked in Chinese at 1280 px and in English at 1024 px.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest
from browser import CHROMIUM, CHROMIUM_ARGS, playwright_api, require_chromium
from cti_fixtures import PASSWORD, add_users
from service_fixtures import service_settings
from sqlalchemy import select
from test_cti_http import HEADER, OWNER_ROWS

from callcenter.core.events import AgentAnswered, AgentRinging, Event
from callcenter.core.i18n import Lang
from callcenter.cti.i18n import catalogue
from callcenter.cti.importer import parse_rows
from callcenter.cti.store import dispositions_table
from callcenter.routing.sync import ScaledClock
from callcenter.service import Service
from callcenter.sim import QueueConfig, TrafficParams
from callcenter.sim.config import Member
from callcenter.sim.runner import PbxSimulator
from callcenter.sim.traffic import TrafficModel
from callcenter.testing import running_simulator

if TYPE_CHECKING:
    from playwright.async_api import Locator, Page

ZHANG = "13812345678"  # owner 1: 张三, 3栋-2单元-1201
HOTLINE = "4008001000"
ZONE = "Asia/Shanghai"
# Every call goes to alice's queue, waits as long as it takes and talks until the agent
# hangs up: the test, not the clock, decides when each step happens.
TRAFFIC = TrafficParams(
    peak_calls_per_hour=36_000,
    menu_choices={"1": 1.0},
    ivr_hangup_prob=0.0,
    ivr_seconds=(1.0, 1.0),
    patience_mean_s=10**7,
    handle_median_s=10**6,
    handle_sigma=0.0,
    answer_delay_s=(0.5, 0.5),
    no_answer_prob=0.0,
)
QUEUE = QueueConfig("support", [Member("PJSIP/1001", "Agent 1001")], ring_timeout=60.0,
                    max_wait=10**6, wrapuptime=0)  # fmt: skip


def seed_where_zhang_calls_then_a_stranger() -> int:
    for seed in range(1, 1000):
        model = TrafficModel(TRAFFIC, [HOTLINE], seed=seed, recorded_fraction=0.0,
                             timezone=ZONE, caller_numbers=(ZHANG,), unknown_caller_fraction=0.5)  # fmt: skip
        if model.plan(0, 0.0).caller == ZHANG and model.plan(1, 0.0).caller != ZHANG:
            return seed
    raise AssertionError("no seed gives 张三 then an unknown caller")


async def until(condition: Callable[[], bool], what: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        await asyncio.sleep(0.05)


@dataclass
class Hotline:
    pbx: PbxSimulator
    service: Service
    seat_channels: dict[str, str] = field(default_factory=dict)  # call id -> seat's channel

    def on_event(self, event: Event) -> None:
        if isinstance(event, AgentRinging | AgentAnswered) and event.dest_channel:
            self.seat_channels[event.call_id] = event.dest_channel

    async def agent_hangs_up(self, call_id: str) -> None:
        await until(lambda: call_id in self.seat_channels, f"the seat's channel of {call_id}")
        channel = self.seat_channels[call_id]
        await self.service.actions.send_action({"Action": "Hangup", "Channel": channel})


@contextlib.asynccontextmanager
async def hotline(
    tmp_path: Path,
    callers: tuple[str, ...] = (ZHANG,),
    unknown_fraction: float = 0.5,
    line_class: type[Hotline] = Hotline,
    *,
    queues: Sequence[QueueConfig] = (QUEUE,),
    owner_rows: Sequence[Sequence[str]] = OWNER_ROWS,
) -> AsyncIterator[Hotline]:
    """The whole service on a simulated PBX whose hotline rings alice's seat, 张三 and 李四
    on file; by default 张三 calls first, then an unknown caller; ``queues`` may give the
    PBX more phones (bob's)."""
    seed = seed_where_zhang_calls_then_a_stranger() if unknown_fraction else 1
    async with running_simulator(
        tmp_path / "pbx", seed=seed, speed=4, secret="s",
        queues=list(queues), hotlines={HOTLINE: "support"}, menu_routes={"1": "support"},
        traffic=TRAFFIC, recorded_fraction=0.0, caller_numbers=callers,
        unknown_caller_fraction=unknown_fraction, timezone=ZONE,
    ) as pbx:  # fmt: skip
        # the service's PBX clock is the PBX's (the simulator's day), as on a real install
        service = Service(
            service_settings(tmp_path, pbx),
            managed_queues=set(),
            pbx_clock=ScaledClock(lambda: pbx.now, pbx.config.speed),
        )
        line = line_class(pbx, service)
        service.event_listeners.append(line.on_event)
        await service.start()
        try:
            add_users(service.cti.accounts)
            rows = [list(row) for row in owner_rows]
            await service.cti.directory.import_owners(parse_rows(HEADER, rows).records)
            yield line
        finally:
            await service.stop()


@contextlib.asynccontextmanager
async def seat_page(base: str, lang: Lang, width: int, login: str = "alice") -> AsyncIterator[Page]:
    """A user's (alice's) seat page in chromium, signed in and connected; no script error
    allowed. The browser is on UTC, the service on ``ZONE``: the page shows the service's."""
    async with playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(
                viewport={"width": width, "height": 900}, timezone_id="UTC"
            )
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            await page.goto(f"{base}/login?next=/seat")
            await page.fill("#login", login)
            await page.fill("#password", PASSWORD)
            async with page.expect_navigation():
                await page.click("button[type=submit]")
            await page.goto(f"{base}/seat?lang={lang}")
            await page.get_by_text(catalogue(lang)["connected"]).wait_for()
            yield page
            assert errors == []
        finally:
            await browser.close()


async def value(form: Locator, test_id: str) -> str:
    return await form.get_by_test_id(test_id).input_value()


@pytest.mark.parametrize(("lang", "width"), [("zh", 1280), ("en", 1024)])
async def test_work_for_one_caller_is_stored_on_their_call_when_the_next_one_rings(
    tmp_path: Path, lang: Lang, width: int
) -> None:
    require_chromium()
    text = catalogue(lang)
    async with hotline(tmp_path) as line:
        base = f"http://127.0.0.1:{line.service.web_port}"
        async with seat_page(base, lang, width) as page:
            # 张三 calls; alice answers; the page works on his call and says so.
            line.pbx.start_traffic(2)
            first = page.locator("[data-testid=pop][data-state=answered]")
            await first.get_by_text("张三").first.wait_for()
            key_a = await first.get_attribute("data-call")
            assert key_a is not None and key_a.startswith("main/")
            call_a = key_a.removeprefix("main/")
            seen = line.service.cti.hub.recent.at_seat("PJSIP/1001", "main", call_a)
            assert seen is not None
            started = datetime.fromtimestamp(seen.started_at, ZoneInfo(ZONE)).strftime("%H:%M:%S")
            zhang = "张三" + text["unit_in_parens"].format(unit="3栋-2单元-1201")
            a_is = f"{zhang} · {text['call_at'].format(time=started)}"
            work_a = page.locator(f'[data-testid=workspace][data-call="{key_a}"]')
            wrap_a = work_a.get_by_test_id("wrapup-form")
            await work_a.get_by_test_id("order-for").get_by_text(a_is).wait_for()

            # Half a work order, a pause for the write-up, then alice hangs up.
            await work_a.get_by_test_id("order-kind").select_option("complaint")
            await work_a.get_by_test_id("order-description").fill("楼上漏水，")
            await page.get_by_test_id("toggle-pause").click()
            await page.get_by_test_id("status").get_by_text(text["paused"]).wait_for()
            await line.agent_hangs_up(call_a)
            card_a = page.locator(f'[data-testid=pop][data-call="{key_a}"]')
            await card_a.get_by_text(text["wrapup_pending"]).wait_for()
            await wrap_a.get_by_test_id("wrapup-for").get_by_text(a_is).wait_for()
            await wrap_a.get_by_test_id("disposition").select_option("callback")  # 需回电
            await wrap_a.get_by_test_id("disp-note").fill("业主要求明天")

            # Ready again: the stranger rings while A's forms are half written.
            await page.get_by_test_id("toggle-pause").click()
            card_b = page.locator(f'[data-testid=pop]:not([data-call="{key_a}"])')
            await card_b.get_by_test_id("new-caller").wait_for()
            key_b = await card_b.get_attribute("data-call")
            assert key_b is not None
            work_b = page.locator(f'[data-testid=workspace][data-call="{key_b}"]')
            assert await work_a.is_visible() and not await work_b.is_visible()
            await work_a.get_by_test_id("order-for").get_by_text(a_is).wait_for()
            assert await value(work_a, "order-description") == "楼上漏水，"
            assert await value(wrap_a, "disposition") == "callback"
            assert await value(wrap_a, "disp-note") == "业主要求明天"
            overflow = await page.evaluate("document.documentElement.scrollWidth - innerWidth")
            assert overflow <= 0, f"{overflow} px wider than the {width} px window"

            # A look at B and back: each call keeps what was typed for it.
            await card_b.get_by_test_id("work-on").click()
            await work_b.get_by_test_id("work-for").get_by_text(text["unknown_caller"]).wait_for()
            assert await value(work_b, "order-description") == ""
            await work_b.get_by_test_id("order-description").fill("陌生来电咨询")
            await card_a.get_by_test_id("work-on").click()
            await work_a.wait_for(state="visible")
            assert not await work_b.is_visible()
            assert await value(work_a, "order-description") == "楼上漏水，"

            # Finish and submit both: they go on A; A leaves, B's workspace shows.
            await wrap_a.get_by_test_id("disp-note").fill("业主要求明天上午回电")
            await wrap_a.get_by_test_id("save-disposition").click()
            await wrap_a.get_by_test_id("wrapup-result").get_by_text(text["saved"]).wait_for()
            await work_a.get_by_test_id("order-description").fill("楼上漏水，请派维修工")
            await work_a.get_by_test_id("order-submit").click()
            created = text["order_created_for"].split("{id}")[0]
            notice = page.get_by_test_id("notice")
            await notice.filter(has_text=created).filter(has_text=a_is).wait_for()
            # A's pop stays through wrap-up until alice closes it; then B's workspace shows.
            await card_a.get_by_text(text["wrapup_done"]).wait_for()
            assert await work_a.is_visible()
            await card_a.get_by_test_id("close-call").click()
            await card_a.wait_for(state="detached")
            await work_a.wait_for(state="detached")
            await work_b.wait_for(state="visible")
            assert await value(work_b, "order-description") == "陌生来电咨询"
        records = line.service.cti.records
        orders = records.list_orders()
        d = dispositions_table.c
        with records.engine.connect() as connection:
            wrap_ups = connection.execute(select(d.call_id, d.user_login, d.disposition, d.note))
            stored = [tuple(w) for w in wrap_ups]
    assert [(o.call_id, o.owner_id, o.caller_number, o.kind, o.description) for o in orders] == [
        (call_a, 1, ZHANG, "complaint", "楼上漏水，请派维修工")
    ]
    assert stored == [(call_a, "alice", "callback", "业主要求明天上午回电")]  # nothing on B
    assert key_b.removeprefix("main/") != call_a
