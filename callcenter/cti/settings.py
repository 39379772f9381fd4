"""The CTI settings: sign-in, sessions, screen-pops, work orders, and what click-to-call may dial."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

from callcenter.core.contracts import DatabaseAddress
from callcenter.core.settings_checks import at_least_one, not_negative, positive

# What the events webhook can send (``cti/event_hook.py``)
EVENT_KINDS = ("call.queued", "call.answered", "call.ended", "screen_pop")


@dataclass(frozen=True)
class CtiSettings:
    """Sign-in, sessions, screen-pops, work orders and their webhook (docs/cti.md)."""

    # auto: the session cookie is Secure when the request came over HTTPS (or a proxy says so)
    cookie_secure: Literal["auto", "always", "never"] = "auto"
    session_lifetime_s: float = 12 * 3600.0  # absolute: one shift
    session_idle_s: float = 2 * 3600.0  # signed out after this long without a request
    login_max_failures: int = 5  # wrong passwords per (login, address) before a lockout
    login_lockout_s: float = 300.0  # the first lockout; doubles each time, at most 1 h
    # Per login over every address: this many wrong passwords at once, then one more per
    # interval; addresses that have not failed for the login are never held back by it.
    login_guess_burst: int = 20
    login_guess_interval_s: float = 60.0
    password_workers: int = 2  # threads for password checks, apart from other requests' work
    default_area_code: str = ""  # for local numbers without one ("21" Shanghai); "" keeps them
    allowed_origins: list[str] = field(default_factory=list)  # extra Origins (reverse proxies)
    webhook_url: str = ""  # the business system's hand-off; "" sends nothing
    webhook_secret: str = ""  # HMAC-SHA256 key for X-Callcenter-Signature; never logged
    webhook_max_attempts: int = 8
    # Calls and screen-pops for other systems (cti/event_hook.py), signed like the above
    events_webhook_url: str = ""  # "" sends nothing
    events_webhook_secret: str = ""  # HMAC-SHA256 key; never logged
    events_webhook_kinds: list[str] = field(default_factory=lambda: list(EVENT_KINDS))
    wrapup_s: float = 30.0  # after hangup, time for the disposition before the pop clears
    originate_context: str = "from-internal"  # dialplan context of click-to-call and callbacks
    # where a transfer sends the caller: seat extensions (1002) and queue names (support)
    transfer_context: str = "from-internal"
    # An agent reads owners freely through their own calls' pops; other reads (with a
    # reason) are limited to this many per window, then 429 and an alert to supervisors.
    owner_reads_limit: int = 20
    owner_reads_window_s: float = 600.0
    # Callbacks (回电, 回访): an unanswered attempt is tried again after the delay, up to
    # the attempts; a callback is overdue once its due time is this far behind.
    callback_max_attempts: int = 3
    callback_retry_delay_s: float = 1800.0
    callback_overdue_after_s: float = 900.0
    callback_due_ahead_s: float = 4 * 3600.0  # the due list shows what falls due this soon
    satisfaction_followup_after_s: float = 24 * 3600.0  # 回访 proposed this long after done
    # Departments a work order is dispatched to (codes; the page names the known ones)
    departments: list[str] = field(
        default_factory=lambda: [
            "engineering",
            "customer_service",
            "cleaning",
            "security",
            "landscaping",
        ]
    )
    owner_search_max: int = 20  # owners one search returns at most

    def __repr__(self) -> str:
        return (
            f"CtiSettings(cookie_secure={self.cookie_secure!r}, "
            f"session_lifetime_s={self.session_lifetime_s}, webhook_url={self.webhook_url!r}, "
            f"events_webhook_url={self.events_webhook_url!r})"
        )

    def check(self) -> dict[str, str]:
        problems = positive(
            self,
            "session_lifetime_s",
            "session_idle_s",
            "login_lockout_s",
            "login_guess_interval_s",
        )
        problems.update(
            at_least_one(self, "login_max_failures", "login_guess_burst", "password_workers")
        )
        if self.default_area_code and not (
            self.default_area_code.isdigit() and 2 <= len(self.default_area_code) <= 3
        ):
            problems["default_area_code"] = (
                f"must be 2-3 digits without the leading 0, got {self.default_area_code!r}"
            )
        if self.webhook_url and not self.webhook_url.startswith(("http://", "https://")):
            problems["webhook_url"] = "must start with http:// or https://"
        if self.webhook_url and not self.webhook_secret:
            problems["webhook_secret"] = "must be set when webhook_url is (it signs every call)"
        if self.events_webhook_url and not self.events_webhook_url.startswith(
            ("http://", "https://")
        ):
            problems["events_webhook_url"] = "must start with http:// or https://"
        if self.events_webhook_url and not self.events_webhook_secret:
            problems["events_webhook_secret"] = "must be set when events_webhook_url is"
        unknown = [k for k in self.events_webhook_kinds if k not in EVENT_KINDS]
        if unknown:
            problems["events_webhook_kinds"] = f"unknown {unknown}; known: {', '.join(EVENT_KINDS)}"
        if self.webhook_max_attempts < 1:
            problems["webhook_max_attempts"] = "must be at least 1"
        problems.update(not_negative(self, "wrapup_s"))
        problems.update(at_least_one(self, "owner_reads_limit"))
        problems.update(positive(self, "owner_reads_window_s"))
        problems.update(at_least_one(self, "callback_max_attempts", "owner_search_max"))
        problems.update(positive(self, "callback_retry_delay_s"))
        problems.update(
            not_negative(
                self, "callback_overdue_after_s", "callback_due_ahead_s",
                "satisfaction_followup_after_s",
            )
        )  # fmt: skip
        if not self.departments or any(not d.strip() for d in self.departments):
            problems["departments"] = "must name at least one department, none empty"
        return problems


@dataclass(frozen=True)
class DiallingSettings:
    """Which outside numbers click-to-call and callbacks may ring (``cti/dialling.py``)."""

    # a national number must start with one of these (digits as dialled); [] admits any:
    # mobiles 1…, landlines 0…, 400/800 service lines, 95xxx hotlines
    allowed_prefixes: list[str] = field(default_factory=lambda: ["0", "1", "400", "800", "95"])
    # never dialled from a seat: a mistaken click must not reach the emergency services
    emergency_numbers: list[str] = field(
        default_factory=lambda: ["110", "112", "119", "120", "122", "999", "911"]
    )
    international: bool = False  # numbers of other countries (+44…, 0044…); +86 is national

    def check(self) -> dict[str, str]:
        problems = {}
        for name in ("allowed_prefixes", "emergency_numbers"):
            bad = [v for v in getattr(self, name) if not (v.isdigit() and len(v) <= 15)]
            if bad:
                problems[name] = f"must be digits only, got {bad}"
        return problems


class CtiCommandsContext(Protocol):
    """What the ``owners`` and ``users`` commands read of the service's settings."""

    @property
    def cti(self) -> CtiSettings: ...

    @property
    def database(self) -> DatabaseAddress: ...
