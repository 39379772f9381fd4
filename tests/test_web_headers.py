"""Security headers on every response (pages, JSON, errors, streamed audio) and signed
links kept out of the logs, the aiohttp log of malformed requests included."""

from __future__ import annotations

import asyncio
import io
import time
from pathlib import Path

import aiohttp
from aiohttp import web
from cti_fixtures import serving, sqlite_engine
from service_fixtures import service_settings

from callcenter.cti.feature import CtiFeature
from callcenter.log import configure_logging
from callcenter.log_settings import LoggingSettings
from callcenter.service import Service
from callcenter.web.headers import install, page_policy, script_hashes

WANTED = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


async def _audio(request: web.Request) -> web.StreamResponse:
    """Like the recordings' playback: the handler sends the headers itself."""
    response = web.StreamResponse()
    response.content_type = "audio/wav"
    await response.prepare(request)
    await response.write(b"RIFF")
    await response.write_eof()
    return response


async def _refused(_request: web.Request) -> web.Response:
    raise web.HTTPForbidden(text='{"error": "no"}', content_type="application/json")


async def test_every_response_carries_the_security_headers(tmp_path: Path) -> None:
    engine = sqlite_engine(tmp_path)
    cti = CtiFeature(engine)
    app = web.Application()
    install(app)
    cti.routes(app)
    app.router.add_get("/audio.wav", _audio)
    app.router.add_get("/refused", _refused)
    async with serving(app) as base, aiohttp.ClientSession() as http:
        for path in ("/login", "/recordings", "/audio.wav", "/refused", "/api/me", "/nowhere"):
            async with http.get(base + path, allow_redirects=False) as resp:
                for name, value in WANTED.items():
                    assert resp.headers.get(name) == value, (path, name)
                policy = resp.headers.get("Content-Security-Policy", "")
                for part in ("default-src 'self'", "frame-ancestors 'none'", "object-src 'none'",
                             "base-uri 'self'"):  # fmt: skip
                    assert part in policy, (path, part)
                assert "'unsafe-inline'" not in policy.split("script-src", 1)[-1].split(";")[0]
    engine.dispose()


def test_a_page_admits_its_own_inline_scripts_and_nothing_injected() -> None:
    page = (
        '<script type="application/json" id="t">{"a": 1}</script>'
        "<script>go();</script><script src=/x.js></script>"
    )
    assert len(script_hashes(page)) == 1  # data blocks and external scripts are not hashed
    policy = page_policy(page)
    injected = page_policy("<script>go();</script><script>steal();</script>")
    assert script_hashes(page)[0] in policy
    assert "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";")[0]
    assert len(script_hashes("<script>steal();</script>")) == 1
    assert script_hashes("<script>steal();</script>")[0] not in policy
    assert script_hashes("<script>steal();</script>")[0] in injected


async def test_a_malformed_request_is_logged_without_its_signature() -> None:
    out = io.StringIO()
    configure_logging(LoggingSettings(), stream=out)
    app = web.Application()
    async with serving(app) as base:
        host, port = base.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(
            b"GET /recordings/play/a.wav?exp=1&sig=SIGNATUREVALUE\x01 HTTP/1.1\r\nHost: x\r\n\r\n"
        )
        await writer.drain()
        assert (await reader.read(12)).startswith(b"HTTP/1.")
        writer.close()
        deadline = time.monotonic() + 30
        while "Error handling request" not in out.getvalue():
            assert time.monotonic() < deadline, "the malformed request was never logged"
            await asyncio.sleep(0.01)
    text = out.getvalue()
    assert "SIGNATUREVALUE" not in text
    assert "sig=***" in text


async def test_the_composed_service_sends_them_on_its_pages_and_probes(tmp_path: Path) -> None:
    service = Service(service_settings(tmp_path))
    async with serving(service.build_web_app()) as base, aiohttp.ClientSession() as http:
        for path in ("/login", "/recordings", "/healthz", "/api/calls"):
            async with http.get(base + path, allow_redirects=False) as resp:
                assert resp.headers.get("X-Frame-Options") == "DENY", path
                assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"], path
    service.engine.dispose()
