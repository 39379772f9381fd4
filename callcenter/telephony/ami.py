"""A small asyncio AMI client: one link, login, heartbeat, reconnect, actions with timeouts.

Guarantees the rest of the service relies on:
- ``on_event`` is called synchronously, in wire order, for every event that no pending list
  action consumes; an exception in it is logged and never touches the link.
- Every action has a timeout. An action is written once: when the link is down it fails at
  once (``AmiNotConnected``), when the link drops before its reply it fails
  (``AmiConnectionLost``), and it is never sent again after a reconnect.
- After each login ``on_link_up(reconnect)`` is awaited (actions work inside it); events that
  arrive meanwhile are held and delivered after it returns, in order.
- A Ping every ``ping_interval``; no reply within ``ping_timeout`` declares the link dead.
- Reconnects back off exponentially with jitter, also after a refused login; ``close()`` ends
  everything for good.
- Given an ``ssl.SSLContext`` the link is TLS: the handshake (certificate and name checks)
  completes before the Login is written, so a PBX that fails them never sees the secret; a
  failed handshake is retried like any failed connection, never in plain TCP.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import secrets
import ssl
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

import structlog

from callcenter.core.tasks import cancel_and_wait
from callcenter.telephony.ami_codec import AmiParser, encode_action
from callcenter.telephony.ami_tls import tls_failure_reason

log = structlog.get_logger(__name__)

Message = dict[str, str]
Fields = Mapping[str, str | Sequence[str]]
EventHandler = Callable[[Message], None]
LinkUpHandler = Callable[[bool], Awaitable[None]]
LinkDownHandler = Callable[[str], None]
Sleep = Callable[[float], Awaitable[object]]


class AmiError(Exception):
    """Base of every error this client raises."""


class AmiConnectionError(AmiError):
    """The AMI server could not be reached, or the link failed before login completed."""


class AmiTlsError(AmiConnectionError):
    """The TLS handshake failed (a certificate not accepted, a port without TLS...): the
    secret was not sent."""


class AmiLoginError(AmiError):
    """The AMI server refused the username or secret."""


class AmiNotConnected(AmiError):
    """The link is down: the action was not sent."""


class AmiConnectionLost(AmiError):
    """The link dropped after the action was sent: it may or may not have been executed."""


class AmiActionTimeout(AmiError):
    """No complete reply within the action's timeout (the action is not retried)."""


class AmiActionError(AmiError):
    """Asterisk answered ``Response: Error``; the reply is in ``reply``."""

    def __init__(self, message: str, reply: Message) -> None:
        super().__init__(message)
        self.reply = reply


def backoff_delay(attempt: int, initial: float, maximum: float, rng: random.Random) -> float:
    """Delay before reconnect ``attempt`` (0-based): doubling, capped, with "equal jitter".

    The result lies in [ceiling / 2, ceiling] with ceiling = min(maximum, initial * 2**attempt),
    so it grows and is bounded, while many clients restarting together spread out.
    """
    ceiling = min(maximum, initial * 2.0 ** min(attempt, 64))
    return ceiling / 2 + rng.random() * ceiling / 2


def _header(fields: Fields, name: str) -> tuple[str, str] | None:
    """Find a header case-insensitively (AMI action headers are case-insensitive)."""
    wanted = name.lower()
    for key, value in fields.items():
        if key.lower() == wanted and isinstance(value, str):
            return key, value
    return None


def _ends_list(message: Message) -> bool:
    # Asterisk 12+ marks the last event "EventList: Complete"; older ones only name it so.
    return message.get("EventList", "").lower() == "complete" or message["Event"].endswith(
        "Complete"
    )


@dataclass(slots=True)
class _Pending:
    action: str
    as_list: bool
    future: asyncio.Future[list[Message]]
    messages: list[Message] = field(default_factory=list)


