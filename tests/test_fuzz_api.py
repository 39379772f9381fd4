"""The HTTP API against its own OpenAPI description, fuzzed with schemathesis.

A real Service runs against the simulator (after some calls, so lists are not empty); an
admin (and, for supervisor-only routes, a supervisor) signs in through the sign-in form,
and every operation of ``/api/openapi.json`` gets generated requests, valid and invalid.
Schemathesis puts the session cookie and CSRF token where the security schemes say (and
leaves them off in some invalid requests, which must then be refused). Tricky inputs that
once gave a 500 go first. No answer may be a 5xx, and every answer must have a
documented status, content type and body shape. A request the description admits must
get a 2xx (or a documented 404/409: no such id, not in this state; or a 400 where the
operation's ``x-400-when`` names a rule its schema cannot state), and one it does not
admit must be refused with a 4xx.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from fuzzing import EXPLORE
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)
from service_fixtures import service_settings

from callcenter.cti.accounts import hash_password
from callcenter.service import Service
from callcenter.testing import running_simulator
from callcenter.web.openapi import OPENAPI_PATH

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "fuzz-pass-1234"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
    positive_data_acceptance,
]
_CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class Credentials:
    cookie: str  # the cc_session cookie
    csrf: str  # the session's CSRF token

    def auth_config(self) -> schemathesis.Config:
        """Schemathesis sets both on valid requests, and leaves them off (or wrong) to see
        an unsigned or token-less request refused."""
        schemes = {"session": {"api_key": self.cookie}, "csrf": {"api_key": self.csrf}}
        return schemathesis.Config.from_dict({"auth": {"openapi": schemes}})


def sign_in(base: str, login: str) -> Credentials:
    """The browser's way in: the sign-in page's token, the form, then the session's CSRF."""
    http = requests.Session()
    page = http.get(f"{base}/login", timeout=10)
    match = _CSRF_FIELD.search(page.text)
    assert match, page.text[:200]
    form = {"login": login, "password": PASSWORD, "csrf_token": match.group(1)}
    signed = http.post(f"{base}/login", data=form, allow_redirects=False, timeout=10)
    assert signed.status_code == 303, signed.text[:200]
    me = http.get(f"{base}/api/me", timeout=10).json()
    return Credentials(http.cookies["cc_session"], me["csrf_token"])


# Inputs the generated ones reach rarely, each once a 500: numbers that are digits only
# to str.isdigit(), ids too big for SQL, times outside what a datetime holds, NaN and
# infinity, a line break on its way into an AMI action.
TRICKY: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", "/api/calls", {"query": {"limit": "²"}}),
    ("GET", "/api/calls", {"query": {"offset": "١٠"}}),
    ("GET", "/api/calls", {"query": {"since": "nan", "until": "inf"}}),
    ("GET", "/api/audit", {"query": {"owner_id": "²"}}),
    ("GET", "/api/workorders/{order_id}", {"path_parameters": {"order_id": "²"}}),
    ("GET", "/api/workorders/{order_id}", {"path_parameters": {"order_id": "9" * 30}}),
    ("POST", "/api/workorders", {"body": {"kind": "repair", "due_at": "nan"}}),
    ("POST", "/api/workorders", {"body": {"kind": "repair", "due_at": 1e300, "owner_id": 10**30}}),
    ("POST", "/api/workorders/{order_id}/actions",
     {"path_parameters": {"order_id": 1}, "body": {"action": "dispatch", "callback_at": "inf"}}),
    ("POST", "/api/workorders/{order_id}/actions",
     {"path_parameters": {"order_id": 1}, "body": {"action": "start", "satisfaction": "1e999"}}),
    ("GET", "/api/recordings", {"query": {"limit": "nan"}}),
    ("GET", "/api/recordings", {"query": {"limit": "inf", "offset": "-0.5"}}),
    ("GET", "/api/recordings", {"query": {"since": "nan", "min_score": "inf"}}),
    ("GET", "/api/recordings/{rid}", {"path_parameters": {"rid": 10**30}}),
    ("GET", "/api/routing/duty", {"query": {"at": "0001-01-01"}}),
    ("GET", "/api/routing/duty", {"query": {"at": "9999-12-31T23:59"}}),
    ("GET", "/api/routing/gaps", {"query": {"from": "9999-12-31"}}),
    ("GET", "/api/routing/gaps", {"query": {"from": "0001-01-01", "days": "²"}}),
    ("GET", "/api/routing/occupancy", {"query": {"from": "0001-01-01", "to": "0001-01-02"}}),
    ("GET", "/api/routing/occupancy", {"query": {"from": "9999-12-31", "to": "9999-12-31T23:59"}}),
    ("GET", "/api/reports", {"query": {"from": "9999-12-31", "to": "9999-12-31"}}),
    ("GET", "/api/reports", {"query": {"from": "0001-01-01", "to": "0001-01-01", "by": "agent"}}),
    ("POST", "/api/routing/agents", {"body": {"id": "fz1", "name": "n", "skills": 5}}),
    ("POST", "/api/routing/zones", {"body": {"id": "fz1", "buildings": 5}}),
    ("POST", "/api/seat/pause", {"query": {"interface": "PJSIP/1\r\nAction: Originate"},
                                 "body": {"paused": True}}),
    ("POST", "/api/seat/pause", {"body": {"paused": True, "queue": "support\nx"}}),
    ("GET", "/api/routing/gaps", {"query": {"from": "8999-12-31", "days": "366"}}),
]  # fmt: skip
# JSON that Python reads but no serializer writes: 1e999 is infinity, NaN is NaN.
RAW_BODIES: list[tuple[str, str]] = [
    ("/api/workorders", '{"kind": "repair", "due_at": NaN}'),
    ("/api/workorders", '{"kind": "repair", "due_at": 1e999, "owner_id": 1e999}'),
    ("/api/workorders/1/actions", '{"action": "record_satisfaction", "satisfaction": 1e999}'),
    ("/api/workorders/1/actions", '{"action": "schedule_callback", "callback_at": -Infinity}'),
    ("/api/recordings/1/qa", '{"scores": {"greeting": 1e999}}'),
    ("/api/seat/disposition", '{"disposition": "other", "pbx": "main", "call_id": NaN}'),
    ("/api/routing/agents", '{"id": "fz2", "name": NaN, "queues": {"support": 1e999}}'),
    ("/api/workorders", "[" * 100_000),
    ("/api/workorders", '{"kind": "repair", "description": "\\ud800"}'),
]


