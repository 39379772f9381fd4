"""Sign-in under attack: concurrent guessing, lockouts aimed at someone else, forged client
addresses, redirects off-site, and a burst of password checks next to signed-in work.

The pure parts (throttle, client address, redirect target) are tested directly; the attacks
are replayed over real HTTP on 127.0.0.1, with the test client's peer (127.0.0.1) as a
trusted proxy so that X-Forwarded-For stands for the attacker's and the agent's addresses.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from cti_fixtures import PASSWORD, add_users, new_http, serving, sign_in, sqlite_engine

from callcenter.cti import accounts, signin
from callcenter.cti.accounts import AccountStore, dummy_verify
from callcenter.cti.login_throttle import Attempt, LoginThrottle, Refused
from callcenter.cti.settings import CtiSettings
from callcenter.web.client_address import client_address, parse_networks, throttle_key
from callcenter.web.password_pool import PasswordPool
from callcenter.web.redirects import safe_next
from callcenter.web.settings import WebSettings

# --- the throttle (pure) ----------------------------------------------------------------


def _attempt(result: Attempt | Refused) -> Attempt:
    assert isinstance(result, Attempt), result
    return result


def test_a_pair_locks_after_repeated_failures_and_the_lockout_doubles() -> None:
    throttle = LoginThrottle(max_failures=3, lockout_s=60, window_s=600)
    for second in range(3):
        _attempt(throttle.reserve("alice", "10.0.0.9", 100.0 + second))
    refused = throttle.reserve("alice", "10.0.0.9", 102.0)
    assert refused == Refused(60.0, "address")
    _attempt(throttle.reserve("alice", "10.0.0.9", 162.0))  # the lockout is over
    for second in range(2):
        _attempt(throttle.reserve("alice", "10.0.0.9", 163.0 + second))
    assert throttle.reserve("alice", "10.0.0.9", 164.0) == Refused(120.0, "address")
    # Quiet for as long as the longest lockout: the doubling starts over.
    for second in range(3):
        _attempt(throttle.reserve("alice", "10.0.0.9", 5000.0 + second))
    assert throttle.reserve("alice", "10.0.0.9", 5002.0) == Refused(60.0, "address")


def test_an_attempt_counts_before_its_password_is_checked() -> None:
    throttle = LoginThrottle(max_failures=5)
    # Five attempts in flight, none answered yet: the sixth is refused all the same.
    for _ in range(5):
        _attempt(throttle.reserve("kf03", "10.0.0.9", 100.0))
    assert isinstance(throttle.reserve("kf03", "10.0.0.9", 100.0), Refused)


def test_the_right_password_releases_the_pair() -> None:
    throttle = LoginThrottle(max_failures=3)
    _attempt(throttle.reserve("alice", "10.0.0.9", 100.0))
    _attempt(throttle.reserve("alice", "10.0.0.9", 101.0))
    throttle.release(_attempt(throttle.reserve("alice", "10.0.0.9", 102.0)))  # locks, then right
    for _ in range(2):
        _attempt(throttle.reserve("alice", "10.0.0.9", 103.0))


def test_an_attempt_that_could_not_be_checked_is_withdrawn() -> None:
    throttle = LoginThrottle(max_failures=3, guess_burst=3)
    for _ in range(10):  # the database is away: nothing is known about these passwords
        throttle.withdraw(_attempt(throttle.reserve("alice", "10.0.0.9", 100.0)))
    for _ in range(3):  # three real guesses, each with a token of the login's three
        _attempt(throttle.reserve("alice", "10.0.0.9", 101.0))
    assert throttle.reserve("alice", "10.0.0.9", 101.0) == Refused(300.0, "address")


def test_failures_from_one_address_never_lock_another() -> None:
    throttle = LoginThrottle(max_failures=5)
    for n in range(50):
        throttle.reserve("kf01", "10.0.0.66", 100.0 + n)
        throttle.reserve(f"made-up-{n}", "10.0.0.1", 100.0 + n)  # one shared proxy address
    assert isinstance(throttle.reserve("kf01", "10.0.0.66", 200.0), Refused)
    _attempt(throttle.reserve("kf01", "10.0.0.7", 200.0))  # the agent's own desk
    _attempt(throttle.reserve("kf02", "10.0.0.1", 200.0))  # a real user behind the proxy


def test_guessing_from_many_addresses_is_slowed_for_those_that_failed() -> None:
    throttle = LoginThrottle(max_failures=5, guess_burst=4, guess_interval_s=60)
    for n in range(4):
        _attempt(throttle.reserve("kf01", f"10.0.1.{n}", 100.0))
    # The login's guesses are spent: an address that has failed waits for the next one...
    assert throttle.reserve("kf01", "10.0.1.0", 100.0) == Refused(60.0, "login")
    assert throttle.reserve("kf01", "10.0.1.0", 130.0) == Refused(30.0, "login")
    # ... while an address that has not failed is never refused by it.
    fresh = _attempt(throttle.reserve("kf01", "10.0.2.1", 130.0))
    assert not fresh.took_token
    _attempt(throttle.reserve("kf01", "10.0.1.0", 160.0))  # a minute later: one more guess
    assert isinstance(throttle.reserve("kf01", "10.0.1.1", 160.0), Refused)


def test_a_lockout_still_counts_as_having_failed_for_the_login_limit() -> None:
    throttle = LoginThrottle(max_failures=2, lockout_s=10, guess_burst=2, guess_interval_s=600)
    for _ in range(2):
        _attempt(throttle.reserve("kf01", "10.0.0.66", 100.0))
    refused = throttle.reserve("kf01", "10.0.0.66", 111.0)
    assert isinstance(refused, Refused) and refused.reason == "login"
    assert refused.retry_after_s == pytest.approx(589.0)


def test_stale_records_are_swept_so_made_up_logins_cannot_fill_memory() -> None:
    throttle = LoginThrottle(max_failures=5, window_s=900, guess_interval_s=60, guess_burst=20)
    for n in range(5000):
        throttle.reserve(f"made-up-{n}", "10.0.0.66", float(n // 100))
    assert len(throttle) == 2 * 5000  # a failure and a bucket each, all still in use
    for n in range(5000):
        throttle.reserve(f"later-{n}", "10.0.0.66", 100_000.0)
    assert len(throttle) == 2 * 5000  # the first 5000 logins' records are gone


# --- the client address (pure) ------------------------------------------------------------

PROXIES = parse_networks(["127.0.0.1", "10.1.0.0/16", "::1"])


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("203.0.113.9", ["198.51.100.1"], "203.0.113.9"),  # not a proxy: the header is a lie
        ("127.0.0.1", [], "127.0.0.1"),
        ("127.0.0.1", ["198.51.100.1"], "198.51.100.1"),
        ("127.0.0.1", ["6.6.6.6, 198.51.100.1"], "198.51.100.1"),  # the client's own claim
        ("127.0.0.1", ["6.6.6.6", "198.51.100.1, 10.1.4.2"], "198.51.100.1"),  # two proxies
        ("127.0.0.1", ["10.1.0.3, 10.1.4.2"], "10.1.0.3"),  # all ours: the furthest one
        ("127.0.0.1", ["6.6.6.6, garbage, 10.1.4.2"], "10.1.4.2"),  # the chain breaks there
        ("127.0.0.1", ["198.51.100.1:5555"], "198.51.100.1"),
        ("::1", ["[2001:db8::7]:443"], "2001:db8::7"),
        ("::ffff:127.0.0.1", ["198.51.100.1"], "198.51.100.1"),
    ],
)
def test_forwarded_for_is_believed_only_from_trusted_proxies(
    peer: str, forwarded: list[str], expected: str
) -> None:
    assert client_address(peer, forwarded, PROXIES) == expected


def test_no_trusted_proxies_means_the_peer_is_the_client() -> None:
    assert client_address("127.0.0.1", ["198.51.100.1"], ()) == "127.0.0.1"


def test_ipv6_clients_are_throttled_by_their_64() -> None:
    assert throttle_key("2001:db8:1:2:aaaa::1") == throttle_key("2001:db8:1:2:bbbb::2")
    assert throttle_key("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    assert throttle_key("198.51.100.1") == "198.51.100.1"


def test_trusted_proxies_setting_is_checked() -> None:
    assert WebSettings(trusted_proxies=["10.0.0.0/8", "::1"]).check() == {}
    problems = WebSettings(trusted_proxies=["10.0.0.0/8", "proxy.local"]).check()
    assert "proxy.local" in problems["trusted_proxies"]


# --- the redirect target (pure) -----------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "/\t/evil.example/x",
        "/\n/evil.example/x",
        "/\r/evil.example/x",
        "/%09/evil.example/x",
        "/%0a/evil.example/x",
        "/%0D/evil.example/x",
        "//evil.example/x",
        "/\\evil.example/x",
        "/%5Cevil.example/x",
        "/%2F/evil.example/x",
        "/%252F/evil.example/x",
        "https://evil.example/x",
        "evil.example/x",
        " /seat",
        "/seat\u2028",
        "",
    ],
)
def test_redirects_off_site_go_home(target: str) -> None:
    assert safe_next(target) == "/seat"


@pytest.mark.parametrize(
    "target", ["/", "/wallboard", "/recordings?agent=Agent%201001", "/a?b=%E5%BC%A0&c=//x"]
)
def test_redirects_on_site_are_kept(target: str) -> None:
    assert safe_next(target) == target


# --- over HTTP --------------------------------------------------------------------------


@dataclass
class Served:
    base: str
    auth: signin.Auth


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    engine = sqlite_engine(tmp_path)
    store = AccountStore(engine)
    add_users(store)
    app = web.Application()
    settings = CtiSettings(login_max_failures=5)
    setup = signin.setup(app, store, settings, trusted_proxies=["127.0.0.1"])
    async with serving(app) as base:
        yield Served(base, setup)
    engine.dispose()


_CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


async def _form_token(http: aiohttp.ClientSession, base: str) -> str:
    async with http.get(f"{base}/login") as page:
        found = _CSRF_FIELD.search(await page.text())
    assert found is not None
    return found.group(1)


async def _post_login(
    http: aiohttp.ClientSession,
    base: str,
    token: str,
    login: str,
    password: str = PASSWORD,
    *,
    client: str = "",
    next_path: str = "",
) -> aiohttp.ClientResponse:
    # The form's token goes with its cookie by hand: every answer sets a fresh one, and
    # concurrent attempts must not trip over each other's.
    headers = {"Origin": base, "Cookie": f"cc_login_csrf={token}"}
    if client:
        headers["X-Forwarded-For"] = client
    form = {"login": login, "password": password, "csrf_token": token, "next": next_path}
    async with http.post(
        f"{base}/login", data=form, headers=headers, allow_redirects=False
    ) as response:
        await response.read()
        return response


def cookieless_http() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar())


async def until(condition: Callable[[], bool], what: str, timeout_s: float = 30.0) -> None:
    """Wait for a condition (the deadline only turns a hang into a failure)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"still waiting for {what}"
        await asyncio.sleep(0.01)