class _Link(asyncio.Protocol):
    """One TCP connection: frames bytes, matches replies to actions, passes events on."""

    def __init__(self, deliver: EventHandler, on_lost: Callable[[_Link, str], None]) -> None:
        self.parser = AmiParser()
        self.pending: dict[str, _Pending] = {}
        # List actions that timed out: the rest of their list is dropped, not taken for news.
        self.abandoned_lists: set[str] = set()
        self.lost: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.WriteTransport | None = None
        self._deliver = deliver
        self._on_lost = on_lost
        self._close_reason: str | None = None
        self._malformed_seen = 0
        self._undecodable_seen = 0

    @property
    def open(self) -> bool:
        return self.transport is not None and not self.lost.done() and self._close_reason is None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        pending = self.pending
        abandoned = self.abandoned_lists
        deliver = self._deliver
        for message in self.parser.feed(data):
            if "Event" in message:
                if pending or abandoned:
                    action_id = message.get("ActionID", "")
                    entry = pending.get(action_id)
                    if entry is not None and entry.as_list:
                        self._collect(entry, message)
                        continue
                    if action_id in abandoned:
                        if _ends_list(message):
                            abandoned.discard(action_id)
                        continue
                deliver(message)
            else:
                self._on_response(message)
        parser = self.parser
        if parser.malformed_lines != self._malformed_seen:
            log.warning("ami_malformed_lines_skipped", total=parser.malformed_lines)
            self._malformed_seen = parser.malformed_lines
        if parser.undecodable_messages != self._undecodable_seen:
            log.warning("ami_invalid_utf8_replaced", total=parser.undecodable_messages)
            self._undecodable_seen = parser.undecodable_messages

    def _on_response(self, message: Message) -> None:
        action_id = message.get("ActionID")
        entry = self.pending.get(action_id) if action_id is not None else None
        if entry is None:
            if action_id in self.abandoned_lists and message.get("EventList") != "start":
                self.abandoned_lists.discard(action_id)  # it was no list after all
            log.debug("ami_unmatched_reply", action_id=action_id)
            return
        entry.messages.append(message)
        listing = entry.as_list and message.get("EventList", "").lower() == "start"
        if not listing:
            self._finish(action_id or "", entry)

    def _collect(self, entry: _Pending, message: Message) -> None:
        entry.messages.append(message)
        if _ends_list(message):
            self._finish(message["ActionID"], entry)

    def _finish(self, action_id: str, entry: _Pending) -> None:
        del self.pending[action_id]
        if not entry.future.done():
            entry.future.set_result(entry.messages)

    def send(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)

    def fail_pending(self, error: Callable[[str], AmiError]) -> None:
        pending, self.pending = self.pending, {}
        for entry in pending.values():
            if not entry.future.done():
                entry.future.set_exception(error(entry.action))

    def close(self, reason: str, *, abort: bool = False) -> None:
        if self._close_reason is None:
            self._close_reason = reason
        if self.transport is not None:
            if abort:
                self.transport.abort()
            else:
                self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        reason = self._close_reason or (
            f"connection error: {exc}" if exc else "connection closed by the server"
        )
        self.fail_pending(
            lambda action: AmiConnectionLost(
                f"AMI link lost ({reason}) before the reply to {action}; it is not re-sent"
            )
        )
        if not self.lost.done():
            self.lost.set_result(reason)
        self._on_lost(self, reason)


