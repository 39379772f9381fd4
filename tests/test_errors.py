"""Every /api error has one body, ``{"error": {"code", "zh", "en"}}``, whichever feature
refused; a browser opening a page it may not see gets a page in its language instead."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from cti_fixtures import client_for, serving
from service_fixtures import service_settings, serving_service

from callcenter.core.errors import ApiError, error_middleware, prefers_html

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.fixture
async def base(tmp_path: Path) -> AsyncIterator[str]:
    settings = service_settings(tmp_path)
    settings = dataclasses.replace(
        settings, cti=dataclasses.replace(settings.cti, owner_reads_limit=1)
    )
    async with serving_service(settings) as url:
        yield url


def _assert_one_body(body: Any, status: int) -> None:
    assert isinstance(body, dict) and set(body) == {"error"}, (status, body)
    error = body["error"]
    assert set(error) == {"code", "zh", "en"}, (status, body)
    assert all(isinstance(error[k], str) and error[k] for k in error), (status, body)


# (who, method, path, JSON body, status): one refusal of each kind from each feature
CASES: list[tuple[str | None, str, str, Any, int]] = [
    (None, "GET", "/api/calls", None, 401),  # web: not signed in
    (None, "GET", "/api/routing/agents", None, 401),  # routing
    ("alice", "GET", "/api/users", None, 403),  # sign-in: an agent is no admin
    ("alice", "GET", "/api/reports?from=2026-03-02&to=2026-03-02", None, 403),  # metrics
    ("sue", "GET", "/api/calls?limit=x", None, 400),  # the OpenAPI check
    ("sue", "GET", "/api/reports?from=2026-03-02&to=2026-03-01", None, 400),  # metrics
    ("sue", "GET", "/api/routing/duty?at=nonsense", None, 400),  # routing
    ("sue", "POST", "/api/workorders", {"kind": "repair", "owner_id": 999}, 400),  # cti
    ("sue", "GET", "/api/recordings/999", None, 404),  # recordings
    ("sue", "GET", "/api/workorders/999", None, 404),  # cti
    ("sue", "GET", "/api/calls/main/nothing", None, 404),  # web
    ("sue", "GET", "/api/no-such-route", None, 404),  # the router itself
    ("sue", "POST", "/api/seat/call", {"number": "13800138000"}, 409),  # cti: no seat phone
    ("sue", "DELETE", "/api/calls", None, 405),  # the router itself
]


@pytest.mark.parametrize(("who", "method", "path", "body", "status"), CASES)
async def test_every_feature_refuses_with_the_one_error_body(
    base: str, who: str | None, method: str, path: str, body: Any, status: int
) -> None:
    async with client_for(base, who) as client:
        headers = client.headers() if method != "GET" else {}
        async with client.http.request(method, base + path, json=body, headers=headers) as response:
            assert response.status == status, await response.text()
            assert response.content_type == "application/json"
            _assert_one_body(await response.json(), status)


async def test_a_missing_csrf_token_and_a_body_too_large_get_the_one_body(base: str) -> None:
    async with client_for(base, "alice") as alice:
        async with alice.http.post(
            f"{base}/api/workorders", json={"kind": "repair"}, headers={"Origin": base}
        ) as response:
            assert response.status == 403
            _assert_one_body(await response.json(), 403)
            assert (await response.json())["error"]["code"] == "csrf"
        huge = {"kind": "repair", "description": "x" * (2 * 1024 * 1024)}
        async with alice.http.post(
            f"{base}/api/workorders", json=huge, headers=alice.headers()
        ) as response:
            assert response.status == 413
            _assert_one_body(await response.json(), 413)


async def test_too_many_owner_reads_get_the_one_body_and_retry_after(base: str) -> None:
    async with client_for(base, "alice") as alice:
        statuses = []
        for owner in (1, 2, 3):
            async with alice.http.get(f"{base}/api/owners/{owner}?reason=x") as response:
                statuses.append(response.status)
                if response.status == 429:
                    assert int(response.headers["Retry-After"]) > 0
                    _assert_one_body(await response.json(), 429)
        assert 429 in statuses, statuses


async def test_a_browser_gets_a_page_in_its_language_where_it_may_not_go(base: str) -> None:
    async with client_for(base, "alice") as alice:
        for lang, words in (
            ("zh", "您的角色无权执行此操作"),
            ("en", "Your role is not allowed to do this."),
        ):
            async with alice.http.get(
                f"{base}/reports?lang={lang}", headers={"Accept": BROWSER_ACCEPT}
            ) as response:
                assert response.status == 403
                assert response.content_type == "text/html"
                page = await response.text()
                assert f'lang="{"zh-CN" if lang == "zh" else lang}"' in page and words in page
        async with alice.http.get(
            f"{base}/no-such-page", headers={"Accept": BROWSER_ACCEPT}
        ) as response:
            assert response.status == 404 and response.content_type == "text/html"
        # the page's own script asks for JSON, and gets it
        async with alice.http.get(f"{base}/api/users") as response:
            assert response.status == 403 and response.content_type == "application/json"


async def test_a_429_page_keeps_retry_after() -> None:
    async def limited(_request: web.Request) -> web.Response:
        raise ApiError(
            429, "slow_down", "请稍后再试", "try again later", headers={"Retry-After": "7"}
        )

    app = web.Application(middlewares=[error_middleware])
    app.router.add_get("/busy", limited)
    async with serving(app) as url, aiohttp.ClientSession() as http:
        async with http.get(f"{url}/busy", headers={"Accept": BROWSER_ACCEPT}) as response:
            assert response.status == 429 and response.headers["Retry-After"] == "7"
            assert "请稍后再试" in await response.text()
        async with http.get(f"{url}/busy") as response:
            assert response.status == 429 and response.headers["Retry-After"] == "7"
            assert await response.json() == {
                "error": {"code": "slow_down", "zh": "请稍后再试", "en": "try again later"}
            }


@pytest.mark.parametrize(
    ("accept", "html"),
    [
        (BROWSER_ACCEPT, True),
        ("text/html", True),
        ("*/*", False),
        ("", False),
        ("application/json", False),
        ("application/json, text/html;q=0.5", False),
        ("audio/webm,audio/ogg,audio/*;q=0.9,*/*;q=0.5", False),
    ],
)
def test_who_prefers_a_page(accept: str, html: bool) -> None:
    from aiohttp.test_utils import make_mocked_request

    request = make_mocked_request("GET", "/x", headers={"Accept": accept} if accept else {})
    assert prefers_html(request) is html
