"""The agent's desktop in a real browser (Debian's chromium via Playwright) against the whole
service and the PBX simulator over AMI: a blind transfer from the call's workspace moves the
call to bob's seat (the simulator sends what Asterisk sends; the tracker names bob), while
alice's pop stays for her wrap-up; an attended one (over HTTP) makes the call bob's once he
has answered and alice hangs up; and the header holds together in one row at 1280 and
1024 px, with the seat's label and every code in the page's language.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest
from browser import require_chromium
from cti_fixtures import client_for
from test_cti_browser_next_call import QUEUE, ZHANG, ZONE, hotline, seat_page, until

from callcenter.core.i18n import Lang
from callcenter.cti.i18n import catalogue
from callcenter.sim import QueueConfig
from callcenter.sim.config import Member

if TYPE_CHECKING:
    from playwright.async_api import Page

# bob's phone is in a queue no hotline reaches: only a transfer rings it
QUEUES = (QUEUE, QueueConfig("zone-east", [Member("PJSIP/1002", "Agent 1002")],
                             ring_timeout=60.0, max_wait=10**6, wrapuptime=0))  # fmt: skip
# 张三 lives in zone east; his housekeeper is Bob, who signs in at PJSIP/1002
OWNERS = [["A001", "张三", ZHANG, "3栋", "2单元", "1201", "east", "Bob", "是", "120", ""]]
# codes the server sends that must never reach a Chinese page as they are
RAW_CODES = re.compile(
    r"\b(answered|abandoned|short_abandon|callback|resolved|new|dispatched|on_time|due_soon|"
    r"overdue|east|west|ready|paused|on_call|wrap_up|ringing|offline|meal|repair|complaint)\b"
)


@pytest.mark.parametrize(
    ("lang", "width", "to"), [("zh", 1280, "seat"), ("en", 1024, "housekeeper")]
)
async def test_a_blind_transfer_moves_the_call_to_bob_and_alice_keeps_her_wrap_up(
    tmp_path: Path, lang: Lang, width: int, to: str
) -> None:
    require_chromium()
    text = catalogue(lang)
    async with hotline(tmp_path, queues=QUEUES, owner_rows=OWNERS) as line:
        await line.service.cti.refresh_housekeepers()  # Bob signed up after the start
        base = f"http://127.0.0.1:{line.service.web_port}"
        async with (
            seat_page(base, lang, width) as alice,
            seat_page(base, lang, width, login="bob") as bob,
        ):
            line.pbx.start_traffic(1)
            card = alice.locator("[data-testid=pop][data-state=answered]")
            await card.get_by_test_id("owner").get_by_text("张三").wait_for()
            key = await card.get_attribute("data-call")
            assert key is not None
            call_id = key.removeprefix("main/")
            work = alice.locator(f'[data-testid=workspace][data-call="{key}"]')
            transfer = work.get_by_test_id("transfer-form")
            target = transfer.get_by_test_id("transfer-target")
            await transfer.get_by_test_id("transfer-to").select_option("queue")
            queues = await target.locator("option").all_inner_texts()
            assert ("报修" if lang == "zh" else "Repairs") in queues and "repair" not in queues
            await transfer.get_by_test_id("transfer-to").select_option(to)
            if to == "seat":  # the other seats by their labels, never alice's own
                seats = await target.locator("option").all_inner_texts()
                assert "2号座席" in seats and "1号座席" not in seats
                await target.select_option(label="2号座席")
            else:  # the caller's housekeeper: nothing to pick
                assert await target.is_disabled()
            await transfer.get_by_test_id("transfer-mode").select_option("blind")
            await transfer.get_by_test_id("transfer-submit").click()
            done = text["xfer_blind_to"].format(target="2号座席")  # bob's seat by its label
            await alice.get_by_test_id("notice").filter(has_text=done).wait_for()

            # The call rings bob's seat and he has it, with its owner card.
            bobs = bob.locator(f'[data-testid=pop][data-call="{key}"][data-state=answered]')
            await bobs.get_by_test_id("owner").get_by_text("张三").wait_for()
            # alice's phone hung up; her pop stays, says what happened, and takes her wrap-up.
            alices = alice.locator(f'[data-testid=pop][data-call="{key}"][data-state=ended]')
            await alices.get_by_text(text["wrapup_pending"]).wait_for()
            await alices.get_by_text(done).wait_for()
            assert await transfer.is_hidden()  # nothing left to transfer
            wrap = work.get_by_test_id("wrapup-form")
            await wrap.get_by_test_id("disposition").select_option("resolved")
            await wrap.get_by_test_id("disp-note").fill("转给管家处理")
            await wrap.get_by_test_id("save-disposition").click()
            await alices.get_by_text(text["wrapup_done"]).wait_for()
            assert await work.is_visible()  # until alice closes it
            await alices.get_by_test_id("close-call").click()
            await work.wait_for(state="detached")

            # The tracker follows the call to bob; the transfer is in the call's history.
            tracker = line.service.trackers["main"]
            record = tracker.open_call(call_id)
            assert record is not None
            assert (record.agent, record.agent_interface) == ("Agent 1002", "PJSIP/1002")
        trail = line.service.cti.records.audit_trail(login="alice")
    (row,) = [r for r in trail if r["action"] == "transfer"]
    assert row["detail"] == f"main/{call_id} blind -> {to} " + (
        "1002" if to == "seat" else "PJSIP/1002"
    )
    assert row["owner_id"] == 1


async def _heights(page: Page, selector: str) -> list[float]:
    boxes = await page.eval_on_selector_all(
        selector, "els => els.map((e) => e.getBoundingClientRect().height)"
    )
    return [float(height) for height in boxes]


@pytest.mark.parametrize(("lang", "width"), [("zh", 1280), ("zh", 1024), ("en", 1024)])
async def test_the_header_is_one_row_and_the_page_speaks_its_language(
    tmp_path: Path, lang: Lang, width: int
) -> None:
    require_chromium()
    text = catalogue(lang)
    async with hotline(tmp_path, queues=QUEUES, owner_rows=OWNERS) as line:
        base = f"http://127.0.0.1:{line.service.web_port}"
        async with seat_page(base, lang, width) as page:
            # One call from 张三 (zone east), a work order on it, a meal break, the hangup.
            line.pbx.start_traffic(1)
            card = page.locator("[data-testid=pop][data-state=answered]")
            await card.get_by_test_id("owner").get_by_text("张三").wait_for()
            key = await card.get_attribute("data-call")
            assert key is not None
            work = page.locator(f'[data-testid=workspace][data-call="{key}"]')
            # Another feature's part fills its slot in each call's workspace.
            await page.evaluate(
                "seatDesk.onWorkspace((w) => { if (w.key) w.slots.callback.textContent = "
                "'part for ' + w.callId; })"
            )
            slot = work.locator("[data-slot=callback]")
            assert await slot.inner_text() == f"part for {key.removeprefix('main/')}"
            await work.get_by_test_id("order-kind").select_option("repair")
            due = datetime.now(ZoneInfo(ZONE)) + timedelta(days=2)
            await work.locator("input[name=due]").fill(due.strftime("%Y-%m-%dT%H:%M"))
            await work.get_by_test_id("order-description").fill("厨房漏水")
            await work.get_by_test_id("order-submit").click()
            await page.get_by_test_id("orders").get_by_text(text["wo_new"]).wait_for()
            await page.get_by_test_id("pause-reason").select_option("meal")
            await page.get_by_test_id("toggle-pause").click()
            await line.agent_hangs_up(key.removeprefix("main/"))
            ended = page.locator(f'[data-testid=pop][data-call="{key}"][data-state=ended]')
            await ended.get_by_text(text["wrapup_pending"]).wait_for()
            # A reload during the wrap-up brings the call's card and workspace back, paused.
            await page.reload()
            await page.get_by_text(text["connected"]).wait_for()
            await ended.get_by_text(text["wrapup_pending"]).wait_for()
            await work.get_by_test_id("wrapup-form").wait_for()
            await page.get_by_test_id("status").get_by_text(text["paused"]).wait_for()
            store = line.service.store
            call_id = key.removeprefix("main/")
            await until(lambda: store.get_call("main", call_id) is not None, "the call stored")
            await page.evaluate("loadToday(); loadDay()")
            today = page.get_by_test_id("today")
            await today.get_by_text(text["outcome_answered"]).wait_for()
            day = page.get_by_test_id("day")
            await day.get_by_test_id("day-calls-taken").get_by_text("1").wait_for()
            paused = f"{text['state_paused']} · {text['reason_meal']}"
            await day.get_by_test_id("day-state").get_by_text(paused).wait_for()
            await day.get_by_test_id("day-pause").wait_for()

            # The header: the seat's label, one row, nothing wrapped, the select narrow.
            assert await page.get_by_test_id("seat").inner_text() == "1号座席"
            await page.screenshot(path=str(tmp_path / f"seat-{lang}-{width}.png"), full_page=True)
            (header,) = await _heights(page, "header")
            parts = await _heights(page, "header > *")
            assert header <= 56, f"the header is {header} px high: it wrapped"
            assert max(parts) <= 36, f"a header element is {max(parts)} px high: it wrapped"
            middles = await page.eval_on_selector_all(
                "header > *",
                "els => els.map((e) => e.getBoundingClientRect())"
                ".filter((r) => r.height > 0).map((r) => r.top + r.height / 2)",
            )
            assert max(middles) - min(middles) <= 4, "the header's elements are not on one row"
            select = await page.get_by_test_id("pause-reason").bounding_box()
            assert select is not None and select["width"] <= 160
            for name in ("link", "toggle-pause"):
                box = await page.get_by_test_id(name).bounding_box()
                assert box is not None and box["height"] <= 36, name
            overflow = await page.evaluate("document.documentElement.scrollWidth - innerWidth")
            assert overflow <= 0, f"{overflow} px wider than the {width} px window"
            assert (tmp_path / f"seat-{lang}-{width}.png").stat().st_size > 10_000
            # One more link (a navigation bar's) still fits in the row.
            await page.evaluate(
                "document.querySelector('header .grow').before(Object.assign("
                "document.createElement('a'), {href: '/wallboard', textContent: '监控大屏 Wallboard'}))"
            )
            (header,) = await _heights(page, "header")
            assert header <= 56 and max(await _heights(page, "header > *")) <= 36
            overflow = await page.evaluate("document.documentElement.scrollWidth - innerWidth")
            assert overflow <= 0, f"{overflow} px wider with one more link"

            # No code of the server's shows as it is on the Chinese page.
            body = await page.inner_text("body")
            if lang == "zh":
                assert RAW_CODES.findall(body) == []
                assert "东区" in body  # the zone by its name in config/agents.yaml
            else:
                assert "East" in body and "Answered" in body


async def test_an_attended_transfer_from_the_seat_moves_the_call_to_bob_when_alice_hangs_up(
    tmp_path: Path,
) -> None:
    """Over HTTP (no browser): alice asks for an attended transfer to bob's seat; the PBX
    holds the caller and calls bob; bob answers, alice hangs up, and the call is bob's."""
    async with hotline(tmp_path, queues=QUEUES, owner_rows=OWNERS) as line:
        base = f"http://127.0.0.1:{line.service.web_port}"
        tracker = line.service.trackers["main"]
        async with client_for(base, "alice") as alice:
            line.pbx.start_traffic(1)
            await until(lambda: bool(line.seat_channels), "alice's phone to ring")
            (call_id,) = line.seat_channels

            def talks_at(seat: str) -> Callable[[], bool]:
                def talking() -> bool:
                    record = tracker.open_call(call_id)
                    return record is not None and any(
                        leg.channel.startswith(f"{seat}-") and leg.answered_at is not None
                        for leg in record.legs
                    )

                return talking

            await until(talks_at("PJSIP/1001"), "alice to answer")
            body = {"pbx": "main", "call_id": call_id, "mode": "attended", "to": "seat",
                    "target": "1002"}  # fmt: skip
            status, reply = await alice.post_json("/api/seat/transfer", body)
            assert status == 202, reply
            await until(talks_at("PJSIP/1002"), "bob to answer alice's call")
            record = tracker.open_call(call_id)
            assert record is not None and record.agent == "Agent 1001"  # still alice's
            await line.agent_hangs_up(call_id)

            def bobs() -> bool:
                record = tracker.open_call(call_id)
                return record is not None and record.agent == "Agent 1002"

            await until(bobs, "the call to be bob's")
            record = tracker.open_call(call_id)
            assert record is not None and record.agent_interface == "PJSIP/1002"
            assert record.ended_at is None  # the caller talks on with bob
