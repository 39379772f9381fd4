"""Sign-in, sessions, CSRF and throttling over real HTTP on 127.0.0.1."""

from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web
from cti_fixtures import PASSWORD, add_users, client_for, new_http, serving, sign_in, sqlite_engine
from sqlalchemy import select, text

from callcenter.cti import signin
from callcenter.cti.accounts import (
    AccountError,
    AccountStore,
    hash_password,
    verify_password,
)
from callcenter.cti.settings import CtiSettings
from callcenter.cti.store import sessions_table
from callcenter.log import configure_logging
from callcenter.log_settings import LoggingSettings


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class Served:
    base: str
    store: AccountStore
    clock: Clock


async def _serve(tmp_path: Path, settings: CtiSettings) -> AsyncIterator[Served]:
    engine = sqlite_engine(tmp_path)
    clock = Clock()
    store = AccountStore(engine, clock=clock)
    add_users(store)
    app = web.Application()
    signin.setup(app, store, settings, clock=clock)
    async with serving(app) as base:
        yield Served(base, store, clock)
    engine.dispose()


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    async for value in _serve(
        tmp_path, CtiSettings(session_lifetime_s=3600, session_idle_s=600, login_max_failures=3)
    ):
        yield value


# --- pure parts -------------------------------------------------------------------------


def test_password_hashes_are_salted_scrypt_and_checked_exactly() -> None:
    first, second = hash_password("s3cret-密码"), hash_password("s3cret-密码")
    assert first != second  # a fresh salt each time
    assert first.startswith("scrypt$32768$8$1$")
    assert verify_password("s3cret-密码", first)
    assert not verify_password("s3cret-密码 ", first)
    assert not verify_password("s3cret-密码", "scrypt$broken")
    assert not verify_password("s3cret-密码", "")


def test_add_user_rejects_bad_input(tmp_path: Path) -> None:
    store = AccountStore(sqlite_engine(tmp_path))
    with pytest.raises(AccountError, match="role"):
        store.add_user("zoe", "root", "long enough password")
    with pytest.raises(AccountError, match="at least 8"):
        store.add_user("zoe", "agent", "short")
    with pytest.raises(AccountError, match="login"):
        store.add_user("zoe smith", "agent", "long enough password")
    store.add_user("zoe", "agent", "long enough password")
    with pytest.raises(AccountError, match="exists"):
        store.add_user("zoe", "agent", "long enough password")


# --- over HTTP --------------------------------------------------------------------------


async def test_sign_in_sets_a_hardened_session_cookie(served: Served) -> None:
    async with new_http() as http:
        response = await sign_in(http, served.base, "alice")
        assert response.status == 303
        cookie = next(
            v for v in response.headers.getall("Set-Cookie") if v.startswith("cc_session=")
        )
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
        assert "Secure" not in cookie  # plain http with cookie_secure=auto
        token = cookie.split(";")[0].split("=", 1)[1]
    # Only the digest is stored: the table never holds what the browser holds.
    with served.store.engine.connect() as connection:
        stored = connection.execute(select(sessions_table.c.id_digest)).scalars().all()
    assert len(stored) == 1 and token not in stored[0]


async def test_sign_in_page_is_chinese_first_and_english_on_request(served: Served) -> None:
    async with new_http() as http:
        async with http.get(f"{served.base}/login") as page:
            body = await page.text()
        assert "登录" in body and 'lang="zh-CN"' in body
        async with http.get(f"{served.base}/login?lang=en") as page:
            body = await page.text()
        assert "Sign in" in body and "Password" in body
        async with http.get(f"{served.base}/login") as page:  # the choice is remembered
            assert "Sign in" in await page.text()


async def test_wrong_password_is_refused_and_throttled(served: Served) -> None:
    async with new_http() as http:
        for _ in range(3):
            response = await sign_in(http, served.base, "alice", "wrong password")
            assert response.status == 401
            assert "账号或密码错误" in await response.text()
        response = await sign_in(http, served.base, "alice")  # even the right one, for now
        assert response.status == 429
        assert int(response.headers["Retry-After"]) > 0
        served.clock.now += 301
        assert (await sign_in(http, served.base, "alice")).status == 303


async def test_unknown_login_reads_like_a_wrong_password(served: Served) -> None:
    async with new_http() as http:
        response = await sign_in(http, served.base, "mallory")
        assert response.status == 401
        assert "账号或密码错误" in await response.text()


async def test_sign_in_form_needs_its_token(served: Served) -> None:
    async with new_http() as http:
        response = await http.post(
            f"{served.base}/login",
            data={"login": "alice", "password": PASSWORD},
            allow_redirects=False,
        )
        assert response.status == 403


