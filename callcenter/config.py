"""Settings: ``config/callcenter.yaml`` plus ``CALLCENTER_*`` environment overrides.

Everything is validated at start. A wrong value raises ``ConfigError`` naming the file,
line, key and problem, e.g. ``config/callcenter.yaml:12: targets.answer_rate: must be
between 0 and 1, got 1.5``.

Environment overrides use ``__`` between levels and indexes for lists:
``CALLCENTER_DATABASE__URL``, ``CALLCENTER_TARGETS__ANSWER_RATE=0.85``,
``CALLCENTER_PBXES__0__AMI__SECRET``. A text setting takes the value exactly as written,
so a secret such as ``0123``, ``yes`` or ``12:30`` stays what it says; other settings read
it as YAML, so ``0.85`` is a number, ``true`` a boolean and ``[a, b]`` a list.
``CALLCENTER_CONFIG`` names the settings file.
"""

from __future__ import annotations

import dataclasses
import math
import os
import types
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

import yaml

from callcenter.core.yamlfile import PlacedSafeLoader, YamlSyntaxError, parse_yaml_text

ENV_PREFIX = "CALLCENTER_"
DEFAULT_PATH = Path("config/callcenter.yaml")


class ConfigError(ValueError):
    """A setting is missing, unknown or wrong; the message names where and why."""


