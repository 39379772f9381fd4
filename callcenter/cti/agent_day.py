"""The agent's own day on the seat page (pure): calls taken, talk time, average handling,
pause time by reason, and the state the seat is in now and for how long.

Calls come from the stored call records of the agent since midnight (a call counts once
it is over); state time from routing's agent states (``StateSpan``s of the seat, the
current one open up to routing's now). Handling is talk plus wrap-up, as contact centres count
it (AHT), averaged over the calls taken.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from callcenter.core.contracts import StateSpan


def agent_day(calls: Iterable[Mapping[str, Any]], spans: Sequence[StateSpan]) -> dict[str, Any]:
    taken = [c for c in calls if c.get("outcome") == "answered"]
    talk_s = sum(float(c.get("talk_s") or 0.0) for c in taken)
    wrap_s = sum(s.end - s.start for s in spans if s.state == "wrap_up")
    pause_s: dict[str, float] = {}
    for span in spans:
        if span.state == "paused":
            pause_s[span.reason] = pause_s.get(span.reason, 0.0) + span.end - span.start
    # the state now (its start cut at midnight when older); routing's now ends it, so the
    # time in it needs no agreement between this clock and the PBX's
    current = next((s for s in spans if s.current), None)
    return {
        "calls_taken": len(taken),
        "talk_s": round(talk_s),
        "handle_avg_s": round((talk_s + wrap_s) / len(taken)) if taken else None,
        "pause_s": {reason: round(s) for reason, s in sorted(pause_s.items())},
        "state": current.state if current else "offline",
        "state_reason": current.reason if current else "",
        "state_since": current.start if current else None,
        "state_s": round(current.end - current.start) if current else None,
    }
