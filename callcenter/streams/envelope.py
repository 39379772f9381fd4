"""What travels on a PBX's stream (pure): an event or a finished call, with who sent it.

Every envelope carries its origin (the instance that produced it, plus that process's
start) and a sequence number, so a receiver that gets it twice (at-least-once delivery,
a retried write) can tell and handle it once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from callcenter.core.call_record import CallRecord
from callcenter.core.events import Event, from_dict

Kind = Literal["event", "record"]


class EnvelopeError(ValueError):
    """A stream entry that is not an envelope this version understands."""


@dataclass(frozen=True, slots=True)
class Envelope:
    origin: str  # "<instance>/<process start>"
    seq: int
    pbx: str
    item: Event | CallRecord

    @property
    def id(self) -> str:
        return f"{self.origin}:{self.seq}"

    @property
    def kind(self) -> Kind:
        return "record" if isinstance(self.item, CallRecord) else "event"

    def fields(self) -> dict[str, str]:
        """The stream entry's fields."""
        body = self.item.to_dict()
        return {
            "o": self.origin,
            "n": str(self.seq),
            "p": self.pbx,
            "k": self.kind,
            "b": json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        }


def decode(fields: dict[str, str] | dict[bytes, bytes]) -> Envelope:
    """A stream entry back into an envelope; EnvelopeError names what is wrong."""
    text = {_text(k): _text(v) for k, v in fields.items()}
    missing = [name for name in ("o", "n", "p", "k", "b") if name not in text]
    if missing:
        raise EnvelopeError(f"stream entry lacks field(s) {', '.join(missing)}")
    try:
        seq = int(text["n"])
    except ValueError:
        raise EnvelopeError(f"sequence {text['n']!r} is not a number") from None
    try:
        body: Any = json.loads(text["b"])
    except json.JSONDecodeError as exc:
        raise EnvelopeError(f"body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise EnvelopeError("body is not a JSON object")
    item: Event | CallRecord
    try:
        if text["k"] == "event":
            item = from_dict(body)
        elif text["k"] == "record":
            item = CallRecord.from_dict(body)
        else:
            raise EnvelopeError(f"unknown envelope kind {text['k']!r}")
    except (TypeError, ValueError) as exc:
        if isinstance(exc, EnvelopeError):
            raise
        raise EnvelopeError(f"{text['k']} body does not fit: {exc}") from None
    return Envelope(origin=text["o"], seq=seq, pbx=text["p"], item=item)


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value