def fuzz(base: str, examples: int, budget_s: float) -> tuple[list[str], dict[str, int]]:
    """Every operation, valid then invalid requests; the failures, and requests per status."""
    document = requests.get(base + OPENAPI_PATH, timeout=10)
    assert document.status_code == 200  # readable without signing in
    signed = {"admin": sign_in(base, "fuzz-admin"), "supervisor": sign_in(base, "fuzz-sup")}
    schemas = {
        role: schemathesis.openapi.from_dict(document.json(), config=who.auth_config())
        for role, who in signed.items()
    }
    http = requests.Session()  # no cookies of its own: each case carries what it is given
    failures: list[str] = []
    statuses: dict[str, int] = {}
    admin = signed["admin"]
    for method, route, parts in TRICKY:
        case = schemas["admin"][route][method].Case(
            media_type="application/json" if "body" in parts else None, **parts
        )
        try:
            response = case.call(
                base_url=base,
                session=http,
                cookies={"cc_session": admin.cookie},
                headers={"X-CSRF-Token": admin.csrf},
                timeout=20,
            )
            case.validate_response(response, checks=CHECKS)
        except (Exception, BaseExceptionGroup) as exc:
            failures.append(f"{method} {route} {parts}: {exc}"[:3000])
    for route, raw in RAW_BODIES:
        sent = http.post(
            base + route,
            data=raw,
            cookies={"cc_session": admin.cookie},
            headers={"X-CSRF-Token": admin.csrf, "Content-Type": "application/json"},
            timeout=20,
        )
        if not 400 <= sent.status_code < 500 or "error" not in sent.json():
            failures.append(f"POST {route} {raw[:80]}: {sent.status_code} {sent.text[:200]}")
    deadline = time.monotonic() + budget_s
    for result in schemas["admin"].get_all_operations():
        label = result.ok().label
        roles = result.ok().definition.raw.get("x-roles") or ["admin"]
        method, route = label.split(" ", 1)
        who = "admin" if "admin" in roles else "supervisor"
        operation = schemas[who][route][method]
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
            if time.monotonic() > deadline:
                failures.append(f"{label}: not fuzzed, the time budget ran out")
                continue
            run = _one_operation(operation, mode, signed[who], http, base, examples, statuses)
            try:
                run()
            except Unsatisfiable:
                pass  # nothing to make invalid: the operation takes no parameters
            except (Exception, BaseExceptionGroup) as exc:  # a check failed: report it too
                failures.append(f"{label} ({mode.value}): {exc}"[:3000])
    return failures, statuses


