"""The admin screens in a real browser (Debian's chromium driven by Playwright) over the
whole service: an admin creates a user, who can then sign in; an admin changes a user's
role and disables them; an admin puts an agent on leave for a roster day, and the change
reaches the roster file and the roster API. Skipped, with the reason, when Playwright or
chromium is absent."""

from __future__ import annotations

import dataclasses
import re
import shutil
from collections.abc import AsyncIterator
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from browser import chromium, require_chromium
from cti_fixtures import PASSWORD, add_users, client_for, serving
from service_fixtures import service_settings

from callcenter.db import upgrade
from callcenter.routing.roster_file import load_roster
from callcenter.service import Service

CONFIG = Path(__file__).resolve().parent.parent / "config"
SCRIPT_ERRORS: list[str] = []  # what the pages' scripts threw, checked after each test


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[str, Service, Path]]:
    require_chromium()
    SCRIPT_ERRORS.clear()
    for name in ("roster.yaml", "shifts.yaml", "agents.yaml"):
        shutil.copy(CONFIG / name, tmp_path / name)  # the screens write these files
    shutil.copytree(CONFIG.parent / "ivr_flows", tmp_path / "ivr_flows")
    settings = service_settings(tmp_path)
    settings = dataclasses.replace(
        settings,
        ivr_dir=str(tmp_path / "ivr_flows"),
        ivr=dataclasses.replace(settings.ivr, prompts_dir=str(tmp_path / "ivr_flows" / "prompts")),
        routing=dataclasses.replace(
            settings.routing,
            roster_file=str(tmp_path / "roster.yaml"),
            shifts_file=str(tmp_path / "shifts.yaml"),
            agents_file=str(tmp_path / "agents.yaml"),
        ),
    )
    upgrade(settings.database.url)
    service = Service(settings)
    add_users(service.cti.accounts)
    try:
        async with serving(service.build_web_app()) as url:
            yield url, service, tmp_path / "roster.yaml"
        assert SCRIPT_ERRORS == []
    finally:
        service.engine.dispose()


async def signed_in_page(browser: Any, base: str, login: str, password: str = PASSWORD) -> Any:
    page = await (await browser.new_context()).new_page()
    page.on("pageerror", lambda exc: SCRIPT_ERRORS.append(str(exc)))
    await page.goto(f"{base}/login?next=/api/me")
    await page.fill("#login", login)
    await page.fill("#password", password)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base}/api/me")
    return page


# Whether every element ``selector`` finds shows its text on one line, and its card
# (section.card) holds its content without scrolling sideways.
ON_ONE_LINE = """(selector) => [...document.querySelectorAll(selector)].every((node) => {
  const range = document.createRange();
  range.selectNodeContents(node);
  const lines = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
  const card = node.closest('section.card');
  return lines.size <= 1 && card.scrollWidth <= card.clientWidth;
})"""


async def test_an_admin_creates_a_user_who_can_then_sign_in(
    served: tuple[str, Service, Path],
) -> None:
    base, service, _roster = served
    # the demo's longest login: the table must still fit at 1024
    service.cti.accounts.add_user("supervisor", "supervisor", "", password_hash="x")
    async with chromium() as browser:
        admin = await signed_in_page(browser, base, "ada")
        await admin.goto(f"{base}/admin/users")
        await admin.locator("tr[data-login=alice]").wait_for()
        form = admin.locator("#add")
        await form.locator("[name=login]").fill("carol")
        await form.locator("[name=display_name]").fill("王晓红")
        await form.locator("[name=role]").select_option("agent")
        await form.locator("[name=password]").fill("carol-初始密码")
        await form.locator("[name=interface]").fill("PJSIP/1003")
        await form.get_by_role("button", name="新建用户").click()
        await admin.get_by_text("已添加用户 carol").wait_for()
        row = admin.locator("tr[data-login=carol]")
        await row.wait_for()
        assert await row.locator("input").nth(0).input_value() == "王晓红"
        # 1024 px with a long list: less the scroll bar
        await admin.set_viewport_size({"width": 1009, "height": 800})
        cells = "#users td:nth-child(6), #users td:nth-child(7) button"
        assert await admin.locator(cells).count() > 4 and await admin.evaluate(ON_ONE_LINE, cells)

        carol = await signed_in_page(browser, base, "carol", "carol-初始密码")
        me = await carol.evaluate("() => fetch('/api/me').then((r) => r.json())")
        assert (me["login"], me["role"], me["interface"], me["agent"]) == (
            "carol", "agent", "PJSIP/1003", "Agent 1003",
        )  # fmt: skip
        # an agent may not open the admin screens
        response = await carol.goto(f"{base}/admin/users")
        assert response is not None and response.status == 403

        # a new role; a new password (carol's session ends, the new one signs in)
        await row.locator("select").select_option("supervisor")
        await row.get_by_role("button", name="保存").click()
        await admin.get_by_text("已保存 carol").wait_for()
        admin.once("dialog", lambda dialog: dialog.accept("carol-新密码-2"))
        async with admin.expect_response(lambda r: r.request.method == "PATCH") as patched:
            await admin.locator("tr[data-login=carol] button.reset").click()
        assert (await patched.value).status == 200
        status = await carol.evaluate("() => fetch('/api/me').then((r) => r.status)")
        assert status == 401
        carol = await signed_in_page(browser, base, "carol", "carol-新密码-2")
        # then disabled: carol's session ends again
        await admin.locator("tr[data-login=carol] button.toggle").click()
        await admin.locator("tr[data-login=carol]").get_by_text("已停用").wait_for()
        status = await carol.evaluate("() => fetch('/api/me').then((r) => r.status)")
        assert status == 401
    accounts = {u.login: (u.role, active) for u, active in service.cti.accounts.accounts()}
    assert accounts["carol"] == ("supervisor", False)


