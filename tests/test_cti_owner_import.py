"""Owners imported from the admin screen's upload: admins only, with the CSRF token; a
file checked whole (a bad row imports nothing and is named by row and column), then
written while its progress can be followed; a dry run writes nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from cti_fixtures import Client, add_users, client_for, serving, sqlite_engine

from callcenter.cti.feature import CtiFeature
from callcenter.web.headers import install as install_security_headers

DEMO_OWNERS = Path(__file__).resolve().parent.parent / "config" / "demo_owners.csv"


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[str, CtiFeature]]:
    engine = sqlite_engine(tmp_path)
    cti = CtiFeature(engine)
    add_users(cti.accounts)
    await cti.start()
    app = web.Application()
    install_security_headers(app)
    cti.routes(app)
    try:
        async with serving(app) as base:
            yield base, cti
    finally:
        await cti.stop()
        engine.dispose()


async def upload(client: Client, name: str, data: bytes, dry_run: bool = False) -> tuple[int, Any]:
    url = f"{client.base}/api/owners/import?name={name}&dry_run={'true' if dry_run else 'false'}"
    headers = {**client.headers(), "Content-Type": "application/octet-stream"}
    async with client.http.post(url, data=data, headers=headers) as response:
        return response.status, await response.json()


async def finished(client: Client, job_id: int) -> dict[str, Any]:
    while True:
        status, job = await client.get_json(f"/api/owners/import/{job_id}")
        assert status == 200 and isinstance(job, dict)
        if job["state"] not in ("checking", "writing"):
            return job
        await asyncio.sleep(0.05)  # polling the job, as the page does


async def test_an_admin_imports_owners_and_follows_the_progress(
    served: tuple[str, CtiFeature],
) -> None:
    base, cti = served
    data = DEMO_OWNERS.read_bytes()
    async with client_for(base, "ada") as ada:
        status, job = await upload(ada, "owners.csv", data, dry_run=True)
        assert status == 202 and job["dry_run"] is True
        checked = await finished(ada, job["id"])
        assert (
            checked["state"] == "done" and checked["created"] == 300
        )  # 328 rows: some owners have two units
        assert await cti.directory.lookup("13380668968") is None  # a dry run writes nothing

        status, job = await upload(ada, "owners.csv", data)
        done = await finished(ada, job["id"])
        assert (done["state"], done["rows"], done["created"], done["updated"]) == (
            "done",
            328,
            300,
            0,
        )
        assert done["done"] == done["total"] == 300
    owner = await cti.directory.lookup("13380668968")
    assert owner is not None and owner.name == "郭婉然"
    # a housekeeper added as a user afterwards is rung at their seat for their owners
    async with client_for(base, "ada") as ada:
        status, _ = await ada.post_json("/api/users", {
            "login": "caolin", "role": "agent", "password": "housekeeper-1",
            "display_name": "曹琳", "interface": "PJSIP/1030",
        })  # fmt: skip
        assert status == 201
    info = await cti.lookup("13380668968")
    assert info is not None and info.housekeeper_interface == "PJSIP/1030"


async def test_a_bad_row_imports_nothing_and_is_named(served: tuple[str, CtiFeature]) -> None:
    base, cti = served
    bad = "业主编号,姓名,电话\nA1,张三,13812345678\nA2,,not-a-phone\n".encode()
    async with client_for(base, "ada") as ada:
        _status, job = await upload(ada, "owners.csv", bad)
        refused = await finished(ada, job["id"])
    assert refused["state"] == "refused" and refused["problem_count"] >= 1
    assert any(p.startswith("row 3") for p in refused["problems"]), refused["problems"]
    assert await cti.directory.lookup("13812345678") is None


async def test_only_admins_with_the_csrf_token_may_import(served: tuple[str, CtiFeature]) -> None:
    base, _cti = served
    async with client_for(base, "sue") as sue:
        status, body = await upload(sue, "owners.csv", b"x")
        assert status == 403 and body["error"]["code"] == "role_forbidden"
    async with client_for(base, "ada") as ada:
        ada.csrf = "wrong"
        status, body = await upload(ada, "owners.csv", b"x")
        assert status == 403 and body["error"]["code"] == "csrf"
        ada.csrf = ""
    async with client_for(base, "ada") as ada:
        status, body = await upload(ada, "owners.exe", b"x")
        assert status == 400 and "name" in body["error"]["en"]
