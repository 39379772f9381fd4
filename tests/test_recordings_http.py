"""Recordings over real HTTP: the role matrix, signed links, byte ranges, path tricks,
transcoding, the listen audit, search, legal hold and QA scoring."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import Engine
from store_fixtures import make_record
from yarl import URL

from callcenter.calls.store import CallStore
from callcenter.config import Settings
from callcenter.recordings import http as rec_http
from callcenter.recordings.links import LinkSigner
from callcenter.recordings.scanner import scan
from callcenter.recordings.settings import RecordingsSettings
from callcenter.recordings.store import RecordingStore
from callcenter.recordings.synth import write_g711_wav, write_pcm_wav
from callcenter.web.headers import install as install_security_headers
from callcenter.web.security import USER_KEY, User

SECRET = "s3cret-for-tests-only-0123456789"
OLD = time.time() - 3600
USERS = {
    "sup": User(1, "sup", "supervisor"),
    "a1001": User(2, "a1001", "agent", agent="Agent 1001"),
    "a1002": User(3, "a1002", "agent", agent="Agent 1002"),
}
T0 = 1_795_731_524.0


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@web.middleware
async def signed_in_as_header(request: web.Request, handler: Any) -> web.StreamResponse:
    """Stands in for the sign-in middleware: X-Test-User names the signed-in user."""
    login = request.headers.get("X-Test-User")
    if login:
        request[USER_KEY] = USERS[login]
    response: web.StreamResponse = await handler(request)
    return response


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "rec"
    for name, seconds in (
        ("1795731524.1.wav", 2.0),
        ("2026/11/27/1795735000.2.wav", 6.0),
        ("1795740000.3.wav", 1.0),
    ):
        path = write_pcm_wav(root / name, seconds)
        os.utime(path, (OLD, OLD))
    path = write_g711_wav(root / "1795750000.4.wav", 1.0, "ulaw")
    os.utime(path, (OLD, OLD))
    return root


@pytest.fixture
def store(engine: Engine, root: Path) -> RecordingStore:
    CallStore(engine).upsert_calls(
        [
            make_record("1795731524.1", started_at=T0),
            make_record("1795735000.2", started_at=T0 + 3600, agent="Agent 1002",
                        caller_number="13900139000", queue="repair"),
            make_record("1795740000.3", started_at=T0 + 86400),
            make_record("1795750000.4", started_at=T0 + 90000),
        ]
    )  # fmt: skip
    store = RecordingStore(engine)
    scan(root, store)
    return store


@pytest.fixture
async def client(
    store: RecordingStore, root: Path, tmp_path: Path
) -> AsyncIterator[tuple[TestClient[web.Request, web.Application], Clock]]:
    clock = Clock()
    settings = Settings(
        recordings_dir=str(root),
        recordings=RecordingsSettings(link_secret=SECRET, cache_dir=str(tmp_path / "cache")),
    )
    app = web.Application(middlewares=[signed_in_as_header])
    install_security_headers(app)
    names = {"zh": {"repair": "报修"}, "en": {"repair": "Repairs"}}
    rec_http.setup(app, store=store, settings=settings, clock=clock, queue_names=names.get)  # type: ignore[arg-type]
    async with TestClient(TestServer(app)) as client:
        yield client, clock


def rid(store: RecordingStore, path: str) -> int:
    row = store.get_by_path(path)
    assert row is not None
    return int(row["id"])


async def link_for(client: TestClient[web.Request, web.Application], user: str, rec: int) -> str:
    response = await client.post(f"/api/recordings/{rec}/link", headers={"X-Test-User": user})
    assert response.status == 200, await response.text()
    return str((await response.json())["url"])


async def test_role_matrix(client: Any, store: RecordingStore) -> None:
    http, _ = client
    own, other = rid(store, "1795731524.1.wav"), rid(store, "2026/11/27/1795735000.2.wav")
    expected = {
        ("sup", own): 200, ("sup", other): 200,
        ("a1001", own): 200, ("a1001", other): 403,
        ("a1002", own): 403, ("a1002", other): 200,
    }  # fmt: skip
    for (user, rec), status in expected.items():
        for url in (f"/api/recordings/{rec}/link", f"/api/recordings/{rec}"):
            method = http.post if url.endswith("link") else http.get
            response = await method(url, headers={"X-Test-User": user})
            assert response.status == status, (user, url)
    assert (await http.post(f"/api/recordings/{own}/link")).status == 401
    denied = [r for r in store.listens() if r["action"] == "denied"]
    assert {(r["user_login"], r["recording_id"]) for r in denied} == {
        ("a1001", other), ("a1002", own)
    }  # fmt: skip


async def test_playback_with_byte_ranges(client: Any, store: RecordingStore, root: Path) -> None:
    http, _ = client
    data = (root / "1795731524.1.wav").read_bytes()
    size = len(data)
    url = await link_for(http, "a1001", rid(store, "1795731524.1.wav"))

    full = await http.get(url)
    assert full.status == 200
    assert full.headers["Content-Type"] == "audio/wav"
    assert full.headers["Accept-Ranges"] == "bytes"
    assert await full.read() == data

    cases = {
        "bytes=0-99": (0, 99),  # start
        f"bytes={size // 2}-{size // 2 + 999}": (size // 2, size // 2 + 999),  # middle
        "bytes=-100": (size - 100, size - 1),  # end (suffix)
        f"bytes={size - 10}-": (size - 10, size - 1),  # open-ended
        f"bytes=10-{size + 5000}": (10, size - 1),  # past the end: clamped
    }
    for header, (first, last) in cases.items():
        response = await http.get(url, headers={"Range": header})
        assert response.status == 206, header
        assert response.headers["Content-Range"] == f"bytes {first}-{last}/{size}"
        assert response.headers["Content-Type"] == "audio/wav"
        assert await response.read() == data[first : last + 1]

    for header in (f"bytes={size}-", f"bytes={size + 10}-{size + 20}", "bytes=500-100",
                   "bytes=-0", "bytes=abc", "bytes=-"):  # fmt: skip
        response = await http.get(url, headers={"Range": header})
        assert response.status == 416, header
        assert response.headers["Content-Range"] == f"bytes */{size}"

    plays = [r for r in store.listens() if r["action"] == "play"]
    assert len(plays) == 1 + len(cases)
    assert all(r["user_login"] == "a1001" for r in plays)
    assert "bytes 0-99/" in " ".join(r["detail"] for r in plays)


async def test_links_expire_and_cannot_be_forged(client: Any, store: RecordingStore) -> None:
    http, clock = client
    own = rid(store, "1795731524.1.wav")
    url = await link_for(http, "a1001", own)
    assert (await http.get(url)).status == 200
    assert (await http.get(url.replace("sig=", "sig=0"))).status == 403
    assert (await http.get(url.replace("u=a1001", "u=sup"))).status == 403
    other_path = url.replace("1795731524.1.wav", "1795740000.3.wav")
    assert (await http.get(other_path)).status == 403
    # Signed in as someone else: the link is not theirs.
    assert (await http.get(url, headers={"X-Test-User": "a1002"})).status == 403
    clock.now += 301
    expired = await http.get(url)
    assert expired.status == 403
    assert (await expired.json())["error"]["code"] == "expired"


async def test_path_tricks_never_leave_the_root(
    client: Any, store: RecordingStore, root: Path, tmp_path: Path
) -> None:
    http, clock = client
    signer = LinkSigner(SECRET.encode(), 300)
    secret_file = tmp_path / "passwd"
    secret_file.write_text("root:x:0:0")

    def signed(raw_path: str, signed_as: str) -> URL:
        expires = int(clock.now + 60)
        sig = signer.signature(signed_as, "sup", expires)
        return URL(f"/recordings/play/{raw_path}?u=sup&exp={expires}&sig={sig}", encoded=True)

    for raw, decoded in (
        ("..%2F..%2Fpasswd", "../../passwd"),
        ("%2e%2e/%2e%2e/passwd", "../../passwd"),
        ("%252e%252e/passwd", "%2e%2e/passwd"),  # doubled encoding
        ("a%5C..%5C..%5Cpasswd", "a\\..\\..\\passwd"),
        ("%2Fetc%2Fpasswd", "/etc/passwd"),
    ):
        response = await http.get(signed(raw, decoded))
        assert response.status == 400, raw
        assert "root:x" not in await response.text()

    # A file indexed inside the root, later swapped for a symlink pointing outside.
    target = root / "1795740000.3.wav"
    target.unlink()
    os.symlink(secret_file, target)
    response = await http.get(signed("1795740000.3.wav", "1795740000.3.wav"))
    assert response.status == 403
    assert "root:x" not in await response.text()
    # A symlink that was never indexed is not served either.
    os.symlink(secret_file, root / "1795799999.9.wav")
    assert (await http.get(signed("1795799999.9.wav", "1795799999.9.wav"))).status == 404


async def test_g711_recordings_are_transcoded_once_and_cached(
    client: Any, store: RecordingStore, tmp_path: Path
) -> None:
    http, _ = client
    url = await link_for(http, "sup", rid(store, "1795750000.4.wav"))
    first = await http.get(url)
    assert first.status == 200
    assert first.headers["Content-Type"] == "audio/wav"
    body = await first.read()
    assert body[:4] == b"RIFF" and body[20:22] == b"\x01\x00"  # PCM
    assert len(body) == 44 + 2 * 8000  # one second, 16-bit
    cached = list((tmp_path / "cache").glob("*.wav"))
    assert len(cached) == 1
    ranged = await http.get(url, headers={"Range": "bytes=44-"})
    assert ranged.status == 206 and await ranged.read() == body[44:]


async def test_search_by_every_filter_and_agents_see_their_own(
    client: Any, store: RecordingStore
) -> None:
    http, _ = client

    async def paths(user: str, **query: Any) -> set[str]:
        response = await http.get("/api/recordings", params=query, headers={"X-Test-User": user})
        assert response.status == 200, await response.text()
        return {r["path"] for r in (await response.json())["recordings"]}

    everything = await paths("sup")
    assert len(everything) == 4
    assert await paths("sup", caller="139") == {"2026/11/27/1795735000.2.wav"}
    assert await paths("sup", agent="Agent 1002") == {"2026/11/27/1795735000.2.wav"}
    assert await paths("sup", queue="repair") == {"2026/11/27/1795735000.2.wav"}
    assert await paths("sup", min_duration=5) == {"2026/11/27/1795735000.2.wav"}
    assert await paths("sup", max_duration=1.5) == {"1795740000.3.wav", "1795750000.4.wav"}
    assert await paths("sup", since=T0 + 3000, until=T0 + 86400) == {"2026/11/27/1795735000.2.wav"}
    assert await paths("a1001") == everything - {"2026/11/27/1795735000.2.wav"}
    # An agent cannot widen the search to someone else's calls.
    assert await paths("a1001", agent="Agent 1002") == everything - {"2026/11/27/1795735000.2.wav"}
    bad = await http.get("/api/recordings?caller=abc", headers={"X-Test-User": "sup"})
    assert bad.status == 400 and "digits" in (await bad.json())["error"]["en"]
    bad = await http.get("/api/recordings?since=yesterday", headers={"X-Test-User": "sup"})
    assert bad.status == 400 and "since" in (await bad.json())["error"]["en"]

    own = rid(store, "1795731524.1.wav")
    sheet = {"greeting": 10, "accuracy": 8, "courtesy": 9, "resolution": 7}
    response = await http.post(
        f"/api/recordings/{own}/qa", json={"scores": sheet}, headers={"X-Test-User": "sup"}
    )
    assert response.status == 200 and (await response.json())["total"] == 85.0
    assert await paths("sup", min_score=80) == {"1795731524.1.wav"}
    assert await paths("sup", max_score=80) == set()


async def test_qa_scores_roll_up_per_agent_and_month(client: Any, store: RecordingStore) -> None:
    http, _ = client
    sup = {"X-Test-User": "sup"}
    a, b = rid(store, "1795731524.1.wav"), rid(store, "1795740000.3.wav")
    for rec, points in ((a, 10), (b, 5)):
        sheet = dict.fromkeys(("greeting", "accuracy", "courtesy", "resolution"), points)
        assert (
            await http.post(f"/api/recordings/{rec}/qa", json={"scores": sheet}, headers=sup)
        ).status == 200

    missing = await http.post(
        f"/api/recordings/{a}/qa", json={"scores": {"greeting": 5}}, headers=sup
    )
    assert missing.status == 400
    assert "缺少" in (await missing.json())["error"]["zh"]
    too_high = await http.post(
        f"/api/recordings/{a}/qa",
        json={"scores": {"greeting": 11, "accuracy": 1, "courtesy": 1, "resolution": 1}},
        headers=sup,
    )
    assert too_high.status == 400 and "between 0 and 10" in (await too_high.json())["error"]["en"]
    agent_try = await http.post(
        f"/api/recordings/{a}/qa", json={"scores": {}}, headers={"X-Test-User": "a1001"}
    )
    assert agent_try.status == 403

    lines = await (await http.get("/api/recordings/qa/rollup", headers=sup)).json()
    # T0 is 2026-11-27 04:18 in Shanghai; T0 + 1 day is the 28th: same month.
    assert lines == [
        {"agent": "Agent 1001", "month": "2026-11", "sheets": 2, "mean": 75.0,
         "lowest": 50.0, "highest": 100.0}
    ]  # fmt: skip
    own = await (
        await http.get("/api/recordings/qa/rollup", headers={"X-Test-User": "a1002"})
    ).json()
    assert own == []


async def test_legal_hold_is_for_supervisors_and_audited(
    client: Any, store: RecordingStore
) -> None:
    http, _ = client
    rec = rid(store, "1795731524.1.wav")
    body = {"hold": True, "reason": "complaint 88"}
    assert (
        await http.post(f"/api/recordings/{rec}/hold", json=body, headers={"X-Test-User": "a1001"})
    ).status == 403
    response = await http.post(
        f"/api/recordings/{rec}/hold", json=body, headers={"X-Test-User": "sup"}
    )
    assert response.status == 200
    row = store.get(rec)
    assert row is not None and row["legal_hold"] and row["hold_reason"] == "complaint 88"
    assert [r["action"] for r in store.listens(rec)] == ["hold"]


async def test_wrongly_typed_input_is_refused_in_both_languages(
    client: Any, store: RecordingStore
) -> None:
    http, _ = client
    sup = {"X-Test-User": "sup"}
    rec = rid(store, "1795731524.1.wav")
    for query, field in [("limit=2.5", "limit"), ("offset=-1", "offset"), ("limit=0", "limit"),
                         ("min_score=inf", "min_score"), ("caller=%C2%B2", "caller")]:  # fmt: skip
        bad = await http.get(f"/api/recordings?{query}", headers=sup)
        answer = await bad.json()
        assert bad.status == 400 and answer["error"]["en"].startswith(f"{field}: "), answer
        assert answer["error"]["zh"].startswith(f"{field}: ")
    for path, body, message in [
        ("hold", {"hold": 1}, "hold: must be true or false"),
        ("hold", {"hold": True, "reason": ["complaint"]}, "reason: must be a string"),
        ("qa", {"scores": [10, 8]}, "scores: must be an object"),
        ("qa", {"scores": {"greeting": True}}, "scores.greeting: must be a whole number"),
        ("qa", {"scores": {"greeting": -1}}, "scores.greeting: must be at least 0"),
    ]:
        bad = await http.post(f"/api/recordings/{rec}/{path}", json=body, headers=sup)
        assert bad.status == 400 and (await bad.json())["error"]["en"] == message
    row = store.get(rec)
    assert row is not None and not row["legal_hold"] and not store.qa_for(rec)


async def test_the_page_in_chinese_and_english(client: Any) -> None:
    http, _ = client
    zh = await http.get("/recordings", headers={"X-Test-User": "sup"})
    assert zh.status == 200
    text = await zh.text()
    assert "通话录音" in text and "质检评分" in text and '<html lang="zh-CN">' in text
    # times in the service's zone, whatever the browser's; queues by their names
    assert '<meta name="time-zone" content="Asia/Shanghai">' in text
    assert '{"repair": "报修"}' in text
    assert '<option value="repair">报修</option>' in text  # the filter picks a queue by name
    en = await (await http.get("/recordings?lang=en", headers={"X-Test-User": "a1001"})).text()
    assert "Call recordings" in en and "QA scoring" not in en.split("<script")[0]
    assert '<html lang="en">' in en and '{"repair": "Repairs"}' in en
    anonymous = await http.get("/recordings", allow_redirects=False)
    assert anonymous.status == 303 and anonymous.headers["Location"].startswith("/login")


async def test_a_call_nobody_answered_has_no_handling_to_score(
    client: Any, store: RecordingStore, engine: Engine, root: Path
) -> None:
    """An abandoned call's recording (the caller in the queue) names no agent: QA refuses it
    instead of filing a sheet under nobody."""
    http, _ = client
    CallStore(engine).upsert_calls(
        [make_record("1795760000.5", started_at=T0 + 95000, outcome="abandoned", agent="",
                     agent_interface="", answered_at=None)]
    )  # fmt: skip
    write_pcm_wav(root / "1795760000.5.wav", 1.0)
    os.utime(root / "1795760000.5.wav", (OLD, OLD))
    scan(root, store)
    sheet = dict.fromkeys(("greeting", "accuracy", "courtesy", "resolution"), 5)
    refused = await http.post(
        f"/api/recordings/{rid(store, '1795760000.5.wav')}/qa",
        json={"scores": sheet},
        headers={"X-Test-User": "sup"},
    )
    assert refused.status == 409
    error = (await refused.json())["error"]
    assert error["code"] == "qa_no_agent" and "没有接听坐席" in error["zh"]
    assert store.qa_for(rid(store, "1795760000.5.wav")) == []
