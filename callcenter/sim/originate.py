"""Calls placed with ``Action: Originate``: an agent's phone rings, answers, then either runs
an application (ChanSpy, Wait, Playback...) or dials an outside number over the trunk."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from callcenter.sim.call_state import NORMAL_CLEARING
from callcenter.sim.channels import (
    RINGING,
    UP,
    Channel,
    Event,
    bridge_channel_event,
    bridge_event,
    header,
)
from callcenter.sim.ports import Engine
from callcenter.sim.records import CdrRow

# OriginateResponse Reason values (the AST_CONTROL_* frame that ended the attempt)
REASON_FAILED, REASON_ANSWERED = 0, 4

Done = Callable[[bool, int, "Channel | None"], None]


@dataclass
class OriginateRequest:
    channel: str  # e.g. PJSIP/1001
    app: str = ""
    data: str = ""
    context: str = ""
    exten: str = ""
    priority: int = 1
    timeout_ms: int = 30000
    caller_num: str = ""
    caller_name: str = ""
    channel_id: str = ""  # ChannelId: the Uniqueid the caller asked for (and so the linkedid)


class Session:
    """One originated channel and whatever it connects to."""

    def __init__(self, pbx: Engine, req: OriginateRequest, chan: Channel) -> None:
        self.pbx = pbx
        self.req = req
        self.chan = chan
        self.peer: Channel | None = None
        self.bridge_id = ""
        self.spyee: Channel | None = None
        self.answered_at: float | None = None
        self.ended = False
        chan.owner = self

    def hangup(self, cause: int = NORMAL_CLEARING) -> None:
        if self.ended:
            return
        self.ended = True
        pbx, now, chan = self.pbx, self.pbx.now, self.chan
        cause = cause or NORMAL_CLEARING
        if self.spyee is not None:
            pbx.emit(spy_event("ChanSpyStop", now, chan, self.spyee))
            self.spyee = None
        peer = self.peer
        if peer is not None and self.bridge_id:
            pbx.emit(bridge_channel_event("BridgeLeave", now, self.bridge_id, 1, chan))
            pbx.emit(bridge_channel_event("BridgeLeave", now, self.bridge_id, 0, peer))
            pbx.emit(bridge_event("BridgeDestroy", now, self.bridge_id, 0))
        pbx.hangup_channel(chan, cause)
        if peer is not None:
            pbx.hangup_channel(peer, cause)
        if self.answered_at is not None:
            self.write_cdr()

    def write_cdr(self) -> None:
        pbx, chan = self.pbx, self.chan
        row = CdrRow(
            accountcode="",
            src=self.req.caller_num,
            dst=chan.exten,
            dcontext=chan.context,
            clid=pbx.clid(chan),
            channel=chan.name,
            dstchannel=self.peer.name if self.peer is not None else "",
            lastapp=chan.app,
            lastdata=chan.appdata,
            start=chan.created_at,
            answer=self.answered_at,
            end=pbx.now,
            disposition="ANSWERED",
            amaflags="DOCUMENTATION",
            uniqueid=chan.uniqueid,
            userfield="",
            linkedid=chan.linkedid,
            sequence=chan.cdr_seq,
        )
        pbx.records.cdr(row)
        pbx.emit(pbx.cdr_event(row))


def spy_event(name: str, when: float, spyer: Channel, spyee: Channel) -> Event:
    ev = header(name, when)
    ev.update(spyer.state_fields("Spyer"))
    ev.update(spyee.state_fields("Spyee"))
    return ev


class Originator:
    def __init__(self, pbx: Engine) -> None:
        self.pbx = pbx
        self.rng = pbx.model.ring_stream(-1)

    def endpoint_exists(self, channel: str) -> bool:
        tech, _, resource = channel.partition("/")
        if not resource:
            return False
        if tech == "Local":
            return True
        known = {a.split("/", 1)[-1] for a in self.pbx.agents}
        return tech in ("PJSIP", "SIP") and resource in known

    def start(self, req: OriginateRequest, done: Done) -> None:
        """Place the call; ``done(ok, reason, channel)`` runs once it is answered or fails."""
        pbx = self.pbx
        if not self.endpoint_exists(req.channel):
            pbx.sched.after(0.05, lambda: done(False, REASON_FAILED, None))
            return
        context = req.context or pbx.cfg.agent_context
        exten = req.exten or "s"
        chan = pbx.new_channel(req.channel, context, exten, uniqueid=req.channel_id or None)
        session = Session(pbx, req, chan)
        if req.caller_num:
            chan.caller_num = req.caller_num
        if req.caller_name:
            chan.caller_name = req.caller_name
        pbx.emit(chan.event("Newchannel", pbx.now))
        pbx.set_state(chan, RINGING)
        delay = self.rng.uniform(1.0, 3.0)
        if delay * 1000 > req.timeout_ms:
            pbx.sched.after(req.timeout_ms / 1000, lambda: self._fail(session, done))
            return
        pbx.sched.after(delay, lambda: self._answered(session, done))

    def _fail(self, session: Session, done: Done) -> None:
        if session.ended:
            return
        session.hangup(0)
        done(False, 3, None)  # AST_CONTROL_RINGING: rang out

    def _answered(self, session: Session, done: Done) -> None:
        if session.ended:
            return
        pbx, chan, req = self.pbx, session.chan, session.req
        pbx.set_state(chan, UP)
        session.answered_at = pbx.now
        done(True, REASON_ANSWERED, chan)
        if req.app:
            chan.app, chan.appdata = req.app, req.data
            self._run_app(session)
        else:
            pbx.newexten(chan, req.priority, "Dial", f"PJSIP/{req.exten}@{pbx.cfg.trunk}")
            self._dial_out(session)

    def _run_app(self, session: Session) -> None:
        pbx, req = self.pbx, session.req
        app = req.app.lower()
        if app == "chanspy":
            target = req.data.split(",", 1)[0]
            spyee = next(
                (
                    c
                    for c in pbx.channels.values()
                    if c is not session.chan and c.state == UP
                    and (c.name == target or c.name.startswith(target + "-"))
                ),
                None,
            )  # fmt: skip
            if spyee is None:
                pbx.sched.after(5.0, session.hangup)
                return
            session.spyee = spyee
            pbx.emit(spy_event("ChanSpyStart", pbx.now, session.chan, spyee))
            self._watch_spyee(session, spyee)
            return
        seconds = 5.0
        if app == "wait":
            try:
                seconds = float(req.data or "0")
            except ValueError:
                seconds = 0.0
        pbx.sched.after(seconds, session.hangup)

    def _watch_spyee(self, session: Session, spyee: Channel) -> None:
        if session.ended:
            return
        if spyee.dead:
            session.hangup()
            return
        self.pbx.sched.after(1.0, lambda: self._watch_spyee(session, spyee))

    def _dial_out(self, session: Session) -> None:
        pbx, chan, req = self.pbx, session.chan, session.req
        peer = pbx.new_channel(
            f"PJSIP/{pbx.cfg.trunk}", pbx.cfg.caller_context, req.exten, chan.linkedid, session
        )
        session.peer = peer
        pbx.emit(peer.event("Newchannel", pbx.now))
        pbx.emit(
            chan.dial_event("DialBegin", pbx.now, peer, DialString=f"{req.exten}@{pbx.cfg.trunk}")
        )
        pbx.set_state(peer, RINGING)

        def answered() -> None:
            if session.ended:
                return
            pbx.set_state(peer, UP)
            pbx.emit(chan.dial_event("DialEnd", pbx.now, peer, DialStatus="ANSWER"))
            session.bridge_id = pbx.new_bridge_id()
            pbx.emit(bridge_event("BridgeCreate", pbx.now, session.bridge_id, 0))
            pbx.emit(bridge_channel_event("BridgeEnter", pbx.now, session.bridge_id, 1, chan))
            pbx.emit(bridge_channel_event("BridgeEnter", pbx.now, session.bridge_id, 2, peer))
            chan.bridge_id = peer.bridge_id = session.bridge_id
            talk = max(10.0, self.rng.lognormvariate(math.log(90.0), 0.5))
            pbx.sched.after(talk, session.hangup)

        pbx.sched.after(self.rng.uniform(2.0, 6.0), answered)
