"""Clients that hold web connections without finishing their requests cannot take the
service down: the pure gate and framing, the accept-error summary, and the attack against
the running service (half-sent requests from one address while others are served)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import errno
import json
import math
import os
import resource
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
from aiohttp import web
from service_fixtures import service_settings
from structlog.testing import capture_logs

from callcenter import accept_errors
from callcenter.accept_errors import AcceptErrorSummary
from callcenter.service import Service
from callcenter.testing import running_simulator
from callcenter.web.connection_gate import (
    ConnectionGate,
    Phase,
    Refusal,
    RequestFraming,
    connection_budget,
)
from callcenter.web.gated_site import GatedTCPSite

ROOT = Path(__file__).resolve().parent.parent
AGI_ENV = (ROOT / "tests" / "data" / "fastagi_env.txt").read_text().split("\n\n")[0] + "\n\n"
HALF_REQUEST = b"GET /healthz HTTP/1.1\r\nHost: callcenter\r\nUser-Agent: slow"
ATTACKER = "127.0.0.2"  # the loopback network: the attack comes from another peer address


def gate(**overrides: float) -> ConnectionGate:
    limits: dict[str, float] = dict(max_per_address=2, budget=10, header_timeout_s=10,
                                    body_timeout_s=30)  # fmt: skip
    limits.update(overrides)
    return ConnectionGate(
        max_per_address=int(limits["max_per_address"]),
        budget=limits["budget"],
        header_timeout_s=limits["header_timeout_s"],
        body_timeout_s=limits["body_timeout_s"],
    )


# --- framing ---------------------------------------------------------------------------------
def test_framing_follows_headers_bodies_and_pipelined_requests() -> None:
    framing = RequestFraming()
    assert framing.phase is Phase.HEADERS  # a new connection owes its first header block
    framing.feed(b"POST /api/x HTTP/1.1\r\nContent-Length: 5\r\n")
    assert framing.phase is Phase.HEADERS
    framing.feed(b"\r\nab")
    assert framing.phase is Phase.BODY
    framing.feed(b"cdeGET / HTTP/1.1\r\n")  # the body's end, then the next request begins
    assert framing.phase is Phase.HEADERS and framing.requests == 1
    framing.feed(b"\r\n")
    assert framing.phase is Phase.BETWEEN and framing.requests == 2
    # A header block split anywhere, even inside its blank line, is found.
    split = RequestFraming()
    for byte in b"GET / HTTP/1.1\r\nHost: x\r\n\r\n":
        split.feed(bytes([byte]))
    assert split.phase is Phase.BETWEEN and split.requests == 1


def test_framing_chunked_bodies_and_upgrades() -> None:
    framing = RequestFraming()
    framing.feed(b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r")
    assert framing.phase is Phase.BODY
    framing.feed(b"\n\r\nGET /")
    assert framing.phase is Phase.HEADERS and framing.requests == 1
    upgraded = RequestFraming()
    upgraded.feed(b"GET /ws/seat HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
    upgraded.feed(b"\x81\x85anything the websocket says")
    assert upgraded.phase is Phase.UPGRADED
    firefox = RequestFraming()  # Connection as a list, as Firefox sends it
    firefox.feed(
        b"GET /ws HTTP/1.1\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n"
    )
    assert firefox.phase is Phase.UPGRADED
    # An upgrade aiohttp would not make is a plain request: the next one is still followed.
    for headers in (b"Upgrade: h2c\r\nConnection: Upgrade", b"Upgrade: websocket"):
        plain = RequestFraming()
        plain.feed(b"GET / HTTP/1.1\r\n" + headers + b"\r\n\r\nGET /next")
        assert plain.phase is Phase.HEADERS and plain.requests == 1
    endless = RequestFraming()
    endless.feed(b"GET / HTTP/1.1\r\n" + b"X: " + b"y" * 70_000)
    assert endless.too_large


# --- the gate --------------------------------------------------------------------------------
def test_connections_beyond_the_per_address_limit_or_the_budget_are_refused() -> None:
    g = gate(max_per_address=2, budget=3)
    assert g.admit("a1", "10.0.0.1", 0.0) is None
    assert g.admit("a2", "10.0.0.1", 0.0) is None
    assert g.admit("a3", "10.0.0.1", 0.0) is Refusal.PER_ADDRESS
    assert g.admit("b1", "10.0.0.2", 0.0) is None
    assert g.admit("c1", "10.0.0.3", 0.0) is Refusal.BUDGET
    g.closed("a1")
    g.closed("a1")  # a second close changes nothing
    assert g.admit("a4", "10.0.0.1", 1.0) is None
    assert g.open_count == 3
    assert g.refused == {Refusal.PER_ADDRESS: 1, Refusal.BUDGET: 1}
    assert g.tally() == {"late": 0, "refused_per_address": 1, "refused_budget": 1}


def test_a_header_block_must_be_complete_in_time_however_slowly_it_trickles() -> None:
    g = gate(header_timeout_s=10)
    g.admit("silent", "10.0.0.1", 0.0)
    g.admit("trickle", "10.0.0.2", 0.0)
    g.admit("prompt", "10.0.0.3", 0.0)
    for second in range(1, 10):  # a byte a second does not move the deadline
        assert g.received("trickle", b"G", float(second))
    g.received("prompt", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 1.0)
    assert g.overdue(9.9) == []
    assert sorted(g.overdue(10.0)) == ["silent", "trickle"]  # type: ignore[type-var]
    assert g.open_count == 1 and g.timed_out == 2
    assert g.deadline("prompt") == math.inf  # the handler's time is not limited here
    # The next request on the kept connection gets its own ten seconds from its first byte.
    g.received("prompt", b"GET /next", 50.0)
    assert g.deadline("prompt") == 60.0


def test_a_body_may_arrive_slowly_but_not_stall() -> None:
    g = gate(body_timeout_s=30)
    g.admit("upload", "10.0.0.1", 0.0)
    g.received("upload", b"POST /x HTTP/1.1\r\nContent-Length: 100\r\n\r\n", 1.0)
    assert g.deadline("upload") == 31.0
    for second in range(20, 200, 20):  # a chunk every 20 s keeps it alive
        g.received("upload", b"x", float(second))
        assert g.overdue(float(second) + 29) == []
    assert g.overdue(180.0 + 30) == ["upload"]


def test_a_body_the_server_stopped_reading_is_not_the_clients_delay() -> None:
    g = gate(body_timeout_s=30)
    g.admit("upload", "10.0.0.1", 0.0)
    g.received("upload", b"POST /x HTTP/1.1\r\nContent-Length: 100\r\n\r\n", 0.0)
    g.server_paused("upload", 25.0)  # a slow handler: aiohttp paused reading
    assert g.overdue(54.0) == []
    assert g.overdue(55.0) == ["upload"]


def test_a_header_block_too_long_to_be_a_request_closes_the_connection() -> None:
    g = gate()
    g.admit("big", "10.0.0.1", 0.0)
    assert g.received("big", b"GET / HTTP/1.1\r\n", 0.0)
    assert not g.received("big", b"X: " + b"y" * 70_000, 0.0)


def test_the_budget_keeps_a_reserve_of_descriptors() -> None:
    assert connection_budget(20_000, 512) == 19_488
    assert connection_budget(1024, 2000) == 1  # the health check still gets in
    assert connection_budget(-1, 512) == math.inf  # RLIM_INFINITY


# --- accept errors ---------------------------------------------------------------------------
def test_accept_errors_are_reported_once_per_interval_with_their_count() -> None:
    summary = AcceptErrorSummary(interval_s=10)
    assert summary.record("EMFILE", 0.0) == {"EMFILE": 1}  # the first at once
    for n in range(1, 1000):
        assert summary.record("EMFILE", n / 1000) == {}
    assert summary.record("ENFILE", 5.0) == {}
    assert summary.next_due == 10.0
    assert summary.due(9.9) == {}
    assert summary.due(10.0) == {"EMFILE": 999, "ENFILE": 1}
    assert summary.next_due is None and summary.due(11.0) == {}
    # Errors going on: one report per interval, not one per error.
    assert summary.record("EMFILE", 12.0) == {}
    assert summary.due(20.0) == {"EMFILE": 1}
    assert summary.record("EMFILE", 45.0) == {"EMFILE": 1}  # after a quiet spell: at once


async def test_the_loop_handler_summarises_accept_errors_and_passes_on_the_rest() -> None:
    loop = asyncio.get_running_loop()
    passed: list[str] = []
    loop.set_exception_handler(lambda _loop, context: passed.append(context["message"]))
    written: list[dict[str, object]] = []
    undo = accept_errors.install(loop, interval_s=3600, clock=lambda: 0.0)
    original = accept_errors.log
    accept_errors.log = _Recorder(written)  # type: ignore[assignment]
    try:
        for _ in range(500):
            loop.call_exception_handler({
                "message": accept_errors.ACCEPT_ERROR_MESSAGE,
                "exception": OSError(errno.EMFILE, "Too many open files"),
                "socket": object(),
            })  # fmt: skip
        loop.call_exception_handler({"message": "something else"})
        # The same exhaustion reported elsewhere is summarised too, apart.
        for _ in range(3):
            loop.call_exception_handler({"message": "Fatal error on transport",
                                         "exception": OSError(errno.ENFILE, "table full")})  # fmt: skip
    finally:
        accept_errors.log = original
        undo()
        loop.set_exception_handler(None)
    assert [(w["error"], w["count"]) for w in written] == [
        ("socket.accept() out of system resource: EMFILE", 1)
    ]
    assert passed == ["something else"]


class _Recorder:
    def __init__(self, into: list[dict[str, object]]) -> None:
        self.into = into

    def error(self, _message: str, **fields: object) -> None:
        self.into.append(fields)


# --- the attack against the running service --------------------------------------------------
@contextlib.asynccontextmanager
async def running_service(tmp_path: Path, **web: float) -> AsyncIterator[Service]:
    """The whole service against an idle simulated PBX, with these ``web`` settings."""
    async with running_simulator(tmp_path / "pbx", seed=8, secret="s") as pbx:
        base = service_settings(tmp_path, pbx)
        settings = dataclasses.replace(base, web=dataclasses.replace(base.web, **web))
        service = Service(settings, managed_queues=set())
        await service.start()
        try:
            yield service
        finally:
            await service.stop()


async def half_sent_request(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(ATTACKER, 0))
    writer.write(HALF_REQUEST)
    await writer.drain()
    return reader, writer


async def closed_by_server(reader: asyncio.StreamReader, within_s: float) -> bool:
    """Whether the server closes the connection (EOF or reset) within ``within_s`` (a
    bound on a hang: the wait ends as soon as it closes)."""
    try:
        await asyncio.wait_for(reader.read(), within_s)  # whatever is left, up to the EOF
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    return True


async def first_agi_command(port: int, within_s: float) -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(AGI_ENV.encode())
        await writer.drain()
        return (await asyncio.wait_for(reader.readline(), within_s)).decode().strip()
    finally:
        writer.close()


async def test_half_sent_requests_are_closed_and_everyone_else_is_served(
    tmp_path: Path,
) -> None:
    held: list[asyncio.StreamWriter] = []
    async with running_service(
        tmp_path, header_timeout_s=1.0, body_timeout_s=1.0, max_connections_per_address=5
    ) as service:
        port = service.web_port
        assert port is not None
        attack = [await half_sent_request(port) for _ in range(8)]
        held = [writer for _, writer in attack]
        # Beyond the per-address limit: closed at once.
        beyond = await asyncio.gather(*(closed_by_server(r, 5.0) for r, _ in attack[5:]))
        assert beyond == [True, True, True]
        started = time.monotonic()
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{port}/healthz") as resp,
        ):
            assert resp.status == 200
        assert time.monotonic() - started < 1.0
        assert await first_agi_command(service.fastagi.port, 5.0)
        # The half-sent requests within the limit: closed once their header time is up.
        kept = await asyncio.gather(*(closed_by_server(r, 10.0) for r, _ in attack[:5]))
        assert kept == [True] * 5
        assert service.web_gate.timed_out == 5 and service.web_gate.open_count == 0
    for writer in held:
        writer.close()


async def test_a_request_that_finishes_in_time_is_answered_and_its_connection_kept(
    tmp_path: Path,
) -> None:
    async with running_service(tmp_path, header_timeout_s=0.5, body_timeout_s=0.5) as service:
        async with aiohttp.ClientSession() as http:
            for _ in range(3):  # kept alive past a header timeout, between its requests
                async with http.get(f"http://127.0.0.1:{service.web_port}/healthz") as resp:
                    assert resp.status == 200
                await asyncio.sleep(0.6)  # idle longer than a header timeout, on purpose
        assert service.web_gate.timed_out == 0


async def test_what_the_gate_closes_is_logged_as_counts_once_per_interval() -> None:
    app = web.Application()
    runner = web.AppRunner(app)
    await runner.setup()
    now = [0.0]
    site = GatedTCPSite(runner, "127.0.0.1", 0, gate(max_per_address=1, header_timeout_s=0.1),
                        clock=lambda: now[0])  # fmt: skip
    with capture_logs() as logs:
        await site.start()
        try:
            readers = []
            for _ in range(3):  # one kept, two refused at once
                reader, writer = await asyncio.open_connection("127.0.0.1", site.port)
                readers.append((reader, writer))
            assert await closed_by_server(readers[2][0], 5.0)
            now[0] = 11.0  # past the header time and the report interval
            assert await closed_by_server(readers[0][0], 5.0)
            deadline = time.monotonic() + 10
            while not any(e["event"] == "web connections closed by the gate" for e in logs):
                assert time.monotonic() < deadline, "no report"
                await asyncio.sleep(0.01)
        finally:
            for _, writer in readers:
                writer.close()
            await runner.cleanup()
    (report,) = [e for e in logs if e["event"] == "web connections closed by the gate"]
    assert (report["late"], report["refused_per_address"], report["refused_budget"]) == (1, 2, 0)


async def test_a_kept_alive_connection_without_a_next_request_is_closed(tmp_path: Path) -> None:
    async with running_service(tmp_path, idle_timeout_s=0.5) as service:
        assert service.web_port is not None
        reader, writer = await asyncio.open_connection("127.0.0.1", service.web_port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: callcenter\r\n\r\n")
        await writer.drain()
        assert (await asyncio.wait_for(reader.readline(), 10)).startswith(b"HTTP/1.1 200")
        assert await closed_by_server(reader, 10.0)  # the answer read, then the close
        writer.close()


async def test_a_request_body_that_stalls_is_closed(tmp_path: Path) -> None:
    async with running_service(tmp_path, body_timeout_s=0.5) as service:
        assert service.web_port is not None
        reader, writer = await asyncio.open_connection("127.0.0.1", service.web_port)
        writer.write(
            b"POST /login HTTP/1.1\r\nHost: callcenter\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n"
            b"login=supervisor&pass"
        )
        await writer.drain()
        assert await closed_by_server(reader, 10.0)
        writer.close()
        assert service.web_gate.timed_out == 1


async def test_web_connections_beyond_the_budget_are_refused_while_fastagi_answers(
    tmp_path: Path,
) -> None:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    held: list[asyncio.StreamWriter] = []
    # A budget of four web connections: the rest of the descriptors are the reserve.
    async with running_service(
        tmp_path, descriptor_reserve=soft - 4, max_connections_per_address=1000
    ) as service:
        port = service.web_port
        assert port is not None
        attack = [await half_sent_request(port) for _ in range(6)]
        held = [writer for _, writer in attack]
        beyond = await asyncio.gather(*(closed_by_server(r, 5.0) for r, _ in attack[4:]))
        assert beyond == [True, True]
        assert service.web_gate.open_count == 4
        assert await first_agi_command(service.fastagi.port, 5.0)
    for writer in held:
        writer.close()


# The service in a process of its own with few descriptors: it prints its ports, then runs
# until its standard input closes, and says how many web connections it held then.
LOW_LIMIT_SERVICE = """
import asyncio, dataclasses, json, resource, sys
from pathlib import Path

_, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (int(sys.argv[2]), hard))
from service_fixtures import service_settings
from structlog.testing import capture_logs
from callcenter.service import Service
from callcenter.testing import running_simulator

async def main() -> None:
    tmp = Path(sys.argv[1])
    async with running_simulator(tmp / "pbx", seed=8, secret="s") as pbx:
        base = service_settings(tmp, pbx)
        web = dataclasses.replace(base.web, descriptor_reserve=int(sys.argv[3]),
                                  max_connections_per_address=100_000, header_timeout_s=600)
        service = Service(dataclasses.replace(base, web=web), managed_queues=set())
        await service.start()
        ports = {"web": service.web_port, "fastagi": service.fastagi.port}
        print("PORTS", json.dumps(ports), flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        print("OPEN", service.web_gate.open_count, flush=True)
        await service.stop()

asyncio.run(main())
"""


async def test_with_few_descriptors_a_web_flood_leaves_fastagi_its_own(tmp_path: Path) -> None:
    """256 descriptors, 128 of them the reserve: 400 half-sent requests take the web
    side's 128 and no more, and a caller still reaches the IVR."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "tests")}
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", LOW_LIMIT_SERVICE, str(tmp_path), "256", "128",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, cwd=ROOT, env=env,
    )  # fmt: skip
    assert child.stdin is not None and child.stdout is not None
    held: list[asyncio.StreamWriter] = []
    try:
        ports = json.loads(await asyncio.wait_for(_line_after(child.stdout, "PORTS "), 60))
        attack = []
        for _ in range(400):
            # A server out of descriptors stops accepting, and connecting then hangs.
            attack.append(await asyncio.wait_for(half_sent_request(ports["web"]), 5))
            held.append(attack[-1][1])
        closed = await asyncio.gather(*(closed_by_server(r, 5.0) for r, _ in attack[128:]))
        assert closed == [True] * len(closed)
        assert await first_agi_command(ports["fastagi"], 5.0)
    finally:
        child.stdin.close()  # the service says how many it holds, then stops
        held_at_end = await asyncio.wait_for(_line_after(child.stdout, "OPEN "), 30)
        for writer in held:
            writer.close()
        try:
            await asyncio.wait_for(child.wait(), 30)
        except TimeoutError:
            child.kill()
            await child.wait()
    assert held_at_end == "128"


async def _line_after(stream: asyncio.StreamReader, marker: str) -> str:
    """What follows ``marker`` on the first line starting with it (the log lines before
    it are skipped)."""
    while line := (await stream.readline()).decode():
        if line.startswith(marker):
            return line[len(marker) :].strip()
    raise AssertionError(f"the service ended without saying {marker.strip()}")
