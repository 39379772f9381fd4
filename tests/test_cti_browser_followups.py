"""Follow-up work at the seat, in a real browser (Debian's chromium via Playwright) against
the whole service and the PBX simulator over AMI.

- 张三 calls: the agent raises a work order and schedules a callback in the call's
  workspace; the callback appears in the due list, is dialled (the simulator places the
  call: the seat, then 张三's number over the trunk) and its results are recorded. The work
  order is dispatched to a department, finished, followed up (回访) and closed by the score.
- An unknown number calls: the agent finds 李四 by search and links the number to her;
  the next call from it pops as 李四.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from browser import require_chromium
from sqlalchemy import select
from test_cti_browser_next_call import ZHANG, ZONE, Hotline, hotline, seat_page, until

from callcenter.core.events import DialStarted, Event
from callcenter.core.i18n import Lang
from callcenter.cti.seat_followups import CATALOGUE
from callcenter.cti.store import dispositions_table

STRANGER = "13700009999"  # on nobody's record


@dataclass
class Desk(Hotline):
    dialled: list[tuple[str, str]] = field(default_factory=list)  # (call id, dial string)

    def on_event(self, event: Event) -> None:
        super().on_event(event)
        if isinstance(event, DialStarted) and event.dial_string:
            self.dialled.append((event.call_id, event.dial_string))


@contextlib.asynccontextmanager
async def desk(tmp_path: Path, caller: str) -> AsyncIterator[Desk]:
    """The whole service on a simulated PBX whose every call comes from ``caller``."""
    async with hotline(tmp_path, (caller,), unknown_fraction=0.0, line_class=Desk) as line:
        assert isinstance(line, Desk)
        yield line


def local_minute(epoch: float) -> str:
    """A datetime-local input's value, in the service's time zone (the browser's is UTC)."""
    return datetime.fromtimestamp(epoch, ZoneInfo(ZONE)).strftime("%Y-%m-%dT%H:%M")


@pytest.mark.parametrize(("lang", "width"), [("zh", 1280), ("en", 1024)])
async def test_a_callback_and_a_work_order_are_followed_up_to_the_end(
    tmp_path: Path, lang: Lang, width: int
) -> None:
    require_chromium()
    text = CATALOGUE.all(lang)
    async with desk(tmp_path, ZHANG) as line:
        base = f"http://127.0.0.1:{line.service.web_port}"
        async with seat_page(base, lang, width) as page:
            line.pbx.start_traffic(1)
            card = page.locator("[data-testid=pop][data-state=answered]")
            await card.get_by_text("张三").first.wait_for()
            key = await card.get_attribute("data-call")
            assert key is not None
            call_id = key.removeprefix("main/")
            assert (await card.locator(".wait").inner_text()).isdigit()  # whole seconds
            work = page.locator(f'[data-testid=workspace][data-call="{key}"]')
            await work.get_by_test_id("order-kind").select_option("repair")
            # the department is one dispatch knows, named in the page's language
            department = work.get_by_test_id("order-new-department")
            await department.select_option("cleaning")
            assert await department.locator("option:checked").inner_text() == text["dept_cleaning"]
            await work.get_by_test_id("order-description").fill("厨房漏水")
            await work.get_by_test_id("order-submit").click()
            await work.get_by_test_id("order-result").filter(has_text="#").wait_for()
            await work.get_by_test_id("callback-submit").click()  # no reason: said in words
            await (
                work.get_by_test_id("callback-saved").get_by_text(text["reason_needed"]).wait_for()
            )
            await work.get_by_test_id("callback-reason").fill("告知维修时间")
            await work.get_by_test_id("callback-submit").click()
            await work.get_by_test_id("callback-saved").filter(has_text=":").wait_for()
            await line.agent_hangs_up(call_id)

            # The due list holds the callback: one click rings the seat, then 张三.
            due = page.get_by_test_id("due-callbacks")
            row = due.locator("[data-testid=callback][data-kind=callback]")
            await row.get_by_text("张三").wait_for()
            await row.get_by_text(text["standing_upcoming"]).wait_for()
            await row.get_by_test_id("dial-callback").click()
            await row.get_by_text(text["dialling"]).wait_for()
            await until(lambda: any(d.startswith(ZHANG) for _, d in line.dialled), "the dial out")
            await row.get_by_test_id("callback-result").select_option("no_answer")
            await row.get_by_test_id("record-result").click()
            attempts = row.get_by_test_id("callback-attempts")  # attempt 1: due again later
            await attempts.get_by_text(text["result_no_answer"]).wait_for()
            await row.get_by_test_id("callback-result").select_option("reached")
            await row.get_by_test_id("record-result").click()
            await row.wait_for(state="detached")

            # The work order: dispatched to a department, finished, followed up, closed.
            order = page.locator("[data-testid=work-order]")
            await order.get_by_test_id("order-department").select_option("engineering")
            await order.get_by_test_id("order-dispatch").click()
            await (
                order.get_by_test_id("order-state").get_by_text(text["state_dispatched"]).wait_for()
            )
            await order.get_by_text(text["dept_engineering"]).first.wait_for()
            await order.get_by_test_id("order-callback-reason").fill("告知师傅上门时间")
            await order.get_by_test_id("order-callback").click()
            from_order = due.locator("[data-testid=callback]").filter(has_text="告知师傅上门时间")
            await from_order.get_by_test_id("dial-callback").wait_for()
            await order.get_by_test_id("order-finish").click()
            await order.get_by_test_id("order-state").get_by_text(text["state_done"]).wait_for()
            await order.get_by_test_id("follow-up-at").fill(local_minute(time.time() + 600))
            await order.get_by_test_id("order-follow-up").click()
            await (
                order.get_by_test_id("order-state")
                .get_by_text(text["state_callback_scheduled"])
                .wait_for()
            )
            follow_up = due.locator("[data-testid=callback][data-kind=satisfaction]")
            await follow_up.get_by_test_id("dial-callback").click()
            await follow_up.get_by_text(text["dialling"]).wait_for()
            await until(
                lambda: sum(d.startswith(ZHANG) for _, d in line.dialled) == 2,
                "the follow-up's dial out",
            )
            await follow_up.get_by_test_id("callback-result").select_option("reached")
            await follow_up.get_by_test_id("callback-score").select_option("5")
            await follow_up.get_by_test_id("record-result").click()
            await follow_up.wait_for(state="detached")
            await order.get_by_test_id("order-state").get_by_text(text["state_closed"]).wait_for()
            await order.get_by_text(text["satisfaction"].format(score=5)).wait_for()
            await order.get_by_test_id("order-history").click()
            # the linked call as the agent knows it: its time and the masked caller, no call id
            call_at = datetime.fromtimestamp(int(call_id.split(".")[0]), ZoneInfo(ZONE))
            linked = text["linked_call_at"].format(time=call_at.strftime("%Y-%m-%d %H:%M:%S"))
            details = order.get_by_test_id("order-details")
            await details.get_by_text(f"{linked} · ***{ZHANG[-4:]}").wait_for()
            assert call_id not in await details.inner_text()
            created = await order.get_by_test_id("order-step").first.inner_text()
            assert created.endswith(text["state_new"]) and "→" not in created
            # the history's times are the service's, written as every page writes them
            opened = line.service.cti.records.list_orders()[0].created_at
            shown = datetime.fromtimestamp(opened, ZoneInfo(ZONE)).strftime("%Y-%m-%d %H:%M")
            await order.get_by_test_id("order-details").get_by_text(shown).first.wait_for()
            overflow = await page.evaluate("document.documentElement.scrollWidth - innerWidth")
            assert overflow <= 0, f"{overflow} px wider than the {width} px window"

        callbacks = line.service.cti.deps.callbacks
        assert callbacks is not None
        stored = callbacks.find(open_only=False)
        tries = {c.reason: callbacks.attempts(c.id) for c in stored}
        orders = line.service.cti.records.list_orders()
        d = dispositions_table.c
        with callbacks.engine.connect() as connection:
            wrap_ups = set(connection.execute(select(d.call_id, d.user_login, d.disposition)))
    follow_up_reason = f"{text['kind_satisfaction']} #{orders[0].id}"
    assert {(c.reason, c.kind, c.state, c.call_id, c.owner_id, c.score) for c in stored} == {
        ("告知维修时间", "callback", "done", call_id, 1, None),
        ("告知师傅上门时间", "callback", "due", call_id, 1, None),  # on the order: still to do
        (follow_up_reason, "satisfaction", "done", call_id, 1, 5),
    }
    # each result is on the call the seat placed for it (its id chosen with ChannelId)
    out = [call for call, dialled in line.dialled if dialled.startswith(ZHANG)]
    assert {reason: [(a.result, a.call_id) for a in done] for reason, done in tries.items()} == {
        "告知维修时间": [("no_answer", out[0]), ("reached", "")],
        "告知师傅上门时间": [],
        follow_up_reason: [("reached", out[-1])],
    }
    assert out[0].startswith("cb") and (out[0], "alice", "callback_no_answer") in wrap_ups
    assert [(o.state, o.department, o.satisfaction, o.call_id) for o in orders] == [
        ("closed", "engineering", 5, call_id)
    ]


async def test_an_unknown_number_linked_to_an_owner_pops_as_them_next_time(
    tmp_path: Path,
) -> None:
    require_chromium()
    text = CATALOGUE.all("zh")
    async with desk(tmp_path, STRANGER) as line:
        base = f"http://127.0.0.1:{line.service.web_port}"
        async with seat_page(base, "zh", 1280) as page:
            line.pbx.start_traffic(1)
            first = page.locator("[data-testid=pop][data-state=answered]")
            await first.get_by_test_id("new-caller").wait_for()
            key = await first.get_attribute("data-call")
            assert key is not None
            work = page.locator(f'[data-testid=workspace][data-call="{key}"]')
            search, result = work.get_by_test_id("owner-search"), work.get_by_test_id("link-result")
            await search.fill("x")  # one letter: the form says why, in words
            await work.get_by_test_id("owner-search-go").click()
            await result.get_by_text(text["search_short"]).wait_for()
            await search.fill("李")  # a surname alone is enough
            await work.get_by_test_id("owner-search-go").click()
            found = work.get_by_test_id("found-owner").filter(has_text="李四")
            await found.get_by_text("西区").wait_for()
            # The caller hangs up and another call is answered while the search is on
            # screen: the workspace stays, the new card waits.
            await line.agent_hangs_up(key.removeprefix("main/"))
            line.pbx.start_traffic(1)
            other = page.locator(f'[data-testid=pop][data-state=answered]:not([data-call="{key}"])')
            await other.wait_for()
            other_key = await other.get_attribute("data-call")
            assert await work.is_visible()
            await found.get_by_test_id("link-owner").click()
            await result.get_by_text("李四").wait_for()
            await line.agent_hangs_up(str(other_key).removeprefix("main/"))

            line.pbx.start_traffic(1)
            second = page.locator(
                f'[data-testid=pop][data-state=answered]:not([data-call="{key}"])'
                f':not([data-call="{other_key}"])'
            )
            await second.get_by_text("李四").first.wait_for()
            assert await second.get_by_test_id("new-caller").count() == 0
            key = await second.get_attribute("data-call")
            assert key is not None
            await line.agent_hangs_up(key.removeprefix("main/"))

            # The number turns out to be 张三's too: the next pop asks which owner calls,
            # and the callback goes on the one chosen.
            await line.service.cti.directory.link_number(1, STRANGER, "sue")
            line.pbx.start_traffic(1)
            third = page.locator("[data-testid=pop][data-state=answered]").filter(has_text="张三")
            await third.wait_for()
            key = await third.get_attribute("data-call")
            work = page.locator(f'[data-testid=workspace][data-call="{key}"]')
            await work.get_by_test_id("owner-choice").get_by_text(text["owner_which"]).wait_for()
            await work.locator("[data-testid=choose-owner][data-owner='2']").click()
            await work.get_by_test_id("owner-chosen").get_by_text("李四").wait_for()
            await work.get_by_test_id("callback-reason").fill("核对房号")
            await work.get_by_test_id("callback-submit").click()
            await page.get_by_test_id("due-callbacks").get_by_text("核对房号").wait_for()
        trail = line.service.cti.records.audit_trail(login="alice")
        callbacks = line.service.cti.deps.callbacks
        assert callbacks is not None
        assert [(c.owner_id, c.reason) for c in callbacks.find()] == [(2, "核对房号")]
    actions = {a["action"]: a["detail"] for a in trail}
    assert actions["link_number"].startswith("***9999; call main/")
    assert actions["search"].startswith("q: 李; found: ")
