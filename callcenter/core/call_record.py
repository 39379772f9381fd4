"""Call records: what the tracker produces and the store keeps."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, TypedDict

Outcome = Literal[
    "in_progress",  # not ended yet
    "answered",  # connected to an agent
    "abandoned",  # left the queue without an agent (hung up or timed out)
    "short_abandon",  # abandoned within short_abandon_s: excluded from the answer rate
    "ivr_only",  # ended without entering an agent queue
    "blocked",  # refused for lack of a line (congestion / CHANUNAVAIL)
    "voicemail",  # left a message
]
Kind = Literal["inbound", "internal", "spy"]
Origin = Literal["live", "recovered"]


class CallFilter(TypedDict, total=False):
    """Which calls a listing or a count takes: started in [since, until), and each other
    field equal where given (None: any)."""

    since: float | None
    until: float | None
    outcome: str | None
    queue: str | None
    agent: str | None
    pbx: str | None


@dataclass(slots=True)
class Leg:
    """One channel of a call: the caller's, an agent's, a Local half..."""

    channel_id: str
    channel: str
    started_at: float
    answered_at: float | None = None
    ended_at: float | None = None
    cause: int | None = None


@dataclass(slots=True)
class CallRecord:
    """One call, keyed by (pbx, call_id) where call_id is Asterisk's Linkedid.

    Times are epoch seconds as Asterisk stamped them; durations are derived.
    """

    pbx: str
    call_id: str
    kind: Kind = "inbound"
    hotline: str = ""  # the dialled number (DNIS)
    caller_number: str = ""
    caller_name: str = ""
    started_at: float = 0.0
    queue: str = ""
    queue_joined_at: float | None = None
    queue_left_at: float | None = None
    agent: str = ""  # queue member name
    agent_interface: str = ""
    ring_started_at: float | None = None
    answered_at: float | None = None
    ended_at: float | None = None
    outcome: Outcome = "in_progress"
    hangup_cause: int | None = None
    wait_s: float | None = None  # queue join -> answer or abandon
    talk_s: float | None = None  # answer -> end of the agent's part
    ring_s: float | None = None  # first ring -> answer
    ivr_s: float | None = None  # start -> queue join (or -> end when it never queued)
    dtmf: str = ""
    recorded: bool = False
    origin: Origin = "live"
    legs: list[Leg] = field(default_factory=list)

    @property
    def ended(self) -> bool:
        return self.ended_at is not None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CallRecord:
        legs = [Leg(**leg) for leg in data.get("legs", [])]
        return cls(**{**data, "legs": legs})
