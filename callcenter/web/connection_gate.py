"""Which web connections the server keeps: pure decisions, the clock passed in.

A client that opens connections and never finishes a request holds a file descriptor each
for as long as the server lets it. ``ConnectionGate`` bounds that three ways:

- at most ``max_per_address`` connections from one TCP peer address at once;
- at most ``budget`` web connections in all, so that descriptors stay free for FastAGI,
  AMI and the database however many clients come (``connection_budget``);
- a request's header block must be complete within ``header_timeout_s`` of its first byte
  (of the connection's opening, for the first request), and its body must not stall for
  more than ``body_timeout_s``.

``RequestFraming`` follows each connection's bytes just far enough to know which of those
deadlines applies: where a header block ends, and how long the body after it is
(``Content-Length``, or chunked up to its last chunk). Between requests, and while the
handler works on a complete request, no deadline runs: idle keep-alive connections are
aiohttp's ``keepalive_timeout``'s to close (``web.idle_timeout_s``). After an upgrade (a
websocket) the connection is no longer HTTP and is not followed.

The adapter (``web/gated_site.py``) asks ``admit`` on every accepted connection, feeds
``received`` with every chunk, says ``server_paused`` while aiohttp itself has stopped
reading a connection, closes whatever ``overdue`` names, and says ``closed``.
"""

from __future__ import annotations

import enum
import math
from collections import Counter
from collections.abc import Hashable
from dataclasses import dataclass, field

# Far beyond aiohttp's own header limits (8190 bytes a line): a block this long is refused
# by aiohttp before we would see its end, so following it further is pointless.
MAX_HEADER_BLOCK = 64 * 1024
_LAST_CHUNK = b"\r\n0\r\n\r\n"


class Phase(enum.Enum):
    BETWEEN = "between requests"  # nothing of the next request yet, or the handler working
    HEADERS = "reading headers"
    BODY = "reading body"
    UPGRADED = "upgraded"  # a websocket: no longer HTTP


class Refusal(enum.Enum):
    PER_ADDRESS = "too many connections from this address"
    BUDGET = "web connection budget spent"


class RequestFraming:
    """One connection's request boundaries (sans-IO; only ``Phase`` transitions matter).

    A chunked body ends at the first ``0\\r\\n\\r\\n`` after a line end: chunk data that
    happens to hold those bytes ends the body deadline early, which only loosens the limit
    for that request, and a request with trailers (which clients do not send) is followed
    no further than its last chunk line.
    """

    def __init__(self) -> None:
        self.phase = Phase.HEADERS
        self._head = bytearray()  # the header block so far
        self._body_left = 0  # Content-Length bytes still to come; -1: chunked
        self._tail = b"\r\n"  # the chunked body's last bytes, to find the last chunk
        self.too_large = False
        self.requests = 0  # header blocks completed
        self._upgrading = False  # the request being read switches protocols after it

    def feed(self, data: bytes) -> None:
        while data and self.phase is not Phase.UPGRADED and not self.too_large:
            if self.phase is Phase.BETWEEN:
                self.phase = Phase.HEADERS
            if self.phase is Phase.HEADERS:
                data = self._feed_head(data)
            elif self.phase is Phase.BODY:
                data = self._feed_body(data)

    def _feed_head(self, data: bytes) -> bytes:
        start = max(0, len(self._head) - 3)  # only the new bytes are searched
        self._head += data
        end = _block_end(self._head, start)
        if end < 0:
            if len(self._head) > MAX_HEADER_BLOCK:
                self.too_large = True
            return b""
        block, rest = bytes(self._head[:end]), bytes(self._head[end:])
        self._head.clear()
        self.requests += 1
        self._begin_body(block)
        return rest

    def _begin_body(self, block: bytes) -> None:
        fields = _fields(block)
        self._upgrading = _upgrades(block, fields)
        if "chunked" in fields.get("transfer-encoding", "").lower():
            self._body_left, self._tail, self.phase = -1, b"\r\n", Phase.BODY
            return
        length = fields.get("content-length", "0").strip()
        self._body_left = int(length) if length.isdigit() else 0
        if self._body_left > 0:
            self.phase = Phase.BODY
        else:
            self._request_done()

    def _request_done(self) -> None:
        # As aiohttp: an upgrade takes effect once the request's body has been read.
        self.phase = Phase.UPGRADED if self._upgrading else Phase.BETWEEN

    def _feed_body(self, data: bytes) -> bytes:
        if self._body_left > 0:
            taken, rest = data[: self._body_left], data[self._body_left :]
            self._body_left -= len(taken)
            if self._body_left == 0:
                self._request_done()
            return rest
        window = self._tail + data
        end = window.find(_LAST_CHUNK)
        if end < 0:
            self._tail = window[-(len(_LAST_CHUNK) - 1) :]
            return b""
        self._request_done()
        used = end + len(_LAST_CHUNK) - len(self._tail)
        return data[used:]


