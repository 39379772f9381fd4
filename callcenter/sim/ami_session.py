"""What an AMI action may ask of the session it answers (``ami_server.AmiSession``).

Its own module so the actions (``ami_status.py``, ``ami_commands.py``) depend on this small
contract, not on the server, and ``ami_server.py`` imports them one way.
"""

from __future__ import annotations

from typing import Protocol

from callcenter.sim.ami_replies import Block
from callcenter.sim.originate import Done, OriginateRequest
from callcenter.sim.ports import AmiPbx


class ActionSession(Protocol):
    @property
    def pbx(self) -> AmiPbx:
        """The engine the session's server speaks for."""
        ...

    def write(self, block: Block) -> None:
        """Send one block to this session's client."""
        ...

    def originate(self, req: OriginateRequest, done: Done) -> None:
        """Place a call; ``done(ok, reason, channel)`` runs once it is answered or fails."""
        ...
