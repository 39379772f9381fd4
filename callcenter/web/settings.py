"""The web server's settings."""

from __future__ import annotations

from dataclasses import dataclass, field

from callcenter.core.settings_checks import at_least_one, not_negative
from callcenter.web.client_address import parse_networks


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
        problems.update(at_least_one(self, "max_connections_per_address"))
        problems.update(not_negative(self, "descriptor_reserve"))
        return problems
