"""The IVR flows over HTTP: supervisors and admins read them, admins check and put a file
in place; a file that would break the set is refused naming file:line:column and changes
nothing, a good one is written and served at once."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from test_routing_http import SUPERVISOR, fake_sign_in

from callcenter.ivr.http import setup
from callcenter.ivr.registry import FlowRegistry

FLOWS = Path(__file__).resolve().parent.parent / "ivr_flows"
ADMIN = {"X-Test-Role": "admin"}
SMALL = "flow: small\nstart: bye\nnodes:\n  bye: {kind: play, prompt: welcome, next: gone}\n"
GOOD = "flow: small\nstart: bye\nnodes:\n  bye: {kind: hangup}\n"


@pytest.fixture
async def api(
    tmp_path: Path,
) -> AsyncIterator[tuple[TestClient[web.Request, web.Application], Path, FlowRegistry]]:
    flows = tmp_path / "flows"
    shutil.copytree(FLOWS, flows)
    registry = FlowRegistry(flows, queues=["support", "repair", "complaint"])
    assert registry.reload() == []
    app = web.Application(middlewares=[fake_sign_in])
    setup(app, registry)
    async with TestClient(TestServer(app)) as client:
        yield client, flows, registry


async def test_the_flows_are_listed_with_their_nodes_and_text(api: Any) -> None:
    client, _flows, _registry = api
    assert (await client.get("/api/ivr/flows", headers={"X-Test-Role": "agent"})).status == 403
    data = await (await client.get("/api/ivr/flows", headers=SUPERVISOR)).json()
    assert [f["file"] for f in data["files"]] == ["hotline.yaml"] and data["refused"] == []
    (hotline,) = data["flows"]
    assert hotline["start"] == "hours"
    welcome = next(n for n in hotline["nodes"] if n["id"] == "welcome")
    assert welcome["type"] == "play" and welcome["fields"]["next"] == "identify"
    source = await (await client.get("/api/ivr/flows/hotline.yaml", headers=SUPERVISOR)).json()
    assert source["text"].startswith("# The property-management hotline")
    assert (await client.get("/api/ivr/flows/..%2Fsecret.yaml", headers=SUPERVISOR)).status in (
        400,
        404,
    )


async def test_a_broken_file_is_refused_naming_its_lines(api: Any) -> None:
    client, flows, registry = api
    reply = await client.post(
        "/api/ivr/flows/small.yaml/check", json={"text": SMALL}, headers=ADMIN
    )
    checked = await reply.json()
    assert reply.status == 200 and checked["ok"] is False
    assert any(
        p["text"].startswith("small.yaml:4:") and "gone" in p["reason"] for p in checked["problems"]
    )
    assert (
        await client.put("/api/ivr/flows/small.yaml", json={"text": SMALL}, headers=SUPERVISOR)
    ).status == 403
    reply = await client.put("/api/ivr/flows/small.yaml", json={"text": SMALL}, headers=ADMIN)
    assert reply.status == 400
    error = (await reply.json())["error"]
    assert error["code"] == "flow_refused" and "small.yaml:4:" in error["en"]
    assert not (flows / "small.yaml").exists() and "small" not in registry.flows
    # breaking a file another flow needs is refused too: the set is checked as a whole
    text = (flows / "hotline.yaml").read_text(encoding="utf-8")
    broken = text.replace("next: identify", "next: nowhere", 1)
    line = text[: text.index("next: identify")].count("\n") + 1
    reply = await client.put("/api/ivr/flows/hotline.yaml", json={"text": broken}, headers=ADMIN)
    assert reply.status == 400 and f"hotline.yaml:{line}:" in (await reply.json())["error"]["en"]
    # a YAML mistake is said in Chinese too, for the Chinese page
    reply = await client.put("/api/ivr/flows/qa.yaml", json={"text": "bad: [yaml"}, headers=ADMIN)
    error = (await reply.json())["error"]
    assert "qa.yaml:1:11: YAML 语法错误：此处应为 ',' 或 ']'，实际是 文件结尾" in error["zh"]
    assert "qa.yaml:1:11: YAML syntax: expected ',' or ']'" in error["en"]


async def test_a_good_file_is_written_and_served(api: Any) -> None:
    client, flows, registry = api
    reply = await client.put("/api/ivr/flows/small.yaml", json={"text": GOOD}, headers=ADMIN)
    assert reply.status == 200, await reply.text()
    assert (flows / "small.yaml").read_text(encoding="utf-8") == GOOD
    assert "small" in registry.flows and "hotline" in registry.flows
    reply = await client.put("/api/ivr/flows/bad name.yaml", json={"text": GOOD}, headers=ADMIN)
    assert reply.status == 400
