"""Reports in Chromium from simulated calls: the PBX simulator takes a few hundred calls,
its AMI events move the agents' states (as the service's routing does) and its queue_log
and CDR become the stored call records. A supervisor then reads the reports by queue and
by shift, the per-agent figures and the month's answer rate per day, and each agrees
with the call records themselves."""

from __future__ import annotations

import zoneinfo
from datetime import datetime
from pathlib import Path

from aiohttp import web
from browser import CHROMIUM, CHROMIUM_ARGS, playwright_api, require_chromium, sign_in
from cti_fixtures import add_users, serving, sqlite_engine

from callcenter.calls.reconcile import expected_records
from callcenter.calls.store import CallStore
from callcenter.cti.feature import CtiFeature
from callcenter.metrics.http import setup
from callcenter.metrics.kpis import Thresholds, tally
from callcenter.metrics.live import LiveCounters
from callcenter.metrics.prometheus import metrics_registry
from callcenter.metrics.report_store import ReportStore
from callcenter.routing.agent_state import AgentStates
from callcenter.routing.store import AgentTimeStore, StoredInterval
from callcenter.sim import TrafficParams
from callcenter.telephony.ami import AmiClient
from callcenter.telephony.ami_events import translate
from callcenter.testing import running_simulator
from callcenter.web.headers import install as install_security_headers

TH = Thresholds(line_capacity=12)


