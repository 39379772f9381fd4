"""An asyncio AMI server speaking Asterisk's manager protocol (main/manager.c).

Any number of clients; events go only to logged-in clients whose event mask admits the
event's class; responses carry the request's ActionID; events raised while an action runs
reach the requesting client after its response, as manager.c delivers them.

This module holds the sockets, the sessions (framing, login, event mask) and the table of
actions; the actions that read state are in ``ami_status.py``, those that change it in
``ami_commands.py``, and the response blocks in ``ami_replies.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import socket
import ssl
import struct
from collections.abc import Callable

from callcenter.sim import ami_commands, ami_status
from callcenter.sim.ami_replies import Block, response
from callcenter.sim.channels import Event, encode, header, timestamp
from callcenter.sim.originate import Done, OriginateRequest, Originator
from callcenter.sim.pbx import Pbx

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

    # -- what the actions use (``ami_session.ActionSession``) ------------------------------
    @property
    def pbx(self) -> Pbx:
        return self.server.pbx

    def originate(self, req: OriginateRequest, done: Done) -> None:
        self.server.originator.start(req, done)

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


# -- session actions: Login, Logoff, Challenge, Ping, Events ------------------------
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
        s.challenge = str(s.server.pbx.challenge_number())
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


MUTATING = frozenset(
    {"queueadd", "queueremove", "queuepause", "queuepenalty", "originate", "hangup", "playdtmf"}
)

ACTIONS: dict[str, Callable[[AmiSession, dict[str, str], str], None]] = {
    "login": act_login,
    "logoff": act_logoff,
    "challenge": act_challenge,
    "ping": act_ping,
    "events": act_events,
    "coreshowchannels": ami_status.act_core_show_channels,
    "queuestatus": ami_status.act_queue_status,
    "queuesummary": ami_status.act_queue_summary,
    "queueadd": ami_commands.act_queue_add,
    "queueremove": ami_commands.act_queue_remove,
    "queuepause": ami_commands.act_queue_pause,
    "queuepenalty": ami_commands.act_queue_penalty,
    "originate": ami_commands.act_originate,
    "hangup": ami_commands.act_hangup,
    "playdtmf": ami_commands.act_play_dtmf,
    "blindtransfer": ami_commands.act_blind_transfer,
    "atxfer": ami_commands.act_atxfer,
    "status": ami_status.act_status,
}


def server_tls_context(
    cert_file: str, key_file: str = "", client_ca_file: str = ""
) -> ssl.SSLContext:
    """The TLS side of the AMI port: the certificate and key (the key may sit in the
    certificate's file, as tlsprivatekey allows); with ``client_ca_file`` clients must
    present a certificate from that CA."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file or None)
    if client_ca_file:
        context.load_verify_locations(cafile=client_ca_file)
        context.verify_mode = ssl.CERT_REQUIRED
    return context


class AmiServer:
    def __init__(self, pbx: Pbx) -> None:
        self.pbx = pbx
        self.originator = Originator(pbx)
        self.sessions: set[AmiSession] = set()
        self.server: asyncio.Server | None = None
        self._refuse_until = 0.0
        self.port = 0

    async def start(self, host: str, port: int, tls: ssl.SSLContext | None = None) -> int:
        """Listen; with ``tls`` every connection is TLS (a session starts, and the banner
        is sent, once the handshake is done), as Asterisk's tlsbindaddr port."""
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(lambda: AmiSession(self), host, port, ssl=tls)
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
