"""An asyncio AMI server speaking Asterisk's manager protocol (main/manager.c).

Any number of clients; events go only to logged-in clients whose event mask admits the
event's class; responses carry the request's ActionID; events raised while an action runs
reach the requesting client after its response, as manager.c delivers them.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
import socket
import struct
from collections.abc import Callable
from typing import Any

from callcenter.sim.channels import UP, Event, duration_hms, encode, header, timestamp
from callcenter.sim.originate import OriginateRequest, Originator
from callcenter.sim.pbx import NORMAL_CLEARING, Pbx
from callcenter.sim.queues import entry_item

ALL_CLASSES = frozenset(
    [
        "system",
        "call",
        "log",
        "verbose",
        "command",
        "agent",
        "user",
        "config",
        "dtmf",
        "reporting",
        "cdr",
        "dialplan",
        "originate",
        "agi",
        "cc",
        "aoc",
        "test",
        "security",
        "message",
    ]
)

Block = dict[str, str]


def response(kind: str, action_id: str, message: str | None = None, **extra: str) -> Block:
    """astman_send_response_full: Response, ActionID, [EventList], Message."""
    block: Block = {"Response": kind}
    if action_id:
        block["ActionID"] = action_id
    block.update(extra)
    if message is not None:
        block["Message"] = message
    return block


def list_ack(action_id: str, message: str) -> Block:
    return response("Success", action_id, message, EventList="start")


def list_complete(name: str, action_id: str, count: int, **extra: str) -> Block:
    block: Block = {"Event": name}
    if action_id:
        block["ActionID"] = action_id
    block["EventList"] = "Complete"
    block["ListItems"] = str(count)
    block.update(extra)
    return block


class AmiSession(asyncio.Protocol):
    def __init__(self, server: AmiServer) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.authenticated = False
        self.mask: frozenset[str] = ALL_CLASSES
        self.challenge = ""
        self.held: list[bytes] | None = None  # events raised during this client's action
        self.closing = False

    # -- asyncio.Protocol ------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        if self.server.refusing():
            reset(transport)
            return
        self.server.sessions.add(self)
        transport.write(f"Asterisk Call Manager/{self.server.pbx.cfg.ami_version}\r\n".encode())

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.sessions.discard(self)
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self.buffer += data.replace(b"\r\n", b"\n")
        while b"\n\n" in self.buffer:
            raw, self.buffer = self.buffer.split(b"\n\n", 1)
            message: dict[str, str] = {}
            for line in raw.decode("utf-8", "replace").split("\n"):
                key, sep, value = line.partition(":")
                if sep and key.strip():
                    message.setdefault(key.strip().lower(), value.strip())
            if message:
                self.handle(message)

    # -- output ----------------------------------------------------------------------
    def write(self, block: Block) -> None:
        if self.transport is not None and not self.closing:
            self.transport.write(encode(block))

    def deliver(self, cls: str, data: bytes) -> None:
        if not self.authenticated or cls not in self.mask or self.transport is None:
            return
        if self.held is not None:
            self.held.append(data)
        else:
            self.transport.write(data)

    def close(self) -> None:
        self.closing = True
        if self.transport is not None:
            self.transport.close()

    # -- actions ---------------------------------------------------------------------
    def handle(self, m: dict[str, str]) -> None:
        action = m.get("action", "")
        action_id = m.get("actionid", "")
        if not action:
            self.write(response("Error", action_id, "Missing action in request"))
            return
        name = action.lower()
        if not self.authenticated and name not in ("login", "logoff", "challenge"):
            self.write(response("Error", action_id, "Permission denied"))
            return
        handler = ACTIONS.get(name)
        if handler is None:
            self.write(
                response(
                    "Error",
                    action_id,
                    f"Invalid/unknown command: {action}. "
                    "Use Action: ListCommands to show available commands.",
                )
            )
            return
        if name in MUTATING:
            # state changes happen "now"; read-only actions leave the virtual clock alone
            self.server.pbx.sched.advance_to_wall()
        self.held = []
        try:
            handler(self, m, action_id)
        finally:
            held, self.held = self.held, None
            if self.transport is not None and not self.closing:
                for data in held:
                    self.transport.write(data)

    def set_mask(self, value: str) -> int:
        """manager.c set_eventmask: on / off / a list of classes. Returns 1 on, 0 off."""
        text = value.strip().lower()
        if text in ("on", "yes", "true", "1", "all"):
            self.mask = ALL_CLASSES
        elif text in ("off", "no", "false", "0", "none", ""):
            self.mask = frozenset()
        else:
            self.mask = frozenset(p.strip() for p in text.split(",")) & ALL_CLASSES
        return 1 if self.mask else 0


def reset(transport: asyncio.Transport) -> None:
    """Close with a TCP reset, as a refused or cut connection looks to the client."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


