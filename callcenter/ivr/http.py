"""The IVR flows over HTTP: read them (supervisors, admins), check a file and put it in
place (admins). A file is checked with the other flows before it is written; a refused
one names every problem as ``file:line:column: reason`` and changes nothing."""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from aiohttp import web

from callcenter.core.errors import ApiError
from callcenter.core.yamlfile import write_atomically
from callcenter.ivr import api_doc as ivr_doc
from callcenter.ivr.flow_files import (
    BadFlowName,
    check_candidate,
    check_name,
    flow_view,
    listed,
)
from callcenter.ivr.registry import FlowRegistry
from callcenter.web.openapi import describe
from callcenter.web.security import current_user, require_roles
from callcenter.web.validation import InvalidInput, read_object

log = structlog.get_logger(__name__)

REGISTRY_KEY: web.AppKey[FlowRegistry] = web.AppKey("ivr_flows", FlowRegistry)


def _name(request: web.Request) -> str:
    try:
        return check_name(request.match_info["file"])
    except BadFlowName as exc:
        raise ApiError(
            400, "bad_flow_name", "流程文件名无效（例如 hotline.yaml）", str(exc)
        ) from None


async def _text(request: web.Request) -> str:
    try:
        body = await read_object(request)
    except InvalidInput as exc:
        raise exc.error() from None
    text = str(body["text"])  # its length checked against the description already
    return text


@require_roles("supervisor", "admin")
async def list_flows(request: web.Request) -> web.Response:
    registry = request.app[REGISTRY_KEY]
    return web.json_response(
        {
            "files": await asyncio.to_thread(listed, registry.directory),
            "flows": [flow_view(f, registry.directory) for f in registry.flows.values()],
            "refused": [str(p) for p in registry.refused],
        }
    )


@require_roles("supervisor", "admin")
async def flow_source(request: web.Request) -> web.Response:
    registry = request.app[REGISTRY_KEY]
    path = registry.directory / _name(request)
    try:
        text = await asyncio.to_thread(path.read_text, encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        raise ApiError(404, "no_such_flow", "没有这个流程文件", "no such flow file") from None
    return web.json_response({"file": path.name, "text": text})


async def _problems(request: web.Request, name: str, text: str) -> list[dict[str, Any]]:
    registry = request.app[REGISTRY_KEY]
    return await asyncio.to_thread(
        check_candidate, registry.directory, name, text,
        queues=registry.queues, catalogue=registry.catalogue,
    )  # fmt: skip


@require_roles("admin")
async def check_flow(request: web.Request) -> web.Response:
    name = _name(request)
    problems = await _problems(request, name, await _text(request))
    return web.json_response({"file": name, "ok": not problems, "problems": problems})


@require_roles("admin")
async def put_flow(request: web.Request) -> web.Response:
    registry = request.app[REGISTRY_KEY]
    name = _name(request)
    text = await _text(request)
    problems = await _problems(request, name, text)
    if problems:
        zh, en = ("; ".join(p["message"][lang] for p in problems[:20]) for lang in ("zh", "en"))
        raise ApiError(400, "flow_refused", f"流程有误，未保存：{zh}", f"not saved: {en}")
    target = registry.directory / name
    await asyncio.to_thread(write_atomically, target, text)
    refused = await asyncio.to_thread(registry.reload)
    user = current_user(request)
    log.info("ivr flow file saved", file=name, by=user.login if user else "", reloaded=not refused)
    return web.json_response({"file": name, "ok": True, "problems": []})


def setup(app: web.Application, registry: FlowRegistry) -> None:
    describe(app, ivr_doc.PART)
    app[REGISTRY_KEY] = registry
    app.router.add_get("/api/ivr/flows", list_flows)
    app.router.add_get("/api/ivr/flows/{file}", flow_source)
    app.router.add_post("/api/ivr/flows/{file}/check", check_flow)
    app.router.add_put("/api/ivr/flows/{file}", put_flow)