def _block_end(head: bytearray, start: int) -> int:
    """Where the header block ends (just past its blank line), or -1."""
    ends = [i for i in (head.find(b"\r\n\r\n", start), head.find(b"\n\n", start)) if i >= 0]
    if not ends:
        return -1
    first = min(ends)
    return first + (4 if head.startswith(b"\r\n\r\n", first) else 2)


def _upgrades(block: bytes, fields: dict[str, str]) -> bool:
    """Whether aiohttp takes the connection out of HTTP after this request: CONNECT, or
    an ``Upgrade`` to a protocol it supports with ``upgrade`` among the Connection tokens."""
    if block.lstrip(b"\r\n").startswith(b"CONNECT "):
        return True
    tokens = {t.strip(" \t").lower() for t in fields.get("connection", "").split(",")}
    return "upgrade" in tokens and fields.get("upgrade", "").lower() in {"websocket", "tcp"}


def _fields(block: bytes) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in block.split(b"\n")[1:]:
        name, sep, value = line.partition(b":")
        if sep:
            fields[name.strip().decode("latin-1").lower()] = value.strip().decode("latin-1")
    return fields


@dataclass
class _Open:
    address: str
    framing: RequestFraming
    phase_since: float  # when the current header block began, or the body last moved


@dataclass(kw_only=True, eq=False)
class ConnectionGate:
    """Admission and deadlines of the web server's connections, by opaque ``key``."""

    max_per_address: int
    budget: float
    header_timeout_s: float
    body_timeout_s: float
    refused: Counter[Refusal] = field(default_factory=Counter, init=False)
    timed_out: int = field(default=0, init=False)
    _open: dict[Hashable, _Open] = field(default_factory=dict, init=False, repr=False)
    _per_address: Counter[str] = field(default_factory=Counter, init=False, repr=False)

    @property
    def open_count(self) -> int:
        return len(self._open)

    def tally(self) -> dict[str, int]:
        """Connections closed by the gate so far, by reason."""
        return {
            "late": self.timed_out,
            "refused_per_address": self.refused[Refusal.PER_ADDRESS],
            "refused_budget": self.refused[Refusal.BUDGET],
        }

    def admit(self, key: Hashable, address: str, now: float) -> Refusal | None:
        """``None``: keep the connection (it is counted from now); else why to close it."""
        refusal = None
        if len(self._open) >= self.budget:
            refusal = Refusal.BUDGET
        elif self._per_address[address] >= self.max_per_address:
            refusal = Refusal.PER_ADDRESS
        if refusal is not None:
            self.refused[refusal] += 1
            return refusal
        self._open[key] = _Open(address, RequestFraming(), now)
        self._per_address[address] += 1
        return None

    def received(self, key: Hashable, data: bytes, now: float) -> bool:
        """Note a chunk of bytes; ``False``: close the connection (a header block too long
        to be a request)."""
        conn = self._open.get(key)
        if conn is None:
            return True
        before, requests = conn.framing.phase, conn.framing.requests
        conn.framing.feed(data)
        after = conn.framing.phase
        # A header block's deadline counts from its first byte and is not moved by more
        # bytes (a client sending one byte a second must still finish in time); a body's
        # moves with every chunk, since only a stall is refused.
        new_block = before is not Phase.HEADERS or conn.framing.requests != requests
        if after is Phase.BODY or (after is Phase.HEADERS and new_block):
            conn.phase_since = now
        return not conn.framing.too_large

    def server_paused(self, key: Hashable, now: float) -> None:
        """The server itself stopped reading this connection (aiohttp's flow control while
        a handler is slow to take the body): the client is not late, so its clock restarts."""
        conn = self._open.get(key)
        if conn is not None:
            conn.phase_since = now

    def closed(self, key: Hashable) -> None:
        conn = self._open.pop(key, None)
        if conn is None:
            return
        self._per_address[conn.address] -= 1
        if self._per_address[conn.address] <= 0:
            del self._per_address[conn.address]

    def deadline(self, key: Hashable) -> float:
        conn = self._open.get(key)
        if conn is None:
            return math.inf
        if conn.framing.phase is Phase.HEADERS:
            return conn.phase_since + self.header_timeout_s
        if conn.framing.phase is Phase.BODY:
            return conn.phase_since + self.body_timeout_s
        return math.inf

    def overdue(self, now: float) -> list[Hashable]:
        """Connections whose header block or body is late, forgotten here at once (the
        adapter closes them, and their ``closed`` is then a no-op)."""
        late = [key for key in self._open if self.deadline(key) <= now]
        for key in late:
            self.closed(key)
        self.timed_out += len(late)
        return late


def connection_budget(soft_limit: int, reserve: int) -> float:
    """How many web connections may be open: the descriptor limit less a reserve kept for
    FastAGI, AMI, the database and files. ``soft_limit`` < 0 is unlimited (RLIM_INFINITY).
    At least one connection, so that a reserve larger than the limit still leaves the
    health check a way in."""
    if soft_limit < 0:
        return math.inf
    return max(1, soft_limit - reserve)