# -- action handlers -----------------------------------------------------------------------
def act_login(s: AmiSession, m: dict[str, str], aid: str) -> None:
    server = s.server
    if s.authenticated:
        s.write(response("Success", aid, "Already authenticated"))
        return
    cfg = server.pbx.cfg
    ok = m.get("username", "") == cfg.username
    if m.get("authtype", "").lower() == "md5":
        expected = hashlib.md5((s.challenge + cfg.secret).encode()).hexdigest()
        ok = ok and bool(s.challenge) and m.get("key", "").lower() == expected
    else:
        ok = ok and m.get("secret", "") == cfg.secret
    if not ok:
        s.closing = True  # nothing else is read from a client that failed to log in

        def refuse() -> None:
            s.closing = False
            s.write(response("Error", aid, "Authentication failed"))
            s.close()

        asyncio.get_running_loop().call_later(cfg.login_failure_delay, refuse)
        return
    s.authenticated = True
    if "events" in m:
        s.set_mask(m["events"])
    s.write(response("Success", aid, "Authentication accepted"))
    if "system" in s.mask:
        booted = header("FullyBooted", server.pbx.sched.wall_now())
        del booted["Timestamp"]  # written straight to the session, without a timestamp
        uptime = int(server.pbx.sched.wall_now() - server.pbx.sched.start_epoch)
        booted.update(Uptime=str(max(0, uptime)), LastReload=str(max(0, uptime)))
        booted["Status"] = "Fully Booted"
        s.write(booted)


def act_logoff(s: AmiSession, m: dict[str, str], aid: str) -> None:
    s.write(response("Goodbye", aid, "Thanks for all the fish."))
    s.close()


def act_challenge(s: AmiSession, m: dict[str, str], aid: str) -> None:
    if m.get("authtype", "").lower() != "md5":
        s.write(response("Error", aid, "Must specify AuthType"))
        return
    if not s.challenge:
        s.challenge = str(s.server.pbx._rng.randrange(1, 2**31))
    s.write(response("Success", aid, None, Challenge=s.challenge))


def act_ping(s: AmiSession, m: dict[str, str], aid: str) -> None:
    block = response("Success", aid)
    block["Ping"] = "Pong"
    block["Timestamp"] = timestamp(s.server.pbx.sched.wall_now())
    s.write(block)


def act_events(s: AmiSession, m: dict[str, str], aid: str) -> None:
    on = s.set_mask(m.get("eventmask", ""))
    block = response("Success", aid)
    block["Events"] = "On" if on else "Off"
    s.write(block)


def act_core_show_channels(s: AmiSession, m: dict[str, str], aid: str) -> None:
    pbx = s.server.pbx
    now = pbx.now
    s.write(list_ack(aid, "Channels will follow"))
    count = 0
    for chan in list(pbx.channels.values()):
        item: Block = {"Event": "CoreShowChannel"}
        if aid:
            item["ActionID"] = aid
        item.update(chan.state_fields())
        item["Application"] = chan.app
        item["ApplicationData"] = chan.appdata
        item["Duration"] = duration_hms(now - chan.created_at)
        item["BridgeId"] = chan.bridge_id
        s.write(item)
        count += 1
    s.write(list_complete("CoreShowChannelsComplete", aid, count))


