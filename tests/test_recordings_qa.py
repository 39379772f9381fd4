"""QA history per agent and criterion and the calibration view: the pure sums, and the
page over HTTP with its roles (an agent sees only their own sheets, no calibration)."""

from __future__ import annotations

import html
from typing import Any

import pytest
from test_recordings_http import USERS, client, rid, root, store  # noqa: F401 (fixtures)

from callcenter.recordings.qa import (
    ReviewerBias,
    ScoreSheet,
    calibration,
    per_agent_and_criterion,
)
from callcenter.recordings.settings import QaCriterion
from callcenter.recordings.store import RecordingStore
from callcenter.web.security import User

CRITERIA = [QaCriterion("greeting", "问候", "Greeting", 10), QaCriterion("fix", "解决", "Fix", 20)]


def sheet(rec: int, reviewer: str, agent: str, total: float, **scores: int) -> ScoreSheet:
    return ScoreSheet(rec, reviewer, agent, 1000.0 + rec, 2000.0, total, scores)


def test_per_agent_and_criterion() -> None:
    rows = per_agent_and_criterion(
        [sheet(1, "s1", "a1", 90, greeting=10, fix=17), sheet(2, "s1", "a1", 50, greeting=5, fix=10),
         sheet(3, "s2", "a2", 100, greeting=10, fix=20)],
        CRITERIA,
    )  # fmt: skip
    assert [(r.agent, r.sheets, r.mean) for r in rows] == [("a1", 2, 70.0), ("a2", 1, 100.0)]
    assert rows[0].by_criterion == {"greeting": 75.0, "fix": 67.5}


def test_calibration_compares_reviewers_on_the_same_recordings() -> None:
    recordings, bias = calibration(
        [sheet(1, "s1", "a1", 90), sheet(1, "s2", "a1", 70), sheet(2, "s1", "a2", 80),
         sheet(3, "s1", "a1", 60), sheet(3, "s2", "a1", 60)]
    )  # fmt: skip
    assert [r.recording_id for r in recordings] == [3, 1]  # newest first; 2 had one reviewer
    assert recordings[1].totals == {"s1": 90, "s2": 70} and recordings[1].spread == 20
    assert bias == [ReviewerBias("s1", 2, 5.0), ReviewerBias("s2", 2, -5.0)]


async def test_history_page_roles_and_calibration(
    client: Any,  # noqa: F811
    store: RecordingStore,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    http, _ = client
    monkeypatch.setitem(USERS, "sup2", User(4, "sup2", "supervisor"))
    a, b = rid(store, "1795731524.1.wav"), rid(store, "2026/11/27/1795735000.2.wav")
    for reviewer, rec, points in (("sup", a, 10), ("sup2", a, 6), ("sup", b, 5)):
        body = {"scores": dict.fromkeys(("greeting", "accuracy", "courtesy", "resolution"), points),
                "comment": "<b>kind</b>"}  # fmt: skip
        response = await http.post(
            f"/api/recordings/{rec}/qa", json=body, headers={"X-Test-User": reviewer}
        )
        assert response.status == 200
    november = "from=2026-11-01&to=2026-11-30"
    response = await http.get(
        f"/recordings/qa?{november}&agent=Agent+1001&lang=en", headers={"X-Test-User": "sup"}
    )
    assert response.status == 200
    page = await response.text()
    # in the site's frame: the navigation bar, the recordings' place in it marked
    assert 'data-testid="nav"' in page and '<html lang="en">' in page
    assert '<a href="/recordings" aria-current="page" data-nav="/recordings">' in page
    # Agent 1001: two sheets on one recording (100 and 60); Agent 1002 one sheet of 50
    assert "<tr><td>Agent 1001</td><td>2</td><td>80.0</td><td>80.0</td>" in page
    assert "<tr><td>Agent 1002</td><td>1</td><td>50.0</td>" in page
    assert 'data-testid="qa-history"' in page and "&lt;b&gt;kind&lt;/b&gt;" in page
    calibration_table = page[page.index('data-testid="qa-calibration"') :]
    assert f"<td>#{a}</td><td>Agent 1001</td><td>100.0</td><td>60.0</td><td>40.0</td>" in (
        calibration_table
    )
    assert "<tr><td>sup</td><td>1</td><td>+20.0</td></tr>" in page
    # an agent: their own sheets only, whatever they ask for, and no calibration
    response = await http.get(
        f"/recordings/qa?{november}&agent=Agent+1001", headers={"X-Test-User": "a1002"}
    )
    page = html.unescape(await response.text())
    assert "Agent 1002" in page and "Agent 1001" not in page and "qa-calibration" not in page
    # the same over the API, for other systems
    body = await (await http.get("/api/recordings/qa/calibration",
                                 headers={"X-Test-User": "sup"})).json()  # fmt: skip
    assert body["recordings"][0]["totals"] == {"sup": 100.0, "sup2": 60.0}
    assert body["recordings"][0]["spread"] == 40.0
    assert [r["reviewer"] for r in body["reviewers"]] == ["sup", "sup2"]
    response = await http.get("/api/recordings/qa/calibration", headers={"X-Test-User": "a1001"})
    assert response.status == 403
    body = await (await http.get("/api/recordings/qa/history?agent=Agent+1002",
                                 headers={"X-Test-User": "a1001"})).json()  # fmt: skip
    assert {a["agent"] for a in body["agents"]} == {"Agent 1001"}  # their own, whatever asked
    assert body["agents"][0]["by_criterion"]["greeting"] == 80.0
    assert {s["reviewer"] for s in body["sheets"]} == {"sup", "sup2"}
    response = await http.get("/recordings/qa?from=junk", headers={"X-Test-User": "sup"})
    assert response.status == 400 and 'data-testid="nav"' in await response.text()
    response = await http.get("/recordings/qa", allow_redirects=False)
    assert response.status == 303
