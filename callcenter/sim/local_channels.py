"""Local channels, as main/core_local.c and main/core_unreal.c make them.

Requesting ``Local/<exten>@<context>[/options]`` makes two channels at once:
``Local/<exten>@<context>-<n>;1`` (state Down: the side the requester dials and talks to)
and ``...;2`` (state Ring: it runs ``<exten>@<context>`` in the dialplan). ``<n>`` is Local's
own 8-hex-digit counter; the halves get consecutive Uniqueids and the same Linkedid (the
requester's, or ``;1``'s own). A LocalBridge event follows once both halves have their
caller ids. What ``;2`` does reaches ``;1``: its Ringing() makes ``;1`` Ringing, its
Answer() answers ``;1`` (ast_unreal_answer / ast_unreal_indicate).

The device ``Local/<exten>@<context>`` is in use while any of its channels lives (core_local.c
``local_devicestate``): a queue member on one shows Status 2 from the ring on, never 6.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from callcenter.sim.channels import DOWN, RING, RINGING, UP, Channel, header
from callcenter.sim.ports import ChannelOps

NORMAL_CLEARING = 16


@dataclass(frozen=True, slots=True)
class LocalTarget:
    exten: str
    context: str
    optimize: bool = True  # the "/n" option turns optimization off

    @property
    def dial_string(self) -> str:
        return f"{self.exten}@{self.context}"


def parse_local(interface: str) -> LocalTarget | None:
    """``Local/1001@agents/n`` -> LocalTarget("1001", "agents", False); None for other
    technologies. Options follow a ``/`` after the context (an exten may hold ``/``)."""
    tech, _, rest = interface.partition("/")
    if tech != "Local" or "@" not in rest:
        return None
    exten, _, context_options = rest.rpartition("@")
    context, _, options = context_options.partition("/")
    return LocalTarget(exten, context, "n" not in options)


def new_pair(
    pbx: ChannelOps, target: LocalTarget, linkedid: str | None, owner: Any
) -> tuple[Channel, Channel]:
    """Both halves, announced with a Newchannel each (``;1`` first)."""
    base = f"Local/{target.dial_string}-{pbx.next_channel_number('Local'):08x}"
    one = pbx.new_channel("Local", target.context, target.exten, linkedid, owner, f"{base};1")
    two = pbx.new_channel("Local", target.context, target.exten, one.linkedid, owner, f"{base};2")
    one.state, two.state = DOWN, RING
    one.half, two.half = 1, 2
    one.partner, two.partner = two, one
    pbx.emit(one.event("Newchannel", pbx.now))
    pbx.emit(two.event("Newchannel", pbx.now))
    return one, two


def local_bridge(pbx: ChannelOps, one: Channel, two: Channel, target: LocalTarget) -> None:
    ev = header("LocalBridge", pbx.now)
    ev.update(one.state_fields("LocalOne"))
    ev.update(two.state_fields("LocalTwo"))
    ev.update(
        Context=target.context,
        Exten=target.exten,
        LocalOptimization="Yes" if target.optimize else "No",
    )
    pbx.emit(ev)


def caller_ids(pbx: ChannelOps, chan: Channel, connected: bool = True) -> None:
    """NewCallerid (and NewConnectedLine) for ids just given to ``chan``."""
    pbx.emit(
        chan.event(
            "NewCallerid", pbx.now, **{"CID-CallingPres": "0 (Presentation Allowed, Not Screened)"}
        )
    )
    if connected:
        pbx.emit(chan.event("NewConnectedLine", pbx.now))


def two_changed_state(pbx: ChannelOps, two: Channel) -> None:
    """``;2`` rang or answered: ``;1`` follows (after ``;2``'s own Newstate)."""
    one = two.partner
    if one is None or one.dead or one.state == two.state:
        return
    if two.state == RINGING or two.state == UP:
        pbx.set_state(one, two.state)


def seconds(value: float) -> str:
    """A Wait() argument: whole seconds bare, else one decimal (``20``, ``2.5``)."""
    tenths = round(value * 10)
    return str(tenths // 10) if tenths % 10 == 0 else f"{tenths / 10:.1f}"


def hang_up_unanswered(pbx: ChannelOps, one: Channel) -> None:
    """The requester hangs up ``;1`` before ``;2`` answered (a ring that ended): ``;2`` is
    asked to hang up, ``;1`` goes, then ``;2`` (cause 0 on both: nothing was answered)."""
    two = one.partner
    if two is not None and not two.dead:
        pbx.emit(two.event("HangupRequest", pbx.now, Cause="0"))
    pbx.hangup_channel(one, 0)
    if two is not None and not two.dead:
        pbx.emit(two.event("SoftHangupRequest", pbx.now, Cause=str(NORMAL_CLEARING)))
        pbx.hangup_channel(two, 0)
