"""API tokens over the whole service on PostgreSQL: made with the command, sent as
``Authorization: Bearer``, refused once revoked or expired, bound by their role (an
agent-role token hears no agent's recordings) and scopes, audited; no CSRF token with a
bearer token, while a browser session still needs one."""

from __future__ import annotations

import argparse
import dataclasses
import io
import os
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from cti_fixtures import add_users, client_for, serving, sqlite_engine
from service_fixtures import service_settings
from store_fixtures import make_record, pg_url, postgres_schema

from callcenter.calls.store import CallStore
from callcenter.config import Settings
from callcenter.cti.cli import cmd_tokens_create, cmd_tokens_revoke
from callcenter.cti.tokens import TokenAudit, TokenStore
from callcenter.db import upgrade
from callcenter.recordings.scanner import scan
from callcenter.recordings.store import RecordingStore
from callcenter.recordings.synth import write_pcm_wav
from callcenter.service import Service

pytestmark = pytest.mark.postgres


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    with postgres_schema() as schema:
        base = service_settings(tmp_path)
        yield dataclasses.replace(
            base, database=dataclasses.replace(base.database, url=pg_url(schema))
        )


@pytest.fixture
async def served(settings: Settings) -> AsyncIterator[tuple[str, Service]]:
    upgrade(settings.database.url)
    service = Service(settings)
    add_users(service.cti.accounts)
    try:
        async with serving(service.build_web_app()) as url:
            yield url, service
    finally:
        service.engine.dispose()


def make_token(settings: Settings, name: str, role: str, *scopes: str) -> str:
    """``callcenter tokens create --name NAME --role ROLE``: the token is stdout's one line."""
    args = argparse.Namespace(name=name, role=role, scope=list(scopes) or None, expires_days=None)
    out = io.StringIO()
    with redirect_stdout(out):
        assert cmd_tokens_create(args, lambda: settings) == 0
    lines = out.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cct_")
    return lines[0]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def status_of(
    http: aiohttp.ClientSession, method: str, url: str, **kwargs: Any
) -> tuple[int, Any]:
    async with http.request(method, url, **kwargs) as response:
        body = await response.json() if response.content_type == "application/json" else None
        return response.status, body


async def test_a_token_from_the_command_reads_calls_until_it_is_revoked(
    settings: Settings, served: tuple[str, Service]
) -> None:
    base, service = served
    token = make_token(settings, "bi", "supervisor")
    stored = TokenStore(service.engine).find("bi")
    assert stored is not None and token not in repr(stored) and stored.hint == token[:8]
    async with aiohttp.ClientSession() as http:
        status, body = await status_of(http, "GET", f"{base}/api/calls", headers=bearer(token))
        assert status == 200 and body["calls"] == []
        status, body = await status_of(http, "GET", f"{base}/api/calls")
        assert status == 401 and body["error"]["code"] == "sign_in_first"
        status, body = await status_of(
            http, "GET", f"{base}/api/calls", headers=bearer(token[:-1] + "x")
        )
        assert status == 401 and set(body["error"]) == {"code", "zh", "en"}
        # the use is written down, with the route and not the ids in it
        trail = service.cti.records.audit_trail(login="token:bi")
        assert [(r["action"], r["detail"]) for r in trail] == [("api_token", "GET /api/calls")]

        revoke = argparse.Namespace(token="bi")
        assert cmd_tokens_revoke(revoke, lambda: settings) == 0
        status, body = await status_of(http, "GET", f"{base}/api/calls", headers=bearer(token))
        assert status == 401 and body["error"]["code"] == "bad_token"


async def test_an_expired_token_is_refused(served: tuple[str, Service]) -> None:
    base, service = served
    now = [time.time()]
    store = TokenStore(service.engine, clock=lambda: now[0])
    token, _made = store.create("short", "admin", created_by="test", lifetime_s=60)
    service.cti.tokens.clock = lambda: now[0] + 61
    async with aiohttp.ClientSession() as http:
        status, body = await status_of(http, "GET", f"{base}/api/calls", headers=bearer(token))
        assert status == 401 and body["error"]["code"] == "bad_token"