class HashGate:
    """Holds every scrypt computation until opened, counting those that started."""

    def __init__(self, real: Callable[..., bytes]) -> None:
        self.real = real
        self.opened = threading.Event()
        self.started = 0
        self._lock = threading.Lock()

    def __call__(self, *args: Any) -> bytes:
        with self._lock:
            self.started += 1
        self.opened.wait(timeout=60)
        return self.real(*args)


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[HashGate]:
    dummy_verify("warm")  # the unknown-login hash exists before the gate closes
    held = HashGate(accounts._scrypt)
    monkeypatch.setattr(accounts, "_scrypt", held)
    yield held
    held.opened.set()  # never leave a password thread waiting


async def test_a_concurrent_burst_cannot_slip_past_the_limit(
    served: Served, gate: HashGate
) -> None:
    """49 wrong passwords for one login from one address at once, the right one last in the
    same burst: only five are checked, and the right one is refused too."""
    async with cookieless_http() as http:
        token = await _form_token(http, served.base)
        wrong = [
            asyncio.create_task(
                _post_login(http, served.base, token, "alice", f"guess {n}", client="10.9.9.9")
            )
            for n in range(49)
        ]
        # The password checks are held, so every answered attempt was refused without one.
        await until(lambda: sum(task.done() for task in wrong) == 49 - 5, "44 refusals")
        right = await _post_login(http, served.base, token, "alice", client="10.9.9.9")
        assert right.status == 429 and int(right.headers["Retry-After"]) > 0
        gate.opened.set()
        statuses = sorted([(await task).status for task in wrong])
    assert statuses == [401] * 5 + [429] * 44


