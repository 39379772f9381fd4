"""AMI actions for several PBXs: each goes to the PBX that serves the phone it names.

A seat's pause or click-to-call names the seat (``Interface`` / ``Channel``); the PBX
that last reported that phone gets the action, else the first PBX.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from callcenter.telephony.ami import AmiClient, Fields, Message


class ActionRouter:
    def __init__(
        self,
        clients: Mapping[str, AmiClient],
        pbx_of: Callable[[str], str | None],
        default: str,
    ) -> None:
        if default not in clients:
            raise ValueError(f"no AMI link for the default PBX {default!r}")
        self.clients = dict(clients)
        self.pbx_of = pbx_of
        self.default = default

    def client_for(self, fields: Fields) -> AmiClient:
        phone = fields.get("Interface") or fields.get("Channel") or ""
        pbx = self.pbx_of(phone) if isinstance(phone, str) and phone else None
        return self.clients.get(pbx or self.default) or self.clients[self.default]

    async def send_action(self, fields: Fields, timeout: float | None = None) -> Message:
        return await self.client_for(fields).send_action(fields, timeout=timeout)