async def test_an_agent_token_hears_no_agents_recording(
    settings: Settings, served: tuple[str, Service]
) -> None:
    base, service = served
    root = Path(settings.recordings.root)
    old = time.time() - 3600
    os.utime(write_pcm_wav(root / "1795735000.2.wav", 1.0), (old, old))
    CallStore(service.engine).upsert_calls(
        [make_record("1795735000.2", started_at=1_795_735_000.0, agent="Agent 1002")]
    )
    scan(root, RecordingStore(service.engine))
    recording = RecordingStore(service.engine).get_by_path("1795735000.2.wav")
    assert recording is not None
    agent_token = make_token(settings, "crm-agent", "agent")
    boss_token = make_token(settings, "qa-tool", "supervisor")
    url = f"{base}/api/recordings/{recording['id']}"
    async with aiohttp.ClientSession() as http:
        status, body = await status_of(http, "GET", url, headers=bearer(agent_token))
        assert status == 403 and body["error"]["code"] == "not_your_call"
        status, _body = await status_of(http, "GET", url, headers=bearer(boss_token))
        assert status == 200
        # an agent token is no admin either
        status, _body = await status_of(
            http, "GET", f"{base}/api/tokens", headers=bearer(agent_token)
        )
        assert status == 403


async def test_a_bearer_token_needs_no_csrf_but_a_session_does(
    settings: Settings, served: tuple[str, Service]
) -> None:
    base, _service = served
    writer = make_token(settings, "provisioning", "admin", "read", "write")
    reader = make_token(settings, "reporting", "admin")
    body = {"name": "crm", "role": "supervisor"}
    async with aiohttp.ClientSession() as http:
        status, made = await status_of(
            http, "POST", f"{base}/api/tokens", json=body, headers=bearer(writer)
        )
        assert status == 201 and made["token"].startswith("cct_") and made["scopes"] == ["read"]
        # read scope only: no changes
        status, refused = await status_of(
            http, "POST", f"{base}/api/tokens", json={**body, "name": "x"}, headers=bearer(reader)
        )
        assert status == 403 and refused["error"]["code"] == "token_scope"
        status, listing = await status_of(http, "GET", f"{base}/api/tokens", headers=bearer(reader))
        assert status == 200
        assert {t["name"] for t in listing["tokens"]} == {"provisioning", "reporting", "crm"}
        assert all("token" not in t for t in listing["tokens"])
        status, revoked = await status_of(
            http, "DELETE", f"{base}/api/tokens/{made['id']}", headers=bearer(writer)
        )
        assert status == 200 and revoked["revoked_at"] is not None
        status, _ = await status_of(http, "GET", f"{base}/api/calls", headers=bearer(made["token"]))
        assert status == 401
    async with client_for(base, "ada") as ada:
        async with ada.http.post(
            f"{base}/api/tokens", json={**body, "name": "x"}, headers={"Origin": base}
        ) as response:
            assert response.status == 403 and (await response.json())["error"]["code"] == "csrf"
        status, _ = await ada.post_json("/api/tokens", {**body, "name": "y"})
        assert status == 201


def test_token_uses_are_written_down_once_a_minute_per_route() -> None:
    audit = TokenAudit(every_s=60)
    assert audit.due(1, "GET", "/api/calls", 0.0)
    assert not audit.due(1, "GET", "/api/calls", 59.0)
    assert audit.due(1, "GET", "/api/calls/{pbx}/{call_id}", 59.0)
    assert audit.due(2, "GET", "/api/calls", 59.0)
    assert audit.due(1, "GET", "/api/calls", 60.0)


def test_a_name_of_digits_is_a_name_first(tmp_path: Path) -> None:
    engine = sqlite_engine(tmp_path)
    store = TokenStore(engine)
    _token, zero = store.create("0", "agent", created_by="test")
    _token, other = store.create("other", "agent", created_by="test")
    assert store.revoke("0").id == zero.id  # by name
    assert store.revoke(str(other.id)).name == "other"  # no token named "2": by id
    engine.dispose()