async def test_guesses_from_elsewhere_do_not_lock_the_agent_out(served: Served) -> None:
    async with cookieless_http() as http:
        token = await _form_token(http, served.base)
        statuses = [
            (await _post_login(http, served.base, token, "alice", "nope", client="10.6.6.6")).status
            for _ in range(20)
        ]
        assert statuses == [401] * 5 + [429] * 15
        own_desk = await _post_login(http, served.base, token, "alice", client="10.0.0.3")
        assert own_desk.status == 303
        # The attacker's address stays locked for alice, right password or not.
        attacker = await _post_login(http, served.base, token, "alice", client="10.6.6.6")
        assert attacker.status == 429


async def test_made_up_logins_do_not_lock_a_shared_address(served: Served) -> None:
    async with cookieless_http() as http:
        token = await _form_token(http, served.base)
        for n in range(20):  # everyone behind one NAT / proxy address
            response = await _post_login(http, served.base, token, f"nobody{n}", client="10.1.1.1")
            assert response.status == 401
        assert (await _post_login(http, served.base, token, "bob", client="10.1.1.1")).status == 303


async def test_forwarded_for_from_an_untrusted_peer_is_ignored(tmp_path: Path) -> None:
    engine = sqlite_engine(tmp_path)
    store = AccountStore(engine)
    add_users(store)
    app = web.Application()
    signin.setup(app, store, CtiSettings(login_max_failures=3))  # no trusted proxies
    async with serving(app) as base, cookieless_http() as http:
        token = await _form_token(http, base)
        for n in range(3):  # a new made-up address each time, to dodge the limit
            response = await _post_login(http, base, token, "alice", "nope", client=f"10.7.0.{n}")
            assert response.status == 401
        assert (await _post_login(http, base, token, "alice", client="10.7.0.9")).status == 429
    engine.dispose()


