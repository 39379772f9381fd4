"""Per-agent figures from agent-state intervals, answered calls and QA sheets (pure)."""

from __future__ import annotations

import pytest
from test_recordings_http import T0, root, store  # noqa: F401 (fixtures)

from callcenter.metrics.agent_figures import QaMean, agent_figures, qa_means
from callcenter.metrics.agent_store import AgentFiguresStore
from callcenter.metrics.kpis import Tally, Thresholds
from callcenter.recordings.store import RecordingStore
from callcenter.routing.store import AgentTimeStore, StoredInterval


def span(agent: str, state: str, start: float, end: float, reason: str = "") -> StoredInterval:
    return StoredInterval("p", agent, f"PJSIP/{agent[-4:]}", state, reason, start, end)


def test_rings_answers_ring_no_answer_occupancy_and_pause() -> None:
    spans = [
        span("a1", "ready", 0, 100),
        span("a1", "ringing", 100, 110, "support"),  # answered
        span("a1", "on_call", 110, 200, "support"),
        span("a1", "ready", 200, 300),
        span("a1", "ringing", 300, 315, "support"),  # rang out: ring no answer
        span("a1", "ready", 315, 400),
        span("a1", "paused", 400, 500, "lunch"),
        span("a1", "ringing", 500, 505),  # a private call ringing the phone: no offer
        span("a2", "ringing", 50, 55, "support"),  # cut in two at a restart: one ring
        span("a2", "ringing", 55, 60, "support"),
        span("a2", "on_call", 60, 90, "support"),
        span("a2", "offline", 90, 1000),
    ]
    tally = Tally()
    tally.answered, tally.handle_s = 1, 90.0
    rows = agent_figures(
        since=0, until=1000, spans=spans, answered={"a1": tally, "": Tally(offered=3)},
        qa={"a1": QaMean(2, 85.0)},
    )  # fmt: skip
    assert [r.agent for r in rows] == ["a1", "a2"]  # no row for the calls nobody answered
    a1, a2 = rows
    assert (a1.rung, a1.answered, a1.ring_no_answer) == (2, 1, 1)
    assert a1.paused_s == 100
    # busy: 90 s on call; available: ready 285 + ringing 30 + on call 90
    assert a1.occupancy == pytest.approx(90 / 405)
    assert a1.aht_s == 90.0 and a1.qa == QaMean(2, 85.0)
    assert (a2.rung, a2.ring_no_answer) == (1, 0)
    assert a2.as_dict()["signed_in_s"] == 40  # offline time is not signed in
    assert "answer_rate" not in a1.as_dict()


def test_rings_count_where_they_start_and_time_is_clipped() -> None:
    spans = [span("a1", "ringing", 90, 105, "support"), span("a1", "ready", 105, 300)]
    (row,) = agent_figures(since=100, until=200, spans=spans, answered={}, qa={})
    assert row.rung == 0  # the ring started before the range
    assert row.seconds == {"ringing": 5, "ready": 95}


def test_qa_means_per_agent() -> None:
    assert qa_means([("a1", 80.0), ("a1", 90.0), ("a2", 70.0)]) == {
        "a1": QaMean(2, 85.0),
        "a2": QaMean(1, 70.0),
    }


def test_figures_from_the_database(store: RecordingStore) -> None:  # noqa: F811
    """Stored state time, stored calls and a QA sheet of a stored recording, on SQLite and
    PostgreSQL (the recordings fixtures: Agent 1001 answered the calls at T0 and T0 + 1 day)."""
    own = store.get_by_path("1795731524.1.wav")
    assert own is not None
    store.save_qa(own["id"], reviewer="sup", agent="Agent 1001", scores="{}", total=80.0,
                  comment="")  # fmt: skip
    AgentTimeStore(store.engine).insert(
        [
            span("Agent 1001", "ringing", T0 + 9, T0 + 20.5, "support"),
            span("Agent 1001", "on_call", T0 + 20.5, T0 + 100, "support"),
            span("Agent 1001", "paused", T0 + 100, T0 + 160, "meal"),
        ]
    )
    (row,) = AgentFiguresStore(store.engine).figures(T0 - 60, T0 + 3000, Thresholds())
    assert (row.agent, row.rung, row.answered, row.ring_no_answer) == ("Agent 1001", 1, 1, 0)
    assert row.paused_s == 60 and row.qa == QaMean(1, 80.0)
    assert row.occupancy == pytest.approx(79.5 / 91)
