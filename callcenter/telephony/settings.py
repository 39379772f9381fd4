"""The telephony settings: each PBX (its AMI link, queue_log and CDR) and the FastAGI server."""

from __future__ import annotations

import os
import zoneinfo
from dataclasses import dataclass, field

from callcenter.core.settings_checks import positive


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
        problems.update(
            positive(
                self,
                "action_timeout_s",
                "ping_interval_s",
                "ping_timeout_s",
                "backoff_initial_s",
                "backoff_max_s",
            )
        )
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
            problems.update(check_zone("timezone", self.timezone))
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
class FastAgiSettings:
    host: str = "127.0.0.1"
    port: int = 4573

    def check(self) -> dict[str, str]:
        if not 0 <= self.port <= 65535:
            return {"port": f"must be a TCP port (0-65535), got {self.port}"}
        return {}


def check_zone(key: str, name: str) -> dict[str, str]:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "Asia", a long name
        return {key: f"unknown time zone {name!r} (use an IANA name such as Asia/Shanghai)"}
    return {}


# --- loading ------------------------------------------------------------------------------