def act_queue_status(s: AmiSession, m: dict[str, str], aid: str) -> None:
    pbx = s.server.pbx
    wanted = m.get("queue", "")
    member_filter = m.get("member", "")
    s.write(list_ack(aid, "Queue status will follow"))
    count = 0
    for queue in pbx.queues.values():
        if wanted and queue.name.lower() != wanted.lower():
            continue
        s.write(queue.params_item(aid))
        count += 1
        for member in queue.members.values():
            if member_filter and member_filter not in (member.interface, member.name):
                continue
            s.write(member.status_item(aid))
            count += 1
        for pos, call in enumerate(queue.waiting, start=1):
            s.write(entry_item(queue.name, pos, call, pbx.now, aid))
            count += 1
    s.write(list_complete("QueueStatusComplete", aid, count))


def act_queue_summary(s: AmiSession, m: dict[str, str], aid: str) -> None:
    pbx = s.server.pbx
    wanted = m.get("queue", "")
    s.write(list_ack(aid, "Queue summary will follow"))
    count = 0
    for queue in pbx.queues.values():
        if wanted and queue.name.lower() != wanted.lower():
            continue
        s.write(queue.summary_item(pbx.now, aid))
        count += 1
    s.write(list_complete("QueueSummaryComplete", aid, count))


def _int(value: str, default: int = 0) -> int:
    try:
        number = int(value)
    except ValueError:
        return default
    return number if number >= 0 else default


def _true(value: str) -> bool:
    return value.strip().lower() in ("yes", "true", "y", "t", "1", "on")


def act_queue_add(s: AmiSession, m: dict[str, str], aid: str) -> None:
    queue, interface = m.get("queue", ""), m.get("interface", "")
    if not queue:
        s.write(response("Error", aid, "'Queue' not specified."))
        return
    if not interface:
        s.write(response("Error", aid, "'Interface' not specified."))
        return
    result = s.server.pbx.add_member(
        queue,
        interface,
        m.get("membername", ""),
        _int(m.get("penalty", "")),
        _true(m.get("paused", "")),
        m.get("reason", ""),
    )
    messages = {
        "ok": ("Success", "Added interface to queue"),
        "exists": ("Error", "Unable to add interface: Already there"),
        "nosuchqueue": ("Error", "Unable to add interface to queue: No such queue"),
    }
    kind, text = messages[result]
    s.write(response(kind, aid, text))


def act_queue_remove(s: AmiSession, m: dict[str, str], aid: str) -> None:
    queue, interface = m.get("queue", ""), m.get("interface", "")
    if not queue or not interface:
        s.write(response("Error", aid, "Need 'Queue' and 'Interface' parameters."))
        return
    result = s.server.pbx.remove_member(queue, interface)
    messages = {
        "ok": ("Success", "Removed interface from queue"),
        "notthere": ("Error", "Unable to remove interface: Not there"),
        "nosuchqueue": ("Error", "Unable to remove interface from queue: No such queue"),
        "notdynamic": ("Error", "Member not dynamic"),
    }
    kind, text = messages[result]
    s.write(response(kind, aid, text))


def act_queue_pause(s: AmiSession, m: dict[str, str], aid: str) -> None:
    interface, paused_s = m.get("interface", ""), m.get("paused", "")
    if not interface or not paused_s:
        s.write(response("Error", aid, "Need 'Interface' and 'Paused' parameters."))
        return
    paused = _true(paused_s)
    if not s.server.pbx.pause_member(m.get("queue", ""), interface, paused, m.get("reason", "")):
        s.write(response("Error", aid, "Interface not found"))
        return
    text = "Interface paused successfully" if paused else "Interface unpaused successfully"
    s.write(response("Success", aid, text))


def act_queue_penalty(s: AmiSession, m: dict[str, str], aid: str) -> None:
    interface, penalty_s = m.get("interface", ""), m.get("penalty", "")
    if not interface or not penalty_s:
        s.write(response("Error", aid, "Need 'Interface' and 'Penalty' parameters."))
        return
    if not penalty_s.isdigit():
        s.write(response("Error", aid, "Invalid penalty"))
        return
    if not s.server.pbx.set_penalty(m.get("queue", ""), interface, int(penalty_s)):
        s.write(response("Error", aid, "Invalid interface, queuename or penalty"))
        return
    s.write(response("Success", aid, "Interface penalty set successfully"))


