"""A FastAGI server answering with the IVR's sessions, as the IVR feature builds it."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Literal

from callcenter.core.events import Event
from callcenter.ivr.agi_session import IvrSessions, Lookup, RouteHousekeeper
from callcenter.ivr.registry import FlowRegistry
from callcenter.telephony.fastagi import FastAgiServer


def ivr_fastagi_server(
    host: str,
    port: int,
    *,
    flows: FlowRegistry,
    lookup: Lookup | None,
    on_event: Callable[[Event], None],
    clock: Callable[[], float] = time.time,
    zone: str = "Asia/Shanghai",
    pbx: str = "main",
    sound_prefix: str = "callcenter",
    header_timeout_s: float = 5.0,
    lookup_timeout_s: float = 1.0,
    queue_mode: Literal["dialplan", "exec"] = "dialplan",
    route_housekeeper: RouteHousekeeper | None = None,
    pbx_hosts: Mapping[str, str] | None = None,
    pbx_names: Sequence[str] = (),
) -> FastAgiServer:
    sessions = IvrSessions(flows=flows, lookup=lookup, on_event=on_event, clock=clock, zone=zone,
                           sound_prefix=sound_prefix, lookup_timeout_s=lookup_timeout_s,
                           queue_mode=queue_mode, route_housekeeper=route_housekeeper)  # fmt: skip
    return FastAgiServer(host, port, sessions, pbx=pbx, header_timeout_s=header_timeout_s,
                         pbx_hosts=pbx_hosts, pbx_names=pbx_names)  # fmt: skip


def ivr_of(server: FastAgiServer) -> IvrSessions:
    """The IVR side of a server built by ``ivr_fastagi_server`` (its clock, lookup, ...)."""
    assert isinstance(server.handler, IvrSessions)
    return server.handler