async def test_an_admin_puts_an_agent_on_leave_for_a_roster_day(
    served: tuple[str, Service, Path],
) -> None:
    base, service, roster_file = served
    async with chromium() as browser:
        page = await signed_in_page(browser, base, "ada")
        await page.goto(f"{base}/admin/roster?lang=en")
        monday = page.locator("#week_head th[data-day]").first
        await monday.wait_for()
        day = await monday.get_attribute("data-day")
        assert day is not None
        first_shift = page.locator(f"#week tr.shift td[data-day='{day}'] div").first
        found = re.search(r"\((\w+)\)", await first_shift.inner_text())  # "张伟 (kf01)"
        assert found is not None
        agent = found.group(1)
        await monday.get_by_role("button", name="Edit").click()
        await page.locator("#leave_agent").select_option(agent)
        await page.locator("#leave_reason").fill("sick")
        await page.get_by_role("button", name="Add leave").click()
        await page.get_by_role("button", name="Save the day").click()
        await page.get_by_text(f"{day} saved").wait_for()
        leave = page.locator(f"#week tr.leave td[data-day='{day}']")
        await leave.get_by_text(f"({agent}) · sick").wait_for()
        shifts = " ".join(
            await page.locator(f"#week tr.shift td[data-day='{day}']").all_inner_texts()
        )
        assert f"({agent})" not in shifts
        # gaps (if the leave made one) as stretches named by the rules' titles, never raw ids
        gaps = " ".join(await page.locator("#week tr.gaps td").all_inner_texts())
        assert "rule " not in gaps and "peak" not in gaps
        assert await page.evaluate("reason('leave') + '/' + reason('')") == "Leave/Leave"
        # a second shift on top of one someone already works is refused, said plainly
        other = page.locator(f"#week tr.shift td[data-day='{day}'] .who").first
        worker = re.search(r"\((\w+)\)", await other.inner_text())
        assert worker is not None
        await monday.get_by_role("button", name="Edit").click()
        for shift in await page.locator("#extra_shift option").evaluate_all(
            "(options) => options.map((o) => o.value)"
        ):  # every shift of the book: one of them overlaps the worker's
            await page.locator("#extra_agent").fill(worker.group(1))
            await page.locator("#extra_shift").select_option(shift)
            await page.get_by_role("button", name="Add extra shift").click()
        await page.get_by_role("button", name="Save the day").click()
        status = page.locator("#status.error")
        await status.wait_for()
        text = await status.inner_text()
        assert f"{worker.group(1)} already works" in text and "roster.yaml" not in text
        await page.get_by_role("button", name="Cancel").click()
    text = roster_file.read_text(encoding="utf-8")
    assert f"{{agent: {agent}, from: {day}, to: {day}, reason: sick}}" in text
    reloaded = load_roster(roster_file, service.routing.data.book)
    assert agent not in {a.agent for a in reloaded.assignments(date.fromisoformat(day))}
    async with client_for(base, "sue") as sue:
        status, week = await sue.get_json(f"/api/routing/roster/week?from={day}")
    assert status == 200 and isinstance(week, dict)
    first = week["days"][0]
    assert first["edit"]["leave"] == [{"agent": agent, "reason": "sick"}]
    assert agent not in {s["agent"] for s in first["shifts"]}