def act_originate(s: AmiSession, m: dict[str, str], aid: str) -> None:
    channel = m.get("channel", "")
    if not channel:
        s.write(response("Error", aid, "Channel not specified"))
        return
    priority_s, timeout_s = m.get("priority", ""), m.get("timeout", "")
    if priority_s and not priority_s.isdigit():
        s.write(response("Error", aid, "Invalid priority"))
        return
    if timeout_s and not timeout_s.isdigit():
        s.write(response("Error", aid, "Invalid timeout"))
        return
    if "/" not in channel:
        s.write(response("Error", aid, "Invalid channel"))
        return
    app, exten, context = m.get("application", ""), m.get("exten", ""), m.get("context", "")
    is_async = _true(m.get("async", ""))
    if not app and not (exten and context and priority_s) and not is_async:
        s.write(response("Error", aid, "Originate with 'Exten' requires 'Context' and 'Priority'"))
        return
    cid_num, cid_name = split_callerid(m.get("callerid", ""))
    req = OriginateRequest(
        channel=channel,
        app=app,
        data=m.get("data", ""),
        context=context,
        exten=exten,
        priority=int(priority_s) if priority_s else 1,
        timeout_ms=int(timeout_s) if timeout_s else 30000,
        caller_num=cid_num,
        caller_name=cid_name,
    )
    server = s.server
    pbx = server.pbx

    def done(ok: bool, reason: int, chan: Any) -> None:
        if is_async:
            ev = header("OriginateResponse", pbx.now)
            if aid:
                ev["ActionID"] = aid
            ev["Response"] = "Success" if ok else "Failure"
            ev["Channel"] = chan.name if chan is not None else channel
            if app:
                ev["Application"], ev["Data"] = app, req.data
            else:
                ev["Context"], ev["Exten"] = context, exten
            ev["Reason"] = str(reason)
            ev["Uniqueid"] = chan.uniqueid if chan is not None else "<unknown>"
            ev["CallerIDNum"] = cid_num or "<unknown>"
            ev["CallerIDName"] = cid_name or "<unknown>"
            pbx.emit(ev)
        elif ok:
            s.write(response("Success", aid, "Originate successfully queued"))
        else:
            s.write(response("Error", aid, "Originate failed"))

    server.originator.start(req, done)
    if is_async:
        s.write(response("Success", aid, "Originate successfully queued"))


def split_callerid(value: str) -> tuple[str, str]:
    match = re.match(r'\s*"?([^"<]*?)"?\s*<([^>]*)>', value)
    if match:
        return match.group(2).strip(), match.group(1).strip()
    return value.strip(), ""


def act_hangup(s: AmiSession, m: dict[str, str], aid: str) -> None:
    pbx = s.server.pbx
    target = m.get("channel", "")
    if not target:
        s.write(response("Error", aid, "No channel specified"))
        return
    cause = _int(m.get("cause", ""), NORMAL_CLEARING) or NORMAL_CLEARING
    if not target.startswith("/"):
        if target not in pbx.channels:
            s.write(response("Error", aid, "No such channel"))
            return
        pbx.hangup_by_name(target, cause)
        s.write(response("Success", aid, "Channel Hungup"))
        return
    try:
        pattern = re.compile(target.strip("/"))
    except re.error:
        s.write(response("Error", aid, f"Regex compile failed on: {target}"))
        return
    s.write(list_ack(aid, "Channels hung up will follow"))
    matched = [name for name in pbx.channels if pattern.search(name)]
    for name in matched:
        pbx.hangup_by_name(name, cause)
        item: Block = {"Event": "ChannelHungup", "Channel": name}
        if aid:
            item["ActionID"] = aid
        s.write(item)
    s.write(list_complete("ChannelsHungupListComplete", aid, len(matched)))


