"""Which address a request comes from, behind reverse proxies we trust (pure).

``X-Forwarded-For`` is whatever the client wrote, followed by what each proxy appended. It
is read only when the TCP peer is one of ``web.trusted_proxies``, and then from the right:
the first address that is not itself a trusted proxy is the client. Anything further left
was written by that client and is ignored.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# IPv6 clients are told apart by their /64: one host usually holds a whole /64, so a finer
# key would let it change address at every attempt.
IPV6_CLIENT_PREFIX = 64


def parse_networks(entries: Iterable[str]) -> tuple[IpNetwork, ...]:
    """``["10.0.0.5", "172.16.0.0/12", "::1"]`` as networks; ValueError names a bad entry."""
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{entry!r} is not an IP address or network") from None
    return tuple(networks)


def parse_address(text: str) -> IpAddress | None:
    """An address as a peer or a proxy writes it (``1.2.3.4``, ``1.2.3.4:5678``, ``::1``,
    ``[::1]:80``); IPv4-mapped IPv6 as IPv4; None when it is not one."""
    text = text.strip()
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: IpAddress, proxies: Sequence[IpNetwork]) -> bool:
    return any(address.version == net.version and address in net for net in proxies)


def client_address(
    peer: str | None, forwarded_for: Iterable[str], proxies: Sequence[IpNetwork]
) -> str:
    """The client's address: the peer's, unless the peer is a trusted proxy and
    ``forwarded_for`` (every X-Forwarded-For header, in order) names one further out."""
    peer_address = parse_address(peer or "")
    if peer_address is None:
        return peer or "?"
    nearest = peer_address
    if not _trusted(nearest, proxies):
        return str(nearest)
    hops = [hop for header in forwarded_for for hop in header.split(",")]
    for hop in reversed(hops):
        address = parse_address(hop)
        if address is None:
            break  # the chain our proxies vouch for ends here
        nearest = address
        if not _trusted(address, proxies):
            break
    return str(nearest)


def throttle_key(address: str) -> str:
    """The client's key for sign-in throttling: the address, or its /64 for IPv6."""
    parsed = parse_address(address)
    if isinstance(parsed, ipaddress.IPv6Address):
        network = ipaddress.IPv6Network((parsed, IPV6_CLIENT_PREFIX), strict=False)
        return str(network)
    return address