async def test_reports_by_queue_shift_agent_and_month_from_simulated_calls(
    tmp_path: Path,
) -> None:
    require_chromium()
    engine = sqlite_engine(tmp_path)
    intervals: list[StoredInterval] = []
    states = AgentStates(
        wrapup_s=0,
        on_closed=lambda i: intervals.append(
            StoredInterval(i.pbx, i.agent, i.interface, i.state, i.reason, i.start, i.end)
        ),
    )

    def on_message(message: dict[str, str]) -> None:
        event = translate(message, "sim")
        if event is not None:
            states.apply(event)

    traffic = TrafficParams(peak_calls_per_hour=900.0, patience_mean_s=40.0)
    async with running_simulator(tmp_path / "pbx", seed=5, speed=400.0, lines=12,
                                 traffic=traffic, secret="s") as sim:  # fmt: skip
        ami = AmiClient("127.0.0.1", sim.ami_port, "callcenter", "s", on_event=on_message)
        await ami.start()
        try:
            await sim.run(150, timeout=120)
        finally:
            await ami.close()
        zone = zoneinfo.ZoneInfo(sim.config.timezone)
        states.cut(sim.now)
    records = expected_records(queue_log=sim.queue_log_path, cdr_csv=sim.cdr_path, pbx="sim",
                               zone=zone, short_abandon_s=TH.short_abandon_s)  # fmt: skip
    CallStore(engine).upsert_calls(list(records.values()))
    AgentTimeStore(engine).insert(intervals)
    inbound = [r for r in records.values() if r.kind == "inbound"]
    day = datetime.fromtimestamp(min(r.started_at for r in inbound), zone).date().isoformat()
    queues = sorted({r.queue for r in inbound if r.queue})
    by_queue = {q: tally([r for r in inbound if r.queue == q], TH) for q in queues}
    answered_by = {r.agent for r in inbound if r.outcome == "answered"}
    assert len(queues) >= 1 and sum(t.abandoned for t in by_queue.values()) > 0

    cti = CtiFeature(engine)
    add_users(cti.accounts)
    app = web.Application()
    install_security_headers(app)
    cti.routes(app)
    live = LiveCounters(thresholds=TH, zone=sim.config.timezone)
    clock = lambda: max(r.started_at for r in inbound)  # noqa: E731
    registry = metrics_registry(live, pbxes=["sim"], clock=clock)
    setup(app, ReportStore(engine), live, TH, registry=registry, zone=sim.config.timezone,
          clock=clock)  # fmt: skip
    async with serving(app) as base, playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1024, "height": 800})
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            await sign_in(page, base, "sue", "/reports?lang=en")
            await page.wait_for_url(f"{base}/reports?lang=en")
            await page.fill("input[name=from]", day)
            await page.fill("input[name=to]", day)
            await page.get_by_role("button", name="Show").click()
            await page.get_by_test_id("intervals").wait_for()

            # by queue: a tab away, each queue's figures as the records have them
            await page.get_by_test_id("view-queue").click()
            table = page.get_by_test_id("by-queue")
            await table.wait_for()
            not_queued = any(not r.queue for r in inbound)  # IVR only or blocked
            bars = page.locator("svg[data-chart=by-queue] rect")
            assert await bars.count() == len(queues) + not_queued
            for queue, expected in by_queue.items():
                cells = (
                    await table.locator("tr", has_text=queue).first.locator("td").all_inner_texts()
                )
                assert cells[:4] == [queue, str(expected.offered), str(expected.answered),
                                     str(expected.abandoned)]  # fmt: skip
                rate = expected.answer_rate
                assert cells[6] == ("–" if rate is None else f"{rate:.1%}")
            total = tally(inbound, TH)
            total_cells = await table.locator("tr").last.locator("td").all_inner_texts()
            assert total_cells[:4] == ["Total", str(total.offered), str(total.answered),
                                       str(total.abandoned)]  # fmt: skip

            # by shift: the same calls, each in the shifts covering its start
            await page.get_by_test_id("view-shift").click()
            shifts = page.get_by_test_id("by-shift")
            await shifts.wait_for()
            day_shift = await shifts.locator("tr", has_text=f"{day} 08:00-20:00").locator(
                "td").all_inner_texts()  # fmt: skip
            in_day_shift = [r for r in inbound
                            if 8 <= datetime.fromtimestamp(r.started_at, zone).hour < 20]  # fmt: skip
            assert day_shift[1] == str(tally(in_day_shift, TH).offered)

            # per agent: offered (rung) at least answered, no answer rate, no "(none)" row
            await page.get_by_test_id("view-agent").click()
            agents = page.get_by_test_id("agents")
            await agents.wait_for()
            heads = await agents.locator("th").all_inner_texts()
            assert heads == ["Agent", "Offered (rung)", "Answered", "Ring no answer", "AHT (s)",
                             "Occupancy", "Pause time", "QA average (sheets)"]  # fmt: skip
            rows = agents.locator("tr")
            shown = {}
            for index in range(1, await rows.count()):
                cells = await rows.nth(index).locator("td").all_inner_texts()
                shown[cells[0]] = cells
            assert answered_by <= set(shown) and "(none)" not in shown
            for name in answered_by:
                rung, answered, no_answer = (int(c) for c in shown[name][1:4])
                assert answered == sum(1 for r in inbound if r.agent == name
                                       and r.outcome == "answered")  # fmt: skip
                assert rung >= answered and no_answer <= rung
                assert shown[name][5].endswith("%")  # occupancy
            unanswered = page.get_by_test_id("unanswered-by-queue")
            last = await unanswered.locator("tr").last.locator("td").all_inner_texts()
            assert last[:3] == ["Total", str(total.offered), str(total.offered - total.answered)]

            # the month: answer rate per day against the 90 % target
            await page.get_by_test_id("view-month").click()
            month = page.get_by_test_id("month")
            await month.wait_for()
            row = await month.locator("tr", has_text=day).locator("td").all_inner_texts()
            rate = total.answer_rate
            assert rate is not None
            assert row[4] == f"{rate:.1%}" and row[5] == ("met" if rate >= 0.9 else "missed")
            assert (
                await page.locator("svg[data-chart=month] [data-line=answer_rate_target]").count()
                == 1
            )
            # each view holds together at 1024 px: nothing wider than the window
            for view in ("interval", "queue", "shift", "hotline", "agent", "month"):
                await page.get_by_test_id(f"view-{view}").click()
                await page.locator(f"[data-testid=view-{view}][aria-current=page]").wait_for()
                width = await page.evaluate("document.documentElement.scrollWidth")
                assert width <= 1024, (view, width)
            assert errors == []
        finally:
            await browser.close()
    engine.dispose()
