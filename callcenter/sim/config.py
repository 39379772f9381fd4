"""Simulator settings: one dataclass with defaults that give a busy daytime hotline."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from callcenter.sim.penalty_rules import PenaltyRule

TOPOLOGIES = ("trunk", "local")
CDR_LAYOUTS = ("linkedid", "default", "newcdrcolumns")

DEFAULT_HOTLINES: dict[str, str] = {
    "4008001000": "support",
    "4008002000": "repair",
    "4008003000": "complaint",
}

# Relative call volume per hour of day (local time); 1.0 is the peak hour.
DEFAULT_CURVE: tuple[float, ...] = (
    0.12, 0.08, 0.06, 0.05, 0.06, 0.10, 0.25, 0.55, 0.90, 1.00, 1.00, 0.95,
    0.80, 0.85, 0.95, 1.00, 0.95, 0.85, 0.70, 0.60, 0.50, 0.40, 0.30, 0.20,
)  # fmt: skip


@dataclass
class Member:
    """A queue member: ``interface`` like ``PJSIP/1001``, ``name`` like ``Agent 1001``."""

    interface: str
    name: str
    penalty: int = 0
    dynamic: bool = False  # static members (queues.conf) cannot be removed with QueueRemove

    @property
    def extension(self) -> str:
        return self.interface.split("/", 1)[-1]


@dataclass
class QueueConfig:
    name: str
    members: list[Member] = field(default_factory=list)
    strategy: str = "leastrecent"
    ring_timeout: float = 15.0  # seconds an agent rings before RINGNOANSWER
    retry: float = 5.0  # pause before ringing the next member
    max_wait: float = 120.0  # Queue(name,,,,120): then EXITWITHTIMEOUT and voicemail
    wrapuptime: int = 5
    servicelevel: int = 20
    weight: int = 0
    defaultrule: str = ""  # queues.conf defaultrule: the penalty rule list callers follow


def agents(first: int, count: int, local_context: str = "") -> list[Member]:
    """Members ``Agent <ext>`` on ``PJSIP/<ext>``, or on ``Local/<ext>@<local_context>`` (rung
    through a Local channel pair whose ``;2`` runs that context, as FreePBX-style queues do)."""
    if local_context:
        return [
            Member(f"Local/{ext}@{local_context}", f"Agent {ext}")
            for ext in range(first, first + count)
        ]
    return [Member(f"PJSIP/{ext}", f"Agent {ext}") for ext in range(first, first + count)]


def default_queues(agent_count: int = 12, local_context: str = "") -> list[QueueConfig]:
    """Three queues over ``agent_count`` agents; the first agents also help in ``repair``.
    ``local_context``: the members are Local channels into that context (``agents``)."""
    staff = agents(1001, max(1, agent_count), local_context)
    support_n = max(1, (agent_count * 2) // 3)
    support = staff[:support_n]
    rest = staff[support_n:] or staff[-1:]
    return [
        QueueConfig("support", list(support)),
        QueueConfig("repair", list(rest) + list(support[:2])),
        QueueConfig("complaint", list(rest)),
    ]


@dataclass
class TrafficParams:
    peak_calls_per_hour: float = 400.0
    hourly_curve: tuple[float, ...] = DEFAULT_CURVE
    hotline_weights: tuple[float, ...] = (0.6, 0.25, 0.15)
    # Menu digit -> probability; "" is "no key pressed" (hotline's own queue).
    menu_choices: dict[str, float] = field(
        default_factory=lambda: {"1": 0.45, "2": 0.25, "3": 0.1, "": 0.2}
    )
    ivr_hangup_prob: float = 0.05  # caller gives up in the menu
    ivr_seconds: tuple[float, float] = (4.0, 12.0)  # time in the menu, uniform
    patience_mean_s: float = 90.0  # exponential; short abandons happen
    handle_median_s: float = 150.0  # lognormal talk time
    handle_sigma: float = 0.6
    answer_delay_s: tuple[float, float] = (1.0, 6.0)  # agent pick-up delay, uniform
    no_answer_prob: float = 0.08  # an agent lets it ring out
    agent_hangup_prob: float = 0.45  # who ends the talk: agent (else caller)
    voicemail_seconds: tuple[float, float] = (0.0, 30.0)  # message length after the beep


@dataclass
class AgiTarget:
    host: str
    port: int
    script: str = "hotline"
    # the share of callers who know the menu: they press their key during the first prompt
    # that takes it as an escape digit (the welcome), BARGE_IN_S into it
    barge_in: float = 0.25


@dataclass
class SimConfig:
    host: str = "127.0.0.1"
    ami_port: int = 0  # 0: an ephemeral port; read PbxSimulator.ami_port after start()
    username: str = "callcenter"
    secret: str = "callcenter"
    seed: int = 1
    speed: float = 1.0  # virtual seconds per real second
    lines: int = 90
    queues: list[QueueConfig] = field(default_factory=default_queues)
    # queuerules.conf: rule lists by name (``penalty_rules.parse_queuerules``)
    queue_rules: dict[str, tuple[PenaltyRule, ...]] = field(default_factory=dict)
    hotlines: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_HOTLINES))
    menu_routes: dict[str, str] = field(
        default_factory=lambda: {"1": "support", "2": "repair", "3": "complaint"}
    )
    default_queue: str = "support"
    # features.conf [featuremap] atxfer (docker/asterisk/features.conf); "": none, as
    # Asterisk's default, and AMI Atxfer is refused
    atxfer_code: str = "*2"
    traffic: TrafficParams = field(default_factory=TrafficParams)
    records_dir: Path | str = Path("var/sim")
    agi_target: AgiTarget | None = None
    recorded_fraction: float = 0.2
    recordings_dir: Path | str | None = None  # MixMonitor files of recorded calls; None: none
    # Known callers (e.g. owners' numbers): each call comes from one of them, except a
    # fraction of unknown random mobiles. Empty: every caller is a random mobile.
    caller_numbers: tuple[str, ...] = ()
    unknown_caller_fraction: float = 0.2
    start_epoch: float | None = None  # None: now
    timezone: str = "Asia/Shanghai"
    short_abandon_s: float = 5.0
    ami_version: str = "11.0.0"  # Asterisk 22 announces "Asterisk Call Manager/11.0.0"
    asterisk_version: str = "22.10.1"
    caller_context: str = "from-pstn"
    agent_context: str = "agents"
    trunk: str = "trunk"
    voicemail_box: str = "100@default"
    cdr_congestion: bool = False  # cdr.conf congestion=no: blocked calls are FAILED
    log_membername_as_agent: bool = False  # queues.conf default
    login_failure_delay: float = 1.0  # manager.c sleeps 1 s before "Authentication failed"
    pbx_name: str = "sim"
    # How callers arrive: "trunk" (one PJSIP/<trunk>-n channel, whose Uniqueid is the
    # Linkedid) or "local" (a Local/<dnis>@<caller_context>-n;1/;2 pair: ;1's Uniqueid is the
    # Linkedid, ;2 runs the dialplan and is the queued channel).
    topology: str = "trunk"
    # Master.csv columns: "linkedid" (cdr_csv's 18 + linkedid, as a cdr_custom template),
    # "default" (cdr_csv's stock 18) or "newcdrcolumns" (18 + peeraccount, linkedid, sequence).
    cdr_layout: str = "linkedid"
    # cdr.conf [csv] usegmtime: Master.csv's dates in GMT (the sample cdr.conf turns it on);
    # off, the PBX's local time. The AMI Cdr event is local time either way (cdr_manager).
    cdr_usegmtime: bool = False
    # Also write every CDR row into Asterisk's standard cdr table (SQLAlchemy URL; "": off),
    # as cdr_pgsql does; times in cdr_db_timezone ("": the PBX's own ``timezone``).
    cdr_db_url: str = ""
    cdr_db_table: str = "cdr"
    cdr_db_timezone: str = ""
    # AMI over TLS, as manager.conf's tlsenable/tlscertfile/tlsprivatekey: with a PEM
    # certificate the AMI port speaks TLS only ("": plain TCP). tls_key_file "": the key is
    # in the certificate's file. tls_client_ca_file: clients must present a certificate
    # from this CA (tlsverifyclient=yes with tlscafile).
    tls_cert_file: str = ""
    tls_key_file: str = ""
    tls_client_ca_file: str = ""

    def check(self) -> None:
        """Raise ValueError naming the first setting that has no meaning."""
        if self.topology not in TOPOLOGIES:
            raise ValueError(f"topology must be one of {', '.join(TOPOLOGIES)}: {self.topology!r}")
        if self.cdr_layout not in CDR_LAYOUTS:
            raise ValueError(
                f"cdr_layout must be one of {', '.join(CDR_LAYOUTS)}: {self.cdr_layout!r}"
            )
        if (self.tls_key_file or self.tls_client_ca_file) and not self.tls_cert_file:
            raise ValueError("tls_key_file and tls_client_ca_file need tls_cert_file")


def daytime_start(
    timezone: str = "Asia/Shanghai", hour: int = 9, now: float | None = None
) -> float:
    """Epoch of ``hour``:00 today in ``timezone``: a start_epoch inside the busy part of
    the default curve (at 03:00 the default traffic is a trickle)."""
    tz = ZoneInfo(timezone)
    today = datetime.fromtimestamp(time.time() if now is None else now, tz)
    return today.replace(hour=hour, minute=0, second=0, microsecond=0).timestamp()