async def test_state_changes_need_the_csrf_token_and_our_origin(served: Served) -> None:
    body = {"login": "carol", "role": "agent", "password": "long enough password"}
    async with client_for(served.base, "ada") as admin:
        url = f"{served.base}/api/users"
        async with admin.http.post(url, json=body, headers={"Origin": served.base}) as resp:
            assert resp.status == 403  # no token
        bad = {"X-CSRF-Token": "forged", "Origin": served.base}
        async with admin.http.post(url, json=body, headers=bad) as resp:
            assert resp.status == 403
        evil = {"X-CSRF-Token": admin.csrf, "Origin": "http://evil.example"}
        async with admin.http.post(url, json=body, headers=evil) as resp:
            assert resp.status == 403
        evil_referer = {"X-CSRF-Token": admin.csrf, "Referer": "http://evil.example/page"}
        async with admin.http.post(url, json=body, headers=evil_referer) as resp:
            assert resp.status == 403
        status, created = await admin.post_json("/api/users", body)
        assert status == 201 and isinstance(created, dict) and created["login"] == "carol"
        # the form field works as well as the header (a plain HTML form's sign-out)
        async with admin.http.post(
            f"{served.base}/logout",
            data={"csrf_token": admin.csrf},
            headers={"Origin": served.base},
            allow_redirects=False,
        ) as resp:
            assert resp.status == 303
        assert (await admin.get_json("/api/me"))[0] == 401  # the session is gone


async def test_sessions_expire_when_idle_and_after_their_lifetime(served: Served) -> None:
    async with client_for(served.base, "alice") as alice:
        served.clock.now += 599
        assert (await alice.get_json("/api/me"))[0] == 200
        served.clock.now += 601  # idle for longer than session_idle_s (600)
        assert (await alice.get_json("/api/me"))[0] == 401
    async with client_for(served.base, "alice") as alice:
        for _ in range(7):  # active all the time, but the lifetime (3600 s) still ends it
            served.clock.now += 500
            assert (await alice.get_json("/api/me"))[0] == 200
        served.clock.now += 500
        assert (await alice.get_json("/api/me"))[0] == 401


async def test_after_sign_in_goes_only_to_our_own_pages(served: Served) -> None:
    async with new_http() as http:
        async with http.get(f"{served.base}/login") as page:
            token = page.cookies["cc_login_csrf"].value
        response = await http.post(
            f"{served.base}/login",
            data={
                "login": "alice",
                "password": PASSWORD,
                "csrf_token": token,
                "next": "//evil.example/x",
            },
            allow_redirects=False,
        )
        assert response.status == 303
        assert response.headers["Location"] == "/seat"


async def test_cookies_are_secure_when_configured(tmp_path: Path) -> None:
    async for served in _serve(tmp_path, CtiSettings(cookie_secure="always")):
        async with new_http() as http:
            async with http.get(f"{served.base}/login") as page:
                form_cookie = page.headers["Set-Cookie"]
                token = page.cookies["cc_login_csrf"].value
            assert "Secure" in form_cookie and "HttpOnly" in form_cookie
            # A browser sends Secure cookies over HTTPS only; say it as a proxy would.
            response = await http.post(
                f"{served.base}/login",
                data={"login": "alice", "password": PASSWORD, "csrf_token": token},
                headers={"Cookie": f"cc_login_csrf={token}"},
                allow_redirects=False,
            )
            assert response.status == 303
            cookie = next(
                v for v in response.headers.getall("Set-Cookie") if v.startswith("cc_session=")
            )
            assert "Secure" in cookie


@pytest.mark.parametrize(
    ("login", "status"), [(None, 401), ("alice", 403), ("sue", 403), ("ada", 200)]
)
async def test_user_list_is_for_admins(served: Served, login: str | None, status: int) -> None:
    async with client_for(served.base, login) as client:
        assert (await client.get_json("/api/users"))[0] == status


async def test_no_password_or_session_id_reaches_the_log(served: Served) -> None:
    stream = io.StringIO()
    configure_logging(LoggingSettings(format="json", level="debug"), stream=stream)
    try:
        async with new_http() as http:
            await sign_in(http, served.base, "alice", "wrong-but-secret-pw")
            response = await sign_in(http, served.base, "alice")
            token = response.cookies["cc_session"].value
    finally:
        logging.getLogger().handlers.clear()
    output = stream.getvalue()
    assert "signed in" in output and "sign-in refused" in output
    for secret in (PASSWORD, "wrong-but-secret-pw", token):
        assert secret not in output


def test_expired_sessions_are_purged(tmp_path: Path) -> None:
    clock = Clock()
    store = AccountStore(sqlite_engine(tmp_path), clock=clock)
    add_users(store)
    found = store.find_user("alice")
    assert found is not None
    token, _ = store.create_session(found[0], 60)
    clock.now += 61
    assert store.purge_expired() == 1
    assert store.load_session(token, 600) is None
    with store.engine.connect() as connection:
        assert connection.execute(text("select count(*) from cti_sessions")).scalar() == 0