def _one_operation(
    operation: Any,
    mode: schemathesis.GenerationMode,
    who: Credentials,
    http: requests.Session,
    base: str,
    examples: int,
    statuses: dict[str, int],
) -> Callable[[], None]:
    # Invalid requests keep the credentials: left to itself, schemathesis spends most of
    # them on leaving the cookie off, and the role checks have tests of their own.
    fixed: dict[str, Any] = {}
    # a rule across fields or against the data (a due time in the past, an unknown
    # owner) refuses some requests the schema admits: the description says which
    also_refused = {400} if operation.definition.raw.get("x-400-when") else set()
    if mode.is_negative and operation.definition.raw.get("security"):
        fixed = {"cookies": {"cc_session": who.cookie}}
        if operation.method.upper() != "GET":
            fixed["headers"] = {"X-CSRF-Token": who.csrf}

    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        report_multiple_bugs=False,
        database=None,
        derandomize=not EXPLORE,
    )
    @given(case=operation.as_strategy(generation_mode=mode, **fixed))
    def run(case: schemathesis.Case) -> None:
        response = case.call(base_url=base, session=http, timeout=20)
        key = f"{mode.value} {response.status_code}"
        statuses[key] = statuses.get(key, 0) + 1
        skipped = [positive_data_acceptance] if response.status_code in also_refused else []
        if _line_too_long(response):
            # aiohttp's HTTP parser refuses a request line over 8190 bytes before any
            # handler runs, in plain text: the request never reached the service.
            skipped.append(content_type_conformance)
        case.validate_response(response, checks=CHECKS, excluded_checks=skipped)

    return run


def _line_too_long(response: requests.Response) -> bool:
    return response.status_code == 400 and response.text.startswith("Got more than 8190 bytes")


async def run_against_service(tmp_path: Path, examples: int, budget_s: float) -> None:
    async with running_simulator(tmp_path / "pbx", seed=11, speed=200, secret="s") as pbx:
        base_settings = service_settings(tmp_path, pbx)
        # the API writes changes back to these files: copies, never the repository's
        for name in ("agents.yaml", "roster.yaml"):
            shutil.copy(ROOT / "config" / name, tmp_path / name)
        flows = tmp_path / "ivr_flows"
        shutil.copytree(ROOT / "ivr_flows", flows)
        fuzz_settings = replace(
            base_settings,
            routing=replace(
                base_settings.routing,
                agents_file=str(tmp_path / "agents.yaml"),
                roster_file=str(tmp_path / "roster.yaml"),
            ),
            ivr_dir=str(flows),
            ivr=replace(base_settings.ivr, prompts_dir=str(flows / "prompts")),
        )
        service = Service(fuzz_settings, managed_queues=set())
        await service.start()
        try:
            encoded = await asyncio.to_thread(hash_password, PASSWORD)
            accounts = service.cti.accounts
            accounts.add_user(
                "fuzz-admin", "admin", "", interface="PJSIP/1001", password_hash=encoded
            )
            accounts.add_user(
                "fuzz-sup", "supervisor", "", interface="PJSIP/1009", password_hash=encoded
            )
            await pbx.run(10)  # some call records, so that lists and lookups have rows
            await service.settle()
            base = f"http://127.0.0.1:{service.web_port}"
            started = time.monotonic()
            failures, statuses = await asyncio.to_thread(fuzz, base, examples, budget_s)
            took = time.monotonic() - started
        finally:
            await service.stop()
    by_status = dict(sorted(statuses.items()))
    print(f"\nAPI fuzz: {sum(statuses.values())} requests in {took:.1f} s, by status {by_status}")
    assert not any(key.endswith((" 500", " 502", " 503")) for key in statuses) or failures
    assert not failures, "\n\n".join(failures)


# The cases are the same every run: the budget only bounds a hang (a busy machine takes
# several times as long as an idle one), it does not decide what gets fuzzed.
@pytest.mark.timeout(600)
async def test_the_api_answers_generated_requests_as_documented(tmp_path: Path) -> None:
    await run_against_service(tmp_path, examples=25, budget_s=400)


@pytest.mark.slow
@pytest.mark.timeout(1800)
async def test_the_api_answers_many_generated_requests_as_documented(tmp_path: Path) -> None:
    await run_against_service(tmp_path, examples=150, budget_s=1500)