async def test_zones_owners_and_flows_are_managed_on_their_screens(
    served: tuple[str, Service, Path],
) -> None:
    base, service, roster_file = served
    async with chromium() as browser:
        page = await signed_in_page(browser, base, "ada")
        # a zone's housekeeper, written to the agents file
        await page.goto(f"{base}/admin/directory?lang=en")
        east = page.locator("#zones_rows tr[data-id=east]")
        await east.wait_for()
        await east.locator("select").select_option("kf02")
        await east.get_by_role("button", name="Save").click()
        await page.get_by_text("east saved").wait_for()
        agents_text = (roster_file.parent / "agents.yaml").read_text(encoding="utf-8")
        assert "housekeeper: kf02" in agents_text
        assert service.routing.state.directory.zones["east"].housekeeper == "kf02"

        # owners from the business system's export, with the progress shown
        await page.goto(f"{base}/admin/owners?lang=en")
        await page.locator("#file").set_input_files(str(CONFIG / "demo_owners.csv"))
        await page.get_by_role("button", name="Import").click()
        await page.get_by_text("Done: 328 row(s), 300 owner(s) created, 0 updated").wait_for()
        assert await service.cti.directory.lookup("13380668968") is not None

        # a flow file with a mistake is refused, naming its line
        await page.goto(f"{base}/admin/ivr?lang=en")
        await (
            page.locator("#flows tr[data-flow=hotline]").get_by_role("button", name="View").click()
        )
        await page.locator("#nodes tr").first.wait_for()
        await page.set_viewport_size({"width": 1024, "height": 800})
        fits = "(el) => el.scrollWidth <= el.clientWidth"  # long settings wrap in their cell
        assert await page.locator("#view").evaluate(fits)
        text = await page.locator("#text").input_value()
        await page.locator("#text").fill(text.replace("next: identify", "next: nowhere", 1))
        await page.get_by_role("button", name="Check and save").click()
        await page.locator("#status.error").wait_for()
        line = text[: text.index("next: identify")].count("\n") + 1
        assert f"hotline.yaml:{line}:" in await page.locator("#status").inner_text()
        # in Chinese: node types and a YAML mistake in the page's language
        await page.goto(f"{base}/admin/ivr?lang=zh")
        await (
            page.locator("#flows tr[data-flow=hotline]").get_by_role("button", name="查看").click()
        )
        await page.locator("#nodes tr").first.wait_for()
        types = set(await page.locator("#nodes td:nth-child(2)").all_inner_texts())
        assert {"条件分支", "播放", "按键菜单"} <= types
        await page.locator("#name").fill("qa.yaml")
        await page.locator("#text").fill("bad: [yaml")
        await page.get_by_role("button", name="检查", exact=True).click()
        problem = page.locator("#problems li").first
        await problem.wait_for()
        assert (await problem.inner_text()).startswith("qa.yaml:1:11: YAML 语法错误：此处应为")


async def test_an_admin_makes_a_token_shown_once_and_revokes_it(
    served: tuple[str, Service, Path],
) -> None:
    base, service, _roster = served
    async with chromium() as browser:
        page = await signed_in_page(browser, base, "ada")
        await page.goto(f"{base}/admin/tokens?lang=en")
        await page.locator("#token_name").fill("crm")
        await page.locator("#token_role").select_option("supervisor")
        await page.get_by_role("button", name="Make a token").click()
        await page.get_by_text("Token crm made; copy it now").wait_for()
        token = await page.locator("#shown_token").input_value()
        row = page.locator("#tokens tr[data-name=crm]")
        await row.get_by_text("active").wait_for()
        assert token[:8] in await row.inner_text() and token not in await row.inner_text()
        # made when the service's clock says, shown in its zone whatever the browser's own
        listed = await page.evaluate("fetch('/api/tokens').then((r) => r.json())")
        made = next(t["created_at"] for t in listed["tokens"] if t["name"] == "crm")
        zone = ZoneInfo(service.settings.timezone)
        await row.get_by_text(
            datetime.fromtimestamp(made, zone).strftime("%Y-%m-%d %H:%M")
        ).wait_for()
        async with aiohttp.ClientSession() as http:
            bearer = {"Authorization": f"Bearer {token}"}
            async with http.get(f"{base}/api/calls", headers=bearer) as response:
                assert response.status == 200
            await row.get_by_role("button", name="Revoke").click()
            await row.get_by_text("revoked").wait_for()
            async with http.get(f"{base}/api/calls", headers=bearer) as response:
                assert response.status == 401
