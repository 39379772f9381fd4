"""The web server's settings."""

from __future__ import annotations

from dataclasses import dataclass, field

from callcenter.web.client_address import parse_networks


@dataclass(frozen=True)
class WebSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    # Reverse proxies (IPs or CIDRs) whose X-Forwarded-For is believed; empty: the TCP peer
    # is the client, whatever the header says.
    trusted_proxies: list[str] = field(default_factory=list)

    def check(self) -> dict[str, str]:
        problems = {}
        if not 0 <= self.port <= 65535:
            problems["port"] = f"must be a TCP port (0-65535), got {self.port}"
        try:
            parse_networks(self.trusted_proxies)
        except ValueError as exc:
            problems["trusted_proxies"] = f"must list IP addresses or networks: {exc}"
        return problems