@dataclass(frozen=True)
class Targets:
    line_capacity: int = 90
    answer_rate: float = 0.90
    service_level_s: float = 20.0
    service_level_target: float = 0.80
    short_abandon_s: float = 5.0

    def check(self) -> dict[str, str]:
        problems = {}
        if self.line_capacity < 1:
            problems["line_capacity"] = f"must be at least 1, got {self.line_capacity}"
        for name in ("answer_rate", "service_level_target"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                problems[name] = f"must be between 0 and 1, got {value}"
        for name in ("service_level_s", "short_abandon_s"):
            if getattr(self, name) < 0:
                problems[name] = f"must not be negative, got {getattr(self, name)}"
        return problems


@dataclass(frozen=True)
class AmiSettings:
    host: str = "127.0.0.1"
    port: int = 5038
    username: str = "callcenter"
    secret: str = ""
    action_timeout_s: float = 10.0
    ping_interval_s: float = 5.0
    ping_timeout_s: float = 5.0
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0
    # AMI over TLS (manager.conf tlsenable; Asterisk listens on tlsbindaddr, port 5039 by
    # default): the secret and every caller's number cross the network encrypted.
    tls: bool = False
    tls_ca_file: str = ""  # PEM bundle the PBX's certificate must chain to; "": system's
    tls_verify: bool = True  # false: any certificate, any name (for testing only)
    tls_server_name: str = ""  # name the certificate must carry; "": host
    tls_cert_file: str = ""  # client certificate (PEM), for tlsverifyclient=yes
    tls_key_file: str = ""  # its private key (PEM, not encrypted)

    def __repr__(self) -> str:  # the secret never reaches a log line or a traceback
        return (
            f"AmiSettings(host={self.host!r}, port={self.port}, username={self.username!r}, "
            f"tls={self.tls})"
        )

    def check(self) -> dict[str, str]:
        problems = {}
        if not 0 <= self.port <= 65535:
            problems["port"] = f"must be a TCP port (0-65535), got {self.port}"
        for name in (
            "action_timeout_s",
            "ping_interval_s",
            "ping_timeout_s",
            "backoff_initial_s",
            "backoff_max_s",
        ):
            if getattr(self, name) <= 0:
                problems[name] = f"must be positive, got {getattr(self, name)}"
        if self.backoff_max_s < self.backoff_initial_s:
            problems["backoff_max_s"] = "must not be smaller than backoff_initial_s"
        problems.update(self._check_tls())
        return problems

    def _check_tls(self) -> dict[str, str]:
        problems = {}
        files = ("tls_ca_file", "tls_cert_file", "tls_key_file")
        if not self.tls:
            # A CA file without tls: true would look protected while the secret goes in clear.
            for name in (*files, "tls_server_name"):
                if getattr(self, name):
                    problems[name] = "is set but tls is false: the link would be plain TCP"
            return problems
        if self.tls_cert_file and not self.tls_key_file:
            problems["tls_key_file"] = "must be set when tls_cert_file is (the certificate's key)"
        if self.tls_key_file and not self.tls_cert_file:
            problems["tls_cert_file"] = "must be set when tls_key_file is"
        for name in files:
            path = getattr(self, name)
            if path and not os.path.isfile(path):
                problems[name] = f"no such file: {path}"
            elif path and not os.access(path, os.R_OK):
                problems[name] = f"cannot be read: {path}"
        return problems


@dataclass(frozen=True)
class PbxSettings:
    """One Asterisk server: its AMI link and where it writes queue_log and CDR."""

    name: str = "main"
    ami: AmiSettings = field(default_factory=AmiSettings)
    queue_log: str = ""
    cdr_csv: str = ""
    # CDRs kept in a database table (cdr_pgsql, cdr_adaptive_odbc) instead of Master.csv:
    # a SQLAlchemy URL (postgresql://...) and the table; when set, cdr_csv is not read.
    cdr_db_url: str = ""
    cdr_db_table: str = "cdr"
    timezone: str = ""  # CDR times are local to the PBX; empty means the hotline's zone
    inbound_contexts: list[str] = field(default_factory=lambda: ["from-pstn"])
    # How often queue_log and the CDR are read between logins, so the saved cursor follows
    # the stored calls and a restart re-reads little (0: only at each login).
    durable_interval_s: float = 2.0

    def check(self) -> dict[str, str]:
        problems = {}
        if not self.name or not self.name.replace("-", "").replace("_", "").isalnum():
            problems["name"] = f"must be letters, digits, '-' or '_', got {self.name!r}"
        if self.timezone:
            problems.update(_check_zone("timezone", self.timezone))
        if not self.inbound_contexts:
            problems["inbound_contexts"] = "must list at least one dialplan context"
        if self.cdr_db_url and not self.cdr_db_url.startswith(("postgresql", "postgres", "sqlite")):
            problems["cdr_db_url"] = "must be a postgresql:// (or sqlite:///) URL"
        if not self.cdr_db_table.replace("_", "").replace(".", "").isalnum():
            problems["cdr_db_table"] = f"must be a table name, got {self.cdr_db_table!r}"
        if self.durable_interval_s < 0:
            problems["durable_interval_s"] = (
                f"must be 0 or more seconds, got {self.durable_interval_s}"
            )
        return problems


@dataclass(frozen=True)
class SimulatorSettings:
    """The built-in PBX simulator, started next to the service for ``make demo``."""

    enabled: bool = False
    seed: int = 1
    speed: float = 1.0
    calls: int = 0  # 0: keep generating
    peak_calls_per_hour: float = 400.0
    lines: int = 90
    agents: int = 12
    records_dir: str = "var/sim"
    # The simulated PBX serves AMI over TLS with this certificate and key (PEM; "": plain
    # TCP), so pbxes[0].ami.tls can be tried without an Asterisk.
    tls_cert_file: str = ""
    tls_key_file: str = ""

    def check(self) -> dict[str, str]:
        problems = {}
        if self.tls_key_file and not self.tls_cert_file:
            problems["tls_cert_file"] = "must be set when tls_key_file is"
        for name in ("tls_cert_file", "tls_key_file"):
            path = getattr(self, name)
            if path and not os.path.isfile(path):
                problems[name] = f"no such file: {path}"
        if self.speed <= 0:
            problems["speed"] = f"must be positive, got {self.speed}"
        if self.calls < 0:
            problems["calls"] = f"must not be negative, got {self.calls}"
        if self.peak_calls_per_hour <= 0:
            problems["peak_calls_per_hour"] = f"must be positive, got {self.peak_calls_per_hour}"
        if self.lines < 1:
            problems["lines"] = f"must be at least 1, got {self.lines}"
        if self.agents < 1:
            problems["agents"] = f"must be at least 1, got {self.agents}"
        return problems


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = "sqlite:///var/callcenter.db"
    max_batch: int = 500
    flush_interval_s: float = 0.25
    buffer_limit: int = 50_000

    def __repr__(self) -> str:
        return f"DatabaseSettings(url={redact_url(self.url)!r})"

    def check(self) -> dict[str, str]:
        problems = {}
        if not self.url.startswith(("sqlite://", "postgresql://", "postgresql+psycopg://")):
            problems["url"] = (
                f"must start with sqlite:// or postgresql:// (got {redact_url(self.url)!r})"
            )
        if self.max_batch < 1:
            problems["max_batch"] = f"must be at least 1, got {self.max_batch}"
        if self.buffer_limit < self.max_batch:
            problems["buffer_limit"] = "must not be smaller than max_batch"
        return problems


@dataclass(frozen=True)
class RedisSettings:
    url: str = ""  # empty: the in-process event bus (one instance)
    instance: str = ""  # this instance's name in the consumer groups; empty: the host name
    prefix: str = "callcenter"  # key prefix, so several deployments can share one Redis
    lease_s: float = 10.0  # how long a PBX lease outlives a silent holder
    stream_maxlen: int = 1_000_000  # entries kept per PBX stream (approximate trim)
    outbox_limit: int = 100_000  # envelopes kept while Redis is away

    def __repr__(self) -> str:
        return f"RedisSettings(url={redact_url(self.url)!r}, instance={self.instance!r})"

    def check(self) -> dict[str, str]:
        problems = {}
        if self.url and not self.url.startswith(("redis://", "rediss://", "unix://")):
            problems["url"] = (
                f"must start with redis://, rediss:// or unix://, got {redact_url(self.url)!r}"
            )
        if self.lease_s < 1:
            problems["lease_s"] = f"must be at least 1 second, got {self.lease_s}"
        if self.stream_maxlen < 1000:
            problems["stream_maxlen"] = f"must be at least 1000, got {self.stream_maxlen}"
        if self.outbox_limit < 1:
            problems["outbox_limit"] = f"must be at least 1, got {self.outbox_limit}"
        if ":" in self.instance or " " in self.instance:
            problems["instance"] = f"must not contain ':' or spaces, got {self.instance!r}"
        return problems


@dataclass(frozen=True)
class WebSettings:
    """The web server, and how it protects itself from clients that hold connections
    without finishing their requests (docs/decisions/0025-web-connection-gate.md)."""

    host: str = "127.0.0.1"
    port: int = 8080
    # Reverse proxies (IPs or CIDRs) whose X-Forwarded-For is believed; empty: the TCP peer
    # is the client, whatever the header says.
    trusted_proxies: list[str] = field(default_factory=list)
    header_timeout_s: float = 10.0  # a request's header block must be complete within this
    body_timeout_s: float = 30.0  # a request body may not stall longer than this
    idle_timeout_s: float = 75.0  # a kept-alive connection with no request is closed after this
    max_connections_per_address: int = 100  # open connections from one TCP peer address
    # Descriptors kept free for FastAGI, AMI, the database and files: web connections are
    # refused once they would leave fewer than this under the soft RLIMIT_NOFILE.
    descriptor_reserve: int = 512

    def check(self) -> dict[str, str]:
        from callcenter.web.client_address import parse_networks

        problems = {}
        if not 0 <= self.port <= 65535:
            problems["port"] = f"must be a TCP port (0-65535), got {self.port}"
        try:
            parse_networks(self.trusted_proxies)
        except ValueError as exc:
            problems["trusted_proxies"] = f"must list IP addresses or networks: {exc}"
        for name in ("header_timeout_s", "body_timeout_s", "idle_timeout_s"):
            value = getattr(self, name)
            if not 0 < value <= 3600:
                problems[name] = f"must be more than 0 and at most 3600 seconds, got {value}"
        if self.max_connections_per_address < 1:
            problems["max_connections_per_address"] = (
                f"must be at least 1, got {self.max_connections_per_address}"
            )
        if self.descriptor_reserve < 0:
            problems["descriptor_reserve"] = f"must not be negative, got {self.descriptor_reserve}"
        return problems


@dataclass(frozen=True)
class FastAgiSettings:
    host: str = "127.0.0.1"
    port: int = 4573

    def check(self) -> dict[str, str]:
        if not 0 <= self.port <= 65535:
            return {"port": f"must be a TCP port (0-65535), got {self.port}"}
        return {}


@dataclass(frozen=True)
class LoggingSettings:
    format: Literal["console", "json"] = "console"
    level: Literal["debug", "info", "warning", "error"] = "info"
    call_lines: bool = True  # one readable line per finished call


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
    wrapup_s: float = 30.0  # after hangup, time for the disposition before the pop clears
    originate_context: str = "from-internal"  # dialplan context of click-to-call and callbacks
    # An agent reads owners freely through their own calls' pops; other reads (with a
    # reason) are limited to this many per window, then 429 and an alert to supervisors.
    owner_reads_limit: int = 20
    owner_reads_window_s: float = 600.0

    def __repr__(self) -> str:
        return (
            f"CtiSettings(cookie_secure={self.cookie_secure!r}, "
            f"session_lifetime_s={self.session_lifetime_s}, webhook_url={self.webhook_url!r})"
        )

    def check(self) -> dict[str, str]:
        problems = {}
        for name in (
            "session_lifetime_s",
            "session_idle_s",
            "login_lockout_s",
            "login_guess_interval_s",
        ):
            if getattr(self, name) <= 0:
                problems[name] = f"must be positive, got {getattr(self, name)}"
        for name in ("login_max_failures", "login_guess_burst", "password_workers"):
            if getattr(self, name) < 1:
                problems[name] = f"must be at least 1, got {getattr(self, name)}"
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
        if self.webhook_max_attempts < 1:
            problems["webhook_max_attempts"] = "must be at least 1"
        if self.wrapup_s < 0:
            problems["wrapup_s"] = f"must not be negative, got {self.wrapup_s}"
        if self.owner_reads_limit < 1:
            problems["owner_reads_limit"] = f"must be at least 1, got {self.owner_reads_limit}"
        if self.owner_reads_window_s <= 0:
            problems["owner_reads_window_s"] = f"must be positive, got {self.owner_reads_window_s}"
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


@dataclass(frozen=True)
class QaCriterion:
    """One thing a supervisor scores a recorded call on (质检项)."""

    key: str = ""
    name_zh: str = ""
    name_en: str = ""
    max_points: int = 10

    def check(self) -> dict[str, str]:
        problems = {}
        if not self.key or not self.key.replace("_", "").isalnum():
            problems["key"] = f"must be letters, digits or '_', got {self.key!r}"
        if not 1 <= self.max_points <= 100:
            problems["max_points"] = f"must be between 1 and 100, got {self.max_points}"
        return problems


def _default_qa_criteria() -> list[QaCriterion]:
    return [
        QaCriterion("greeting", "开场问候", "Greeting", 10),
        QaCriterion("accuracy", "信息准确", "Accuracy", 10),
        QaCriterion("courtesy", "服务礼貌", "Courtesy", 10),
        QaCriterion("resolution", "问题解决", "Resolution", 10),
    ]


@dataclass(frozen=True)
class RecordingsSettings:
    """Call recordings: where MixMonitor writes, playback links, retention, QA criteria."""

    root: str = ""  # empty: the top-level recordings_dir
    cache_dir: str = "var/recordings-cache"  # transcoded copies for the browser
    link_secret: str = ""  # signs playback links; empty: a random one per process
    link_lifetime_s: float = 300.0
    default_retention_days: int = 365  # 0: keep forever
    retention_days: dict[str, int] = field(default_factory=dict)  # queue -> days
    late_grace_s: float = 600.0  # a recorded call without a file is an orphan after this
    watch_interval_s: float = 5.0
    settle_s: float = 2.0  # a file changed more recently may still be being written
    qa_criteria: list[QaCriterion] = field(default_factory=_default_qa_criteria)

    def __repr__(self) -> str:  # the link secret never reaches a log line
        return f"RecordingsSettings(root={self.root!r}, cache_dir={self.cache_dir!r})"

    def check(self) -> dict[str, str]:
        problems = {}
        if self.link_secret and len(self.link_secret) < 16:
            problems["link_secret"] = "must be at least 16 characters (or empty for a random one)"
        for name in ("link_lifetime_s", "watch_interval_s"):
            if getattr(self, name) <= 0:
                problems[name] = f"must be positive, got {getattr(self, name)}"
        for name in ("late_grace_s", "settle_s"):
            if getattr(self, name) < 0:
                problems[name] = f"must not be negative, got {getattr(self, name)}"
        if self.default_retention_days < 0:
            problems["default_retention_days"] = "must not be negative (0 keeps forever)"
        for queue, days in self.retention_days.items():
            if days < 0:
                problems[f"retention_days.{queue}"] = "must not be negative (0 keeps forever)"
        keys = [c.key for c in self.qa_criteria]
        if len(set(keys)) != len(keys):
            problems["qa_criteria"] = f"criterion keys must be unique, got {keys}"
        return problems


@dataclass(frozen=True)
class StaffingMinimum:
    """At least ``seats`` rostered / logged in during ``window`` (HH:MM-HH:MM, local)."""

    name: str = "peak"
    window: str = "09:00-18:00"
    seats: int = 8
    teams: list[str] = field(default_factory=list)  # empty: every team counts
    days: str = "all"  # all, weekdays, weekends, holidays, workdays

    def check(self) -> dict[str, str]:
        from callcenter.routing.staffing import MinimumRule

        try:
            MinimumRule.parse(self.name, self.window, self.seats, self.teams, self.days)
        except ValueError as exc:
            return {"window": str(exc)}
        return {}


def _default_minimums() -> list[StaffingMinimum]:
    return [
        StaffingMinimum("peak", "09:00-18:00", 8, ["hotline"]),
        StaffingMinimum("night", "21:00-08:00", 2, ["hotline"]),
    ]


@dataclass(frozen=True)
class RoutingSettings:
    """Seats, shifts, rosters and routing (docs/routing.md)."""

    shifts_file: str = "config/shifts.yaml"
    roster_file: str = "config/roster.yaml"
    agents_file: str = "config/agents.yaml"
    wrapup_s: float = 15.0
    general_queue: str = "support"
    housekeeper_ring_s: float = 20.0
    zone_max_wait_s: float = 60.0
    max_wait_s: float = 120.0
    vip_priority: int = 10
    voicemail_box: str = "100@default"
    minimums: list[StaffingMinimum] = field(default_factory=_default_minimums)
    resync_interval_s: float = 300.0  # membership sync also runs this often between edges
    staffing_check_interval_s: float = 30.0
    alert_webhook_url: str = ""  # empty: no webhook
    alert_webhook_secret: str = ""  # HMAC-SHA256 key; never logged

    def __repr__(self) -> str:
        return f"RoutingSettings(roster_file={self.roster_file!r}, webhook={bool(self.alert_webhook_url)})"

    def check(self) -> dict[str, str]:
        problems = {}
        for name in ("wrapup_s", "housekeeper_ring_s", "zone_max_wait_s", "max_wait_s"):
            if getattr(self, name) < 0:
                problems[name] = f"must not be negative, got {getattr(self, name)}"
        for name in ("resync_interval_s", "staffing_check_interval_s"):
            if getattr(self, name) <= 0:
                problems[name] = f"must be positive, got {getattr(self, name)}"
        if self.alert_webhook_url and not self.alert_webhook_url.startswith(
            ("http://", "https://")
        ):
            problems["alert_webhook_url"] = "must start with http:// or https://"
        names = [m.name for m in self.minimums]
        if len(set(names)) != len(names):
            problems["minimums"] = f"rule names must be unique, got {names}"
        return problems


@dataclass(frozen=True)
class IvrSettings:
    """IVR flows (``ivr_dir``) as served over FastAGI."""

    queues: list[str] = field(default_factory=lambda: ["support", "repair", "complaint"])
    prompts_dir: str = "ivr_flows/prompts"
    sound_prefix: str = "callcenter"  # STREAM FILE callcenter/zh/welcome
    check_audio: bool = False  # refuse flows whose prompt audio is missing
    header_timeout_s: float = 5.0
    lookup_timeout_s: float = 1.0
    default_flow: str = "hotline"  # for a dialled number missing from ``hotlines``
    # dialplan: queues are handed to the dialplan (Queue + AGI .../survey after it);
    # exec: EXEC Queue inside the AGI, which then runs the survey itself
    queue_mode: Literal["dialplan", "exec"] = "dialplan"

    def check(self) -> dict[str, str]:
        problems = {}
        for name in ("header_timeout_s", "lookup_timeout_s"):
            if getattr(self, name) <= 0:
                problems[name] = f"must be positive, got {getattr(self, name)}"
        return problems


@dataclass(frozen=True)
class MetricsSettings:
    """Reports, staffing and the wallboard (thresholds themselves are in ``targets``)."""

    wrapup_s: float = 0.0  # after-call work added to each answered call's talk for AHT
    high_lines_fraction: float = 0.8  # lines alert and "seconds high" at this share of capacity
    patience_s: float = 0.0  # mean caller patience for Erlang A; 0: estimated from history
    interval_min: int = 30  # default report and staffing interval (15, 30 or 60)

    def check(self) -> dict[str, str]:
        problems = {}
        if self.wrapup_s < 0 or self.patience_s < 0:
            problems["wrapup_s"] = "wrapup_s and patience_s must not be negative"
        if not 0.0 < self.high_lines_fraction <= 1.0:
            problems["high_lines_fraction"] = f"must be in (0, 1], got {self.high_lines_fraction}"
        if self.interval_min not in (15, 30, 60):
            problems["interval_min"] = f"must be 15, 30 or 60, got {self.interval_min}"
        return problems


@dataclass(frozen=True)
class Settings:
    timezone: str = "Asia/Shanghai"
    targets: Targets = field(default_factory=Targets)
    pbxes: list[PbxSettings] = field(default_factory=lambda: [PbxSettings()])
    hotlines: dict[str, str] = field(default_factory=dict)  # dialled number -> IVR flow
    simulator: SimulatorSettings = field(default_factory=SimulatorSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    redis: RedisSettings = field(default_factory=RedisSettings)
    web: WebSettings = field(default_factory=WebSettings)
    fastagi: FastAgiSettings = field(default_factory=FastAgiSettings)
    logging: LoggingSettings = field(default_factory=LoggingSettings)
    recordings_dir: str = "recordings"
    ivr_dir: str = "ivr_flows"
    recordings: RecordingsSettings = field(default_factory=RecordingsSettings)
    cti: CtiSettings = field(default_factory=CtiSettings)
    dialling: DiallingSettings = field(default_factory=DiallingSettings)
    routing: RoutingSettings = field(default_factory=RoutingSettings)
    ivr: IvrSettings = field(default_factory=IvrSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)

    def check(self) -> dict[str, str]:
        problems = _check_zone("timezone", self.timezone)
        names = [p.name for p in self.pbxes]
        if not names:
            problems["pbxes"] = "must list at least one PBX"
        elif len(set(names)) != len(names):
            problems["pbxes"] = f"PBX names must be unique, got {names}"
        for number in self.hotlines:
            if not number.isdigit():
                problems[f"hotlines.{number}"] = "a hotline number must be digits only"
        return problems

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


def redact_url(url: str) -> str:
    """``postgresql://user:pw@host/db`` -> ``postgresql://user:***@host/db``."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    creds, _, host = rest.rpartition("@")
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in creds else url


def _check_zone(key: str, name: str) -> dict[str, str]:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "Asia", a long name
        return {key: f"unknown time zone {name!r} (use an IANA name such as Asia/Shanghai)"}
    return {}


# --- loading ------------------------------------------------------------------------------


def load_settings(
    path: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Read the file (if any), apply ``CALLCENTER_*`` overrides, build and validate."""
    env = os.environ if environ is None else environ
    chosen = Path(path) if path is not None else Path(env.get("CALLCENTER_CONFIG", DEFAULT_PATH))
    raw: dict[str, Any] = {}
    lines: dict[str, int] = {}
    if chosen.exists():
        raw, lines = _read_yaml(chosen)
    elif path is not None or "CALLCENTER_CONFIG" in env:
        raise ConfigError(f"{chosen}: settings file not found")
    origin = str(chosen)
    for key, value in sorted(env.items()):
        if not key.startswith(ENV_PREFIX) or key == "CALLCENTER_CONFIG":
            continue
        if key in _NON_SETTING_VARIABLES or key.startswith("CALLCENTER_TEST_"):
            continue
        dotted = key[len(ENV_PREFIX) :].lower().replace("__", ".")
        _set_path(raw, dotted.split("."), _EnvValue(key, value))
        lines[dotted] = -1
    settings: Settings = _build(Settings, raw, "", origin, lines)
    return settings


# An environment override may add list items (CALLCENTER_PBXES__1__NAME), a few at most.
_MAX_NEW_ITEMS = 100

# Variables of the test suite and CI, not settings.
_NON_SETTING_VARIABLES = frozenset({"CALLCENTER_REQUIRE_SERVICES"})


_Loader = PlacedSafeLoader


def _node_and_data(loader: _Loader) -> tuple[yaml.Node | None, Any]:
    node = loader.get_single_node()
    return node, loader.construct_document(node) if node is not None else None


def _read_yaml(path: Path) -> tuple[dict[str, Any], dict[str, int]]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError(f"{path}:{line}: not UTF-8 text (byte {exc.start})") from None
    try:
        node, data = parse_yaml_text(text, _Loader, _node_and_data)
    except YamlSyntaxError as exc:
        where = f"{path}:{exc.line}:{exc.column}" if exc.marked else f"{path}:{exc.line}"
        raise ConfigError(f"{where}: invalid YAML: {exc.problem}") from None
    if data is None:
        return {}, {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:1: the settings file must be a mapping of keys to values")
    lines: dict[str, int] = {}
    _collect_lines(node, "", lines, set())
    return data, lines


def _collect_lines(
    node: yaml.Node | None, prefix: str, lines: dict[str, int], seen: set[int]
) -> None:
    # Each node once: an alias may point back at its own anchor (a: &x {b: *x}), and
    # aliases of aliases would otherwise be walked exponentially often.
    if node is None or id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            dotted = f"{prefix}{key_node.value}"
            lines[dotted] = key_node.start_mark.line + 1
            _collect_lines(value_node, dotted + ".", lines, seen)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            dotted = f"{prefix}{index}"
            lines[dotted] = item.start_mark.line + 1
            _collect_lines(item, dotted + ".", lines, seen)


@dataclass(frozen=True)
class _EnvValue:
    """An environment override as written. It is read once the setting's type is known:
    text verbatim (YAML would turn a secret ``0123`` into 83 and ``yes`` into true), any
    other type as YAML."""

    key: str
    text: str

    def read(self, hint: Any) -> Any:
        text_types = (str, *get_args(hint)) if get_origin(hint) in (Union, types.UnionType) else ()
        if hint is str or str in text_types:
            return self.text
        return _parse_env_value(self.key, self.text)


def _parse_env_value(key: str, value: str) -> Any:
    try:
        return yaml.load(value, Loader=_Loader) if value.strip() else ""
    except (yaml.YAMLError, RecursionError):
        raise ConfigError(f"environment {key}: not a valid value: {value[:80]!r}") from None


def _set_path(target: dict[str, Any], parts: list[str], value: Any) -> None:
    node: Any = target
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        if isinstance(node, list):
            if not (part.isascii() and part.isdigit()):
                raise ConfigError(f"environment: {'.'.join(parts)}: {part!r} must be a list index")
            position = int(part)
            if position > len(node) + _MAX_NEW_ITEMS:  # never grow a list without bound
                raise ConfigError(
                    f"environment: {'.'.join(parts)}: list index {part} is too far past the "
                    f"{len(node)} items there"
                )
            while len(node) <= position:
                node.append({})
            key: Any = position
        else:
            key = part
        if last:
            node[key] = value
            return
        child = node[key] if (isinstance(node, list) or key in node) else None
        if isinstance(child, _EnvValue):  # CALLCENTER_WEB='{...}' and CALLCENTER_WEB__PORT
            child = node[key] = _parse_env_value(child.key, child.text)
        if not isinstance(child, dict | list):
            child = [] if parts[index + 1].isascii() and parts[index + 1].isdigit() else {}
            node[key] = child
        node = child


def _where(origin: str, lines: dict[str, int], dotted: str) -> str:
    line = lines.get(dotted)
    probe = dotted
    while line is None and "." in probe:
        probe = probe.rsplit(".", 1)[0]
        line = lines.get(probe)
    if line == -1:
        env_key = ENV_PREFIX + dotted.replace(".", "__").upper()
        return f"environment {env_key}"
    return f"{origin}:{line}" if line else origin


def _build(cls: type[Any], raw: Any, prefix: str, origin: str, lines: dict[str, int]) -> Any:
    where_self = prefix.rstrip(".") or "settings"
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{_where(origin, lines, where_self)}: {where_self}: must be a mapping")
    hints = get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    errors: list[str] = []
    for key in raw:
        if key not in known:
            dotted = f"{prefix}{key}"
            errors.append(
                f"{_where(origin, lines, dotted)}: {dotted}: unknown setting "
                f"(known: {', '.join(sorted(known))})"
            )
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in raw:
            continue
        dotted = f"{prefix}{f.name}"
        try:
            kwargs[f.name] = _coerce(hints[f.name], raw[f.name], dotted, origin, lines)
        except ConfigError as exc:
            errors.append(str(exc))
    if errors:
        raise ConfigError("\n".join(errors))
    instance = cls(**kwargs)
    check = getattr(instance, "check", None)
    if check is not None:
        problems = check()
        if problems:
            raise ConfigError(
                "\n".join(
                    f"{_where(origin, lines, prefix + key)}: {prefix}{key}: {reason}"
                    for key, reason in problems.items()
                )
            )
    return instance


def _coerce(hint: Any, value: Any, dotted: str, origin: str, lines: dict[str, int]) -> Any:
    def fail(reason: str) -> ConfigError:
        return ConfigError(f"{_where(origin, lines, dotted)}: {dotted}: {reason}")

    if isinstance(value, _EnvValue):
        value = value.read(hint)

    origin_type = get_origin(hint)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _build(hint, value, dotted + ".", origin, lines)
    if origin_type is Literal:
        allowed = get_args(hint)
        if value not in allowed:
            raise fail(f"must be one of {', '.join(map(str, allowed))}, got {value!r}")
        return value
    if origin_type in (Union, types.UnionType):
        options = [a for a in get_args(hint) if a is not type(None)]
        if value is None:
            return None
        return _coerce(options[0], value, dotted, origin, lines)
    if origin_type is list:
        if not isinstance(value, list):
            raise fail(f"must be a list, got {type(value).__name__}")
        (item_type,) = get_args(hint)
        return [_coerce(item_type, v, f"{dotted}.{i}", origin, lines) for i, v in enumerate(value)]
    if origin_type is dict:
        if not isinstance(value, dict):
            raise fail(f"must be a mapping, got {type(value).__name__}")
        _, value_type = get_args(hint)
        return {
            str(k): _coerce(value_type, v, f"{dotted}.{k}", origin, lines) for k, v in value.items()
        }
    if hint is bool:
        if not isinstance(value, bool):
            raise fail(f"must be true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise fail(f"must be a whole number, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise fail(f"must be a number, got {value!r}")
        try:
            number = float(value)
        except OverflowError:  # a whole number with hundreds of digits
            raise fail("is too large a number") from None
        if not math.isfinite(number):  # .nan would slip past every range check
            raise fail(f"must be a finite number, got {value!r}")
        return number
    if hint is str:
        if isinstance(value, bool) or value is None or isinstance(value, dict | list):
            raise fail(f"must be text, got {value!r}")
        return str(value)
    raise fail(f"unsupported setting type {hint!r}")