class AmiClient:
    """See the module docstring. ``sleep`` waits between reconnect attempts (injectable)."""

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        secret: str,
        *,
        on_event: EventHandler,
        on_link_up: LinkUpHandler | None = None,
        on_link_down: LinkDownHandler | None = None,
        action_timeout: float = 10.0,
        ping_interval: float = 5.0,
        ping_timeout: float = 5.0,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        rng: random.Random | None = None,
        sleep: Sleep = asyncio.sleep,
        action_id_prefix: str | None = None,
        tls: ssl.SSLContext | None = None,
        server_hostname: str | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.username = username
        self._secret = secret
        self._on_event = on_event
        self._on_link_up = on_link_up
        self._on_link_down = on_link_down
        self.action_timeout = action_timeout
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self._rng = rng or random.Random()
        self._sleep = sleep
        self._tls = tls
        self._server_hostname = server_hostname if tls is not None else None
        self._id_prefix = action_id_prefix or f"cc-{secrets.token_hex(4)}-"
        self._id_counter = 0
        self._link: _Link | None = None
        self._logged_in = False
        self._held: list[Message] | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._heartbeat: asyncio.Task[None] | None = None
        self._closed = False
        self._link_started = 0.0
        self.banner: str | None = None

    def __repr__(self) -> str:
        return (
            f"AmiClient({self.username}@{self.host}:{self.port}, tls={self.tls}, "
            f"connected={self.connected})"
        )

    @property
    def tls(self) -> bool:
        return self._tls is not None

    @property
    def connected(self) -> bool:
        """True while a logged-in link is up."""
        link = self._link
        return self._logged_in and link is not None and link.open

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect and log in once; then keep the link up in the background.

        Raises ``AmiLoginError`` on bad credentials and ``AmiConnectionError`` when the server
        cannot be reached; in both cases nothing keeps running.
        """
        if self._closed:
            raise AmiNotConnected("the AMI client is closed")
        if self._supervisor is not None:
            raise RuntimeError("AmiClient.start() called twice")
        await self._connect_and_login(reconnect=False)
        if not self._closed:  # close() may have run while on_link_up was awaited
            self._supervisor = asyncio.create_task(self._supervise(), name="ami-supervisor")

    async def close(self, *, logoff: bool = True) -> None:
        """Log off and stop: no reconnect, pending actions fail with ``AmiNotConnected``.
        ``logoff=False`` drops the connection as a dying process does."""
        if self._closed:
            return
        self._closed = True
        for task in (self._supervisor, self._heartbeat):
            if task is not asyncio.current_task():
                await cancel_and_wait(task)
        link, self._link = self._link, None
        self._logged_in = False
        if link is None:
            return
        link.fail_pending(lambda action: AmiNotConnected(f"AMI client closed; {action} aborted"))
        if link.open and logoff:
            link.send(encode_action({"Action": "Logoff", "ActionID": self._next_action_id()}))
        link.close("closed by the client")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1.0):
                await asyncio.shield(link.lost)
        log.info("ami_closed", host=self.host, port=self.port)

    # --- actions -------------------------------------------------------------------------------

    async def send_action(self, fields: Fields, timeout: float | None = None) -> Message:
        """Send one action and return its reply (``Response: Error`` raises AmiActionError)."""
        messages = await self._request(fields, as_list=False, timeout=timeout)
        return messages[0]

    async def send_list_action(self, fields: Fields, timeout: float | None = None) -> list[Message]:
        """Send a list action; return ``[reply, event..., ...Complete event]``.

        A reply that starts no EventList is returned alone as ``[reply]``.
        """
        return await self._request(fields, as_list=True, timeout=timeout)

    async def _request(
        self, fields: Fields, *, as_list: bool, timeout: float | None, login: bool = False
    ) -> list[Message]:
        link = self._link
        action = _header(fields, "Action")
        if action is None:
            raise ValueError("an AMI action needs an 'Action' header")
        name = action[1]
        if self._closed or link is None or not link.open or not (login or self._logged_in):
            raise AmiNotConnected(f"AMI link to {self.host}:{self.port} is down; {name} not sent")
        given = _header(fields, "ActionID")
        if given is None:
            action_id = self._next_action_id()
            data = encode_action({**fields, "ActionID": action_id})
        else:
            action_id = given[1]
            if action_id in link.pending:
                raise ValueError(f"ActionID {action_id!r} is already in use")
            data = encode_action(fields)
        future: asyncio.Future[list[Message]] = asyncio.get_running_loop().create_future()
        entry = _Pending(name, as_list, future)
        link.pending[action_id] = entry
        link.send(data)
        limit = self.action_timeout if timeout is None else timeout
        try:
            async with asyncio.timeout(limit):
                messages = await future
        except TimeoutError:
            if as_list:
                link.abandoned_lists.add(action_id)
            raise AmiActionTimeout(f"no reply to {name} within {limit:g} s") from None
        finally:
            if link.pending.get(action_id) is entry:
                del link.pending[action_id]
        reply = messages[0]
        if reply.get("Response") == "Error" and not login:
            raise AmiActionError(f"{name} failed: {reply.get('Message', '')}", reply)
        return messages

    def _next_action_id(self) -> str:
        self._id_counter += 1
        return f"{self._id_prefix}{self._id_counter}"

    # --- link management -----------------------------------------------------------------------

    async def _connect_and_login(self, *, reconnect: bool) -> None:
        loop = asyncio.get_running_loop()
        where = f"{self.host}:{self.port}"
        try:
            async with asyncio.timeout(self.action_timeout):
                _, link = await loop.create_connection(
                    lambda: _Link(self._deliver, self._link_lost),
                    self.host,
                    self.port,
                    ssl=self._tls,
                    server_hostname=self._server_hostname,
                )
        except ssl.SSLError as exc:
            reason = tls_failure_reason(exc)
            log.error("ami_tls_refused", host=self.host, port=self.port, reason=reason)
            raise AmiTlsError(f"no AMI link to {where}: {reason}; not logged in") from exc
        except (OSError, TimeoutError) as exc:
            raise AmiConnectionError(
                f"cannot connect to AMI at {where}: {exc or 'timeout'}"
            ) from exc
        self._link = link
        self._held = []
        try:
            messages = await self._request(
                {"Action": "Login", "Username": self.username, "Secret": self._secret},
                as_list=False,
                timeout=self.action_timeout,
                login=True,
            )
        except (AmiActionTimeout, AmiConnectionLost, AmiNotConnected) as exc:
            self._drop(link, "login did not complete")
            raise AmiConnectionError(f"AMI login at {where} did not complete: {exc}") from exc
        reply = messages[0]
        if reply.get("Response") != "Success":
            self._drop(link, "login refused")
            raise AmiLoginError(
                f"AMI at {where} refused login for user {self.username!r}: "
                f"{reply.get('Message') or reply.get('Response', 'no reason given')}"
            )
        self._logged_in = True
        self.banner = link.parser.banner
        self._link_started = loop.time()
        log.info(
            "ami_link_up",
            host=self.host,
            port=self.port,
            tls=self.tls,
            banner=self.banner,
            reconnect=reconnect,
        )
        self._heartbeat = asyncio.create_task(self._heartbeat_loop(link), name="ami-heartbeat")
        if self._on_link_up is not None:
            try:
                await self._on_link_up(reconnect)
            except Exception:
                log.exception("ami_link_up_handler_failed")
        held, self._held = self._held, None
        for message in held:
            self._deliver(message)

    def _drop(self, link: _Link, reason: str) -> None:
        if self._link is link:
            self._link = None
        self._held = None
        link.close(reason)

    def _deliver(self, message: Message) -> None:
        held = self._held
        if held is not None:
            held.append(message)
            return
        try:
            self._on_event(message)
        except Exception:
            log.exception("ami_event_handler_failed", ami_event=message.get("Event"))

    def _link_lost(self, link: _Link, reason: str) -> None:
        if link is not self._link:
            return
        was_up = self._logged_in
        self._link = None
        self._logged_in = False
        if self._heartbeat is not None and self._heartbeat is not asyncio.current_task():
            self._heartbeat.cancel()
        self._heartbeat = None
        if not was_up or self._closed:
            return
        log.warning("ami_link_down", host=self.host, port=self.port, reason=reason)
        if self._on_link_down is not None:
            try:
                self._on_link_down(reason)
            except Exception:
                log.exception("ami_link_down_handler_failed")

    async def _heartbeat_loop(self, link: _Link) -> None:
        while link.open:
            await asyncio.sleep(self.ping_interval)
            try:
                await self._request({"Action": "Ping"}, as_list=False, timeout=self.ping_timeout)
            except AmiActionTimeout:
                reason = f"heartbeat: no reply to Ping within {self.ping_timeout:g} s"
                log.warning("ami_heartbeat_failed", host=self.host, port=self.port, reason=reason)
                link.close(reason, abort=True)
                return
            except AmiActionError:
                continue  # any reply proves the link is alive
            except (AmiNotConnected, AmiConnectionLost):
                return

    async def _supervise(self) -> None:
        loop = asyncio.get_running_loop()
        attempt = 0
        while not self._closed:
            link = self._link
            if link is not None:
                await asyncio.shield(link.lost)
                if loop.time() - self._link_started >= self.backoff_max:
                    attempt = 0  # the link was stable: start backing off from the beginning
            while not self._closed:
                delay = backoff_delay(attempt, self.backoff_initial, self.backoff_max, self._rng)
                attempt += 1
                log.info("ami_reconnect_wait", delay_s=round(delay, 3), attempt=attempt)
                await self._sleep(delay)
                if self._closed:
                    return
                try:
                    await self._connect_and_login(reconnect=True)
                    break
                except AmiLoginError as exc:
                    log.error("ami_login_failed", error=str(exc), attempt=attempt)
                except AmiTlsError:
                    pass  # logged where the handshake failed, with its reason
                except AmiConnectionError as exc:
                    log.warning("ami_reconnect_failed", error=str(exc), attempt=attempt)
