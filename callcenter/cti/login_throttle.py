"""Sign-in throttling (pure: the clock is passed in, nothing here awaits).

Two limits, chosen so that nobody can use them to keep someone else out:

- **Per (login, client address)**: ``max_failures`` wrong passwords within ``window_s``
  lock that pair for ``lockout_s``, doubling with each further lockout up to
  ``max_lockout_s``. Other addresses are not touched, so five requests an hour from
  elsewhere cannot lock a real agent out, and failures for made-up logins cannot lock the
  real users out of an address they share (a NAT, a reverse proxy).
- **Per login, over all addresses**: a token bucket of ``guess_burst`` failures, refilled
  one every ``guess_interval_s``, slows guessing from many addresses. When it is empty, only
  addresses that have themselves failed for that login recently are refused; an address
  that has not failed is never refused by it, so the right password from the agent's own
  desk still signs in during an attack.

An attempt is counted *before* its password is checked (``reserve``) and given back when
the password was right (``release``) or could not be checked (``withdraw``). The caller reserves and then awaits the check, so a
burst of concurrent attempts cannot all pass the limit before the first failure is counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

PRUNE_FLOOR = 1024  # records kept before stale ones are first swept out


@dataclass(frozen=True)
class Attempt:
    """A reserved failure: counted already; ``release`` (right password) or ``withdraw``
    (no answer) gives it back."""

    login_key: str
    address_key: str
    at: float
    took_token: bool


@dataclass(frozen=True)
class Refused:
    retry_after_s: float
    reason: Literal["address", "login"]  # this pair is locked / the login's guesses are spent


@dataclass
class _Pair:
    failures: list[float] = field(default_factory=list)
    locked_until: float = 0.0
    lockouts: int = 0


@dataclass
class _Bucket:
    tokens: float
    updated_at: float


@dataclass(kw_only=True, eq=False)
class LoginThrottle:
    """Pure: the limits below, and what each (login, address) and login has used."""

    max_failures: int = 5
    lockout_s: float = 300.0
    window_s: float = 900.0
    max_lockout_s: float = 3600.0
    guess_burst: int = 20
    guess_interval_s: float = 60.0
    _pairs: dict[tuple[str, str], _Pair] = field(default_factory=dict, init=False, repr=False)
    _buckets: dict[str, _Bucket] = field(default_factory=dict, init=False, repr=False)
    _prune_at: int = field(default=PRUNE_FLOOR, init=False, repr=False)

    def reserve(self, login: str, address: str, now: float) -> Attempt | Refused:
        """Count one failure for ``login`` from ``address`` now, or say why not and how long
        to wait. The caller checks the password only when it gets an ``Attempt``."""
        login_key = login.lower()
        pair = self._pairs.get((login_key, address))
        if pair is not None:
            pair.failures = [t for t in pair.failures if now - t < self.window_s]
            if pair.lockouts and now - pair.locked_until >= self.max_lockout_s:
                pair.lockouts = 0  # quiet for as long as the longest lockout: start over
            if pair.locked_until > now:
                return Refused(pair.locked_until - now, "address")
        bucket = self._bucket(login_key, now)
        # Locked before counts as failed: a lockout clears the pair's failure times.
        has_failed = pair is not None and (bool(pair.failures) or pair.lockouts > 0)
        if has_failed and bucket.tokens < 1.0:
            return Refused((1.0 - bucket.tokens) * self.guess_interval_s, "login")
        took_token = bucket.tokens >= 1.0
        if took_token:
            bucket.tokens -= 1.0
        if pair is None:
            pair = self._pairs[(login_key, address)] = _Pair()
        pair.failures.append(now)
        if len(pair.failures) >= self.max_failures:
            # Locked now, while this attempt is still being checked: every concurrent one
            # after it is refused without a password check.
            pair.lockouts += 1
            span = self.lockout_s * 2 ** (pair.lockouts - 1)
            pair.locked_until = now + min(self.max_lockout_s, span)
            pair.failures.clear()
        self._maybe_prune(now)
        return Attempt(login_key, address, now, took_token)

    def withdraw(self, attempt: Attempt) -> None:
        """The password could not be checked (the database was away): this attempt was no
        guess, so it no longer counts. A lockout it started stays; it ends by itself."""
        pair = self._pairs.get((attempt.login_key, attempt.address_key))
        if pair is not None and attempt.at in pair.failures:
            pair.failures.remove(attempt.at)
        self._give_back(attempt)

    def release(self, attempt: Attempt) -> None:
        """The password was right: forget this pair's failures and give the token back."""
        self._pairs.pop((attempt.login_key, attempt.address_key), None)
        self._give_back(attempt)

    def _give_back(self, attempt: Attempt) -> None:
        bucket = self._buckets.get(attempt.login_key)
        if attempt.took_token and bucket is not None:
            bucket.tokens = min(float(self.guess_burst), bucket.tokens + 1.0)

    def __len__(self) -> int:
        return len(self._pairs) + len(self._buckets)

    def _bucket(self, login_key: str, now: float) -> _Bucket:
        bucket = self._buckets.get(login_key)
        if bucket is None:
            bucket = self._buckets[login_key] = _Bucket(float(self.guess_burst), now)
        elif now > bucket.updated_at:
            refill = (now - bucket.updated_at) / self.guess_interval_s
            bucket.tokens = min(float(self.guess_burst), bucket.tokens + refill)
            bucket.updated_at = now
        return bucket

    def _maybe_prune(self, now: float) -> None:
        """Drop what no longer limits anything, so made-up logins cannot fill memory."""
        if len(self) < self._prune_at:
            return
        self._pairs = {
            key: pair
            for key, pair in self._pairs.items()
            if (pair.lockouts > 0 and now - pair.locked_until < self.max_lockout_s)
            or any(now - t < self.window_s for t in pair.failures)
        }
        for login_key in list(self._buckets):
            self._bucket(login_key, now)
            if self._buckets[login_key].tokens >= self.guess_burst:
                del self._buckets[login_key]
        self._prune_at = max(PRUNE_FLOOR, 2 * len(self))
