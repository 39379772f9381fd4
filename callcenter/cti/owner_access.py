"""Who may read an owner record, and how many (pure; the clock is passed in).

Owner records hold names, every phone number, units and arrears: an agent needs the ones
of the callers they are serving, not the directory. So an agent reads an owner

- freely through a call in hand: one ringing or talking at their seat, or ended there
  after they answered it less than the wrap-up time ago (``owners_in_hand``);
- otherwise only stating why (``?reason=``), which the audit trail keeps, and only so
  many times per window (``OwnerReadLimiter``): past the limit the read is refused (429)
  and supervisors are alerted once, until the window clears.

Supervisors and admins read any owner (still audited, with their reason when given).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Literal

from callcenter.cti.seat_calls import SeatCall
from callcenter.web.security import User

Basis = Literal["supervisor", "own_call", "reason"]
REASON_MAX = 200


class OwnerReadRefused(Exception):
    """The read is refused: ``status`` (403: no reason given; 429: too many reads) and why,
    in both languages."""

    def __init__(self, status: int, en: str, zh: str, retry_after_s: float = 0.0) -> None:
        super().__init__(en)
        self.status = status
        self.en = en
        self.zh = zh
        self.retry_after_s = retry_after_s


def owners_in_hand(calls: Iterable[SeatCall], now: float, wrapup_s: float) -> frozenset[int]:
    """The owners on the cards of the calls a seat has in hand at ``now``: ringing or
    answered, or ended after being answered there no longer than ``wrapup_s`` ago."""
    held: set[int] = set()
    for call in calls:
        live = call.state in ("ringing", "answered")
        wrapping_up = call.state == "ended" and call.answered and now - call.last_at <= wrapup_s
        if live or wrapping_up:
            held.update(call.owner_ids)
    return frozenset(held)


def read_basis(user: User, wanted: Collection[int], in_hand: Collection[int], reason: str) -> Basis:
    """Why ``user`` may read the owners ``wanted`` (all of them), or ``OwnerReadRefused``
    (403) for an agent who gives no reason for owners outside their calls in hand."""
    if user.role in ("supervisor", "admin"):
        return "supervisor"
    if wanted and set(wanted) <= set(in_hand):
        return "own_call"
    if reason.strip():
        return "reason"
    raise OwnerReadRefused(
        403,
        "an agent reads owners of the calls at their seat; for any other owner, "
        "state why with ?reason=",
        "坐席只能查看本坐席来电的业主；查看其他业主请用 ?reason= 说明原因",
    )


@dataclass(frozen=True)
class ReadVerdict:
    allowed: bool
    count: int  # reads counted in the window, this one included when allowed
    alert: bool  # the first refusal since the user was under the limit: tell supervisors
    retry_after_s: float = 0.0


class OwnerReadLimiter:
    """At most ``limit`` counted reads per user in any ``window_s`` seconds (a sliding
    window of the reads' times, kept per login)."""

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit = limit
        self.window_s = window_s
        self._reads: dict[str, deque[float]] = {}
        self._alerted: set[str] = set()

    def take(self, login: str, now: float) -> ReadVerdict:
        reads = self._reads.setdefault(login, deque())
        while reads and reads[0] <= now - self.window_s:
            reads.popleft()
        if len(reads) < self.limit:
            reads.append(now)
            self._alerted.discard(login)
            return ReadVerdict(True, len(reads), alert=False)
        alert = login not in self._alerted
        self._alerted.add(login)
        retry = max(0.0, reads[0] + self.window_s - now)
        return ReadVerdict(False, len(reads), alert=alert, retry_after_s=retry)

    def forget_idle(self, now: float) -> None:
        """Drop the users with no read in the window (a bound on memory)."""
        for login in [k for k, v in self._reads.items() if not v or v[-1] <= now - self.window_s]:
            del self._reads[login]


def limit_refusal(verdict: ReadVerdict, window_s: float) -> OwnerReadRefused:
    minutes = max(1, round(window_s / 60))
    return OwnerReadRefused(
        429,
        f"too many owner reads outside your own calls ({verdict.count} in {minutes} min); "
        "supervisors have been told",
        f"{minutes} 分钟内查看非本坐席来电的业主过多（{verdict.count} 次），已通知班长",
        retry_after_s=verdict.retry_after_s,
    )


def limit_alert(login: str, count: int, window_s: float, at: float) -> dict[str, object]:
    """What supervisors are shown (wallboard, webhook): who, how many, since when."""
    minutes = max(1, round(window_s / 60))
    return {
        "kind": "owner_reads",
        "login": login,
        "count": count,
        "window_s": window_s,
        "since": at,
        "zh": f"坐席 {login} 在 {minutes} 分钟内查看业主资料 {count} 次，已达上限",
        "en": f"Agent {login} read {count} owner records in {minutes} min: limit reached",
    }