def act_play_dtmf(s: AmiSession, m: dict[str, str], aid: str) -> None:
    pbx = s.server.pbx
    name = m.get("channel", "")
    if name not in pbx.channels:
        s.write(response("Error", aid, "Channel not found"))
        return
    digit = m.get("digit", "")
    if not digit:
        s.write(response("Error", aid, "No digit specified"))
        return
    duration = m.get("duration", "")
    if duration and not duration.isdigit():
        s.write(response("Error", aid, "Could not convert Duration parameter"))
        return
    pbx.play_dtmf(name, digit[0], _true(m.get("receive", "")))
    s.write(response("Success", aid, "DTMF successfully queued"))


def act_status(s: AmiSession, m: dict[str, str], aid: str) -> None:
    pbx = s.server.pbx
    name = m.get("channel", "")
    if name:
        chan = pbx.channels.get(name)
        if chan is None:
            s.write(response("Error", aid, "No such channel"))
            return
        chans = [chan]
    else:
        chans = list(pbx.channels.values())
    s.write(list_ack(aid, "Channel status will follow"))
    for chan in chans:
        item: Block = {"Event": "Status", "Privilege": "Call"}
        item.update(chan.state_fields())
        item.update(
            {
                "Type": chan.tech,
                "DNID": "",
                "EffectiveConnectedLineNum": chan.connected_num,
                "EffectiveConnectedLineName": chan.connected_name,
                "TimeToHangup": "0",
                "BridgeID": chan.bridge_id,
                "Application": chan.app,
                "Data": chan.appdata,
                "Nativeformats": "(ulaw)",
                "Readformat": "ulaw",
                "Readtrans": "",
                "Writeformat": "ulaw",
                "Writetrans": "",
                "Callgroup": "0",
                "Pickupgroup": "0",
                "Seconds": str(int(pbx.now - chan.created_at)) if chan.state == UP else "0",
            }
        )
        if aid:
            item["ActionID"] = aid
        s.write(item)
    s.write(list_complete("StatusComplete", aid, len(chans), Items=str(len(chans))))


MUTATING = frozenset(
    {"queueadd", "queueremove", "queuepause", "queuepenalty", "originate", "hangup", "playdtmf"}
)

ACTIONS: dict[str, Callable[[AmiSession, dict[str, str], str], None]] = {
    "login": act_login,
    "logoff": act_logoff,
    "challenge": act_challenge,
    "ping": act_ping,
    "events": act_events,
    "coreshowchannels": act_core_show_channels,
    "queuestatus": act_queue_status,
    "queuesummary": act_queue_summary,
    "queueadd": act_queue_add,
    "queueremove": act_queue_remove,
    "queuepause": act_queue_pause,
    "queuepenalty": act_queue_penalty,
    "originate": act_originate,
    "hangup": act_hangup,
    "playdtmf": act_play_dtmf,
    "status": act_status,
}


class AmiServer:
    def __init__(self, pbx: Pbx) -> None:
        self.pbx = pbx
        self.originator = Originator(pbx)
        self.sessions: set[AmiSession] = set()
        self.server: asyncio.Server | None = None
        self._refuse_until = 0.0
        self.port = 0

    async def start(self, host: str, port: int) -> int:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(lambda: AmiSession(self), host, port)
        self.port = self.server.sockets[0].getsockname()[1]
        return self.port

    def refusing(self) -> bool:
        return asyncio.get_running_loop().time() < self._refuse_until

    def broadcast(self, ev: Event) -> None:
        if not self.sessions:
            return
        cls = ev.get("Privilege", "").split(",", 1)[0]
        data = encode(ev)
        for session in list(self.sessions):
            session.deliver(cls, data)

    def drop(self, down_for: float = 0.0) -> None:
        """Cut every client now; refuse (reset) new connections for ``down_for`` seconds."""
        self._refuse_until = asyncio.get_running_loop().time() + max(0.0, down_for)
        for session in list(self.sessions):
            if session.transport is not None:
                session.transport.abort()
        self.sessions.clear()

    async def stop(self) -> None:
        for session in list(self.sessions):
            if session.transport is not None:
                session.transport.abort()
        self.sessions.clear()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None