EVIL_TARGETS = [
    "/\t/evil.example/x",
    "/\n/evil.example/x",
    "/\r/evil.example/x",
    "/\\evil.example/x",
    "//evil.example/x",
    "/%2F/evil.example/x",
]


@pytest.mark.parametrize("target", EVIL_TARGETS)
async def test_sign_in_never_redirects_off_site(served: Served, target: str) -> None:
    async with cookieless_http() as http:
        token = await _form_token(http, served.base)
        response = await _post_login(http, served.base, token, "alice", next_path=target)
        assert response.status == 303
        assert response.headers["Location"] == "/seat"


_NEXT_FIELD = re.compile(r'name="next" value="([^"]*)"')


@pytest.mark.parametrize(
    "query", ["/%09/evil.example/x", "/%0a/evil.example/x", "/%0d/evil.example/x", "//evil.example"]
)
async def test_a_link_to_the_sign_in_page_never_leads_off_site(served: Served, query: str) -> None:
    async with new_http() as http:
        # The browser's way: open the link, send the form as the page filled it in.
        async with http.get(f"{served.base}/login?next={query}") as page:
            body = await page.text()
        token, next_field = _CSRF_FIELD.search(body), _NEXT_FIELD.search(body)
        assert token is not None and next_field is not None
        assert next_field.group(1) == "/"  # the user's home, once known
        response = await _post_login(
            http, served.base, token.group(1), "alice", next_path=next_field.group(1)
        )
        assert response.status == 303 and response.headers["Location"] == "/seat"
        # Already signed in: sent on at once, to our own home page.
        async with http.get(f"{served.base}/login?next={query}", allow_redirects=False) as again:
            assert again.status == 303 and again.headers["Location"] == "/seat"
        async with http.get(f"{served.base}/login?next=/wallboard", allow_redirects=False) as ok:
            assert ok.headers["Location"] == "/wallboard"


async def test_a_check_that_fails_does_not_count_as_a_guess(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    def database_away(login: str, password: str) -> None:
        raise OSError("database unreachable")

    with monkeypatch.context() as patched:
        patched.setattr(served.auth.store, "authenticate", database_away)
        async with cookieless_http() as http:
            token = await _form_token(http, served.base)
            for _ in range(8):
                response = await _post_login(http, served.base, token, "alice")
                assert response.status == 500
    async with cookieless_http() as http:
        token = await _form_token(http, served.base)
        assert (await _post_login(http, served.base, token, "alice")).status == 303


async def test_signed_in_requests_answer_while_password_checks_are_busy(
    served: Served, gate: HashGate
) -> None:
    async with new_http() as agent:
        gate.opened.set()
        assert (await sign_in(agent, served.base, "bob")).status == 303
        gate.opened.clear()
        before = gate.started
        async with cookieless_http() as http:
            token = await _form_token(http, served.base)
            burst = [  # more than any default thread pool has threads
                asyncio.create_task(_post_login(http, served.base, token, f"guess{n}", "x"))
                for n in range(40)
            ]
            pool = served.auth.passwords
            await until(lambda: pool.in_flight == 40, "40 password checks in flight")
            await until(lambda: gate.started - before == pool.workers, "the password threads busy")
            async with agent.get(f"{served.base}/api/me") as me:
                assert me.status == 200
            assert pool.in_flight == 40  # every check still held: /api/me waited for none
            gate.opened.set()
            assert {(await task).status for task in burst} == {401}


async def test_a_full_password_line_defers_sign_in_without_counting_it(
    served: Served, gate: HashGate
) -> None:
    served.auth.passwords.close()
    served.auth.passwords = PasswordPool(workers=1, max_waiting=2)
    async with cookieless_http() as http:
        token = await _form_token(http, served.base)
        held = [
            asyncio.create_task(_post_login(http, served.base, token, f"guess{n}", "x"))
            for n in range(3)
        ]
        await until(lambda: served.auth.passwords.in_flight == 3, "the line full")
        for _ in range(6):  # more than the limit of 5, none counted against alice
            busy = await _post_login(http, served.base, token, "alice", "nope")
            assert busy.status == 503 and busy.headers["Retry-After"] == "1"
        gate.opened.set()
        assert {(await task).status for task in held} == {401}
        assert (await _post_login(http, served.base, token, "alice")).status == 303
