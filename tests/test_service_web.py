"""The whole service as people use it: every route behind a role, and a supervisor who
signs in sees the simulator's calls, while an agent sees only their own."""

import asyncio
import time
from pathlib import Path

from cti_fixtures import new_http, sign_in
from service_fixtures import service_settings

from callcenter.cti.accounts import hash_password
from callcenter.service import Service
from callcenter.testing import running_simulator

# Reachable without signing in: the sign-in page itself, the operations probes, the API's
# description (routes and fields, no data), the site's icon, and "/" (to the sign-in page,
# or a signed-in user's home).
PUBLIC = {"/login", "/healthz", "/readyz", "/metrics", "/api/openapi.json", "/favicon.ico", "/"}
# Guarded by a signed, short-lived link bound to the user it was issued to (after a role
# check at issue time), so that the browser's <audio> element can fetch it.
SIGNED_LINK = {"/recordings/play/{path}"}


def test_every_route_admits_only_the_roles_it_declares(tmp_path: Path) -> None:
    service = Service(service_settings(tmp_path))
    app = service.build_web_app()
    unguarded = []
    for route in app.router.routes():
        path = route.resource.canonical if route.resource is not None else "?"
        if path in PUBLIC | SIGNED_LINK or route.method == "HEAD":
            continue
        if not getattr(route.handler, "allowed_roles", None):
            unguarded.append(f"{route.method} {path}")
    assert unguarded == []
    service.engine.dispose()


async def test_supervisor_sees_the_calls_and_an_agent_only_theirs(tmp_path: Path) -> None:
    async with running_simulator(tmp_path / "pbx", seed=8, speed=500, secret="s") as pbx:
        settings = service_settings(tmp_path, pbx)
        service = Service(settings, managed_queues=set())
        await service.start()
        try:
            encoded = hash_password("pass-1234")
            service.cti.accounts.add_user("boss", "supervisor", "", password_hash=encoded)
            service.cti.accounts.add_user(
                "a1001", "agent", "", agent="Agent 1001", interface="PJSIP/1001",
                password_hash=encoded,
            )  # fmt: skip
            await pbx.run(30)
            await service.settle()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if service.store.count_calls() >= 30:
                    break
                await asyncio.sleep(0.05)
                await service.settle()
            base = f"http://127.0.0.1:{service.web_port}"
            async with new_http() as http:
                async with http.get(f"{base}/api/calls") as resp:
                    assert resp.status == 401
                assert (await sign_in(http, base, "boss", "pass-1234")).status == 303
                async with http.get(f"{base}/api/calls", params={"limit": "1000"}) as resp:
                    everything = await resp.json()
            assert everything["total"] == 30
            async with new_http() as http:
                assert (await sign_in(http, base, "a1001", "pass-1234")).status == 303
                async with http.get(f"{base}/api/calls", params={"limit": "1000"}) as resp:
                    own = await resp.json()
            theirs = [c for c in everything["calls"] if c["agent"] == "Agent 1001"]
            assert own["total"] == len(theirs)
            assert {c["agent"] for c in own["calls"]} <= {"Agent 1001"}
        finally:
            await service.stop()


async def test_a_browser_signs_in_to_the_whole_service(tmp_path: Path) -> None:
    """Chromium, the composed app with every middleware: sign in and reach the wallboard.
    (A Referrer-Policy of no-referrer makes browsers send "Origin: null" on our own
    forms, which the CSRF origin check refuses; only a real browser shows that.)"""
    from browser import CHROMIUM, CHROMIUM_ARGS, playwright_api, require_chromium

    require_chromium()
    async with running_simulator(tmp_path / "pbx", seed=2, speed=50, secret="s") as pbx:
        service = Service(service_settings(tmp_path, pbx), managed_queues=set())
        await service.start()
        try:
            service.cti.accounts.add_user(
                "boss", "supervisor", "", password_hash=hash_password("pass-1234")
            )
            base = f"http://127.0.0.1:{service.web_port}"
            async with playwright_api.async_playwright() as pw:
                browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                try:
                    page = await browser.new_page()
                    await page.goto(f"{base}/wallboard")
                    assert "/login" in page.url
                    await page.fill("#login", "boss")
                    await page.fill("#password", "pass-1234")
                    async with page.expect_navigation():
                        await page.click("button[type=submit]")
                    assert page.url.endswith("/wallboard")
                finally:
                    await browser.close()
        finally:
            await service.stop()
