"""Helpers for the sign-in and CTI tests: a migrated database, a served app, signed-in
HTTP clients (real cookies over real sockets)."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp import web
from sqlalchemy import Engine

import callcenter.cti.store  # noqa: F401  (the CTI tables in the metadata)
from callcenter.cti.accounts import AccountStore, hash_password
from callcenter.db import create_engine_for, upgrade

PASSWORD = "correct horse 电池"
# One real scrypt hash shared by the test users: hashing is slow on purpose.
_HASH: list[str] = []


def sqlite_engine(tmp_path: Path) -> Engine:
    url = f"sqlite:///{tmp_path / 'cc.db'}"
    upgrade(url)
    return create_engine_for(url)


def add_users(store: AccountStore) -> None:
    """alice (agent at PJSIP/1001), bob (agent at PJSIP/1002), sue (supervisor), ada (admin)."""
    if not _HASH:
        _HASH.append(hash_password(PASSWORD))
    for login, role, interface in (
        ("alice", "agent", "PJSIP/1001"),
        ("bob", "agent", "PJSIP/1002"),
        ("sue", "supervisor", ""),
        ("ada", "admin", ""),
    ):
        store.add_user(
            login,
            role,
            "",
            display_name=login.title(),
            agent=f"Agent {interface[-4:]}" if interface else "",
            interface=interface,
            password_hash=_HASH[0],
        )


@contextlib.asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


_CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Client:
    http: aiohttp.ClientSession
    base: str
    csrf: str = ""

    def headers(self) -> dict[str, str]:
        return {"X-CSRF-Token": self.csrf, "Origin": self.base}

    async def post_json(self, path: str, body: object) -> tuple[int, object]:
        async with self.http.post(self.base + path, json=body, headers=self.headers()) as resp:
            data = await resp.json() if resp.content_type == "application/json" else None
            return resp.status, data

    async def get_json(self, path: str) -> tuple[int, object]:
        async with self.http.get(self.base + path) as resp:
            data = await resp.json() if resp.content_type == "application/json" else None
            return resp.status, data


def new_http() -> aiohttp.ClientSession:
    # unsafe=True: keep cookies set by an IP-address host (127.0.0.1)
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def sign_in(
    http: aiohttp.ClientSession, base: str, login: str, password: str = PASSWORD
) -> aiohttp.ClientResponse:
    async with http.get(f"{base}/login") as page:
        token = _CSRF_FIELD.search(await page.text())
    assert token is not None
    return await http.post(
        f"{base}/login",
        data={"login": login, "password": password, "csrf_token": token.group(1), "next": "/"},
        headers={"Origin": base},
        allow_redirects=False,
    )


@contextlib.asynccontextmanager
async def client_for(base: str, login: str | None) -> AsyncIterator[Client]:
    """A client signed in as ``login`` (None: anonymous), with its CSRF token."""
    async with new_http() as http:
        client = Client(http, base)
        if login is not None:
            response = await sign_in(http, base, login)
            assert response.status == 303, f"sign-in as {login} gave {response.status}"
            status, me = await client.get_json("/api/me")
            assert status == 200 and isinstance(me, dict)
            client.csrf = me["csrf_token"]
        yield client
