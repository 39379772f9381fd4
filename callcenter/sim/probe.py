"""A bare AMI client for poking the simulator (tests, debugging): no reconnects, no magic.

It keeps every block it reads, in order, and lets the caller wait for the reply to an
ActionID or for an event matching a predicate.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

Block = dict[str, str]


def parse_block(raw: str) -> Block:
    block: Block = {}
    for line in raw.split("\n"):
        key, sep, value = line.partition(": ")
        if sep:
            block[key] = value
        elif line.endswith(":"):
            block[line[:-1]] = ""
    return block


class AmiProbe:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.banner = ""
        self.blocks: list[Block] = []
        self.raw = bytearray()
        self.closed = asyncio.Event()
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._next_id = 0

    @classmethod
    async def connect(cls, host: str, port: int) -> AmiProbe:
        reader, writer = await asyncio.open_connection(host, port)
        probe = cls(reader, writer)
        banner = await reader.readline()
        probe.raw += banner
        probe.banner = banner.decode().rstrip("\r\n")
        probe._task = asyncio.get_running_loop().create_task(probe._read())
        return probe

    async def _read(self) -> None:
        buffer = b""
        try:
            while True:
                data = await self.reader.read(65536)
                if not data:
                    break
                self.raw += data
                parts = (buffer + data).split(b"\r\n\r\n")
                buffer = parts.pop()
                for raw in parts:
                    self.blocks.append(parse_block(raw.decode().replace("\r\n", "\n")))
                self._changed.set()
        except (ConnectionError, OSError):
            pass
        finally:
            self.closed.set()
            self._changed.set()

    def send(self, **fields: str) -> str:
        if "ActionID" not in fields:
            self._next_id += 1
            fields["ActionID"] = f"probe-{self._next_id}"
        text = "".join(f"{k}: {v}\r\n" for k, v in fields.items()) + "\r\n"
        self.writer.write(text.encode())
        return fields["ActionID"]

    async def wait_for(self, predicate: Callable[[Block], bool], timeout: float = 5.0) -> Block:
        async def scan() -> Block:
            seen = 0
            while True:
                for block in self.blocks[seen:]:
                    if predicate(block):
                        return block
                seen = len(self.blocks)
                if self.closed.is_set():
                    raise ConnectionError("AMI connection closed")
                self._changed.clear()
                await self._changed.wait()

        return await asyncio.wait_for(scan(), timeout)

    async def action(self, timeout: float = 5.0, **fields: str) -> Block:
        return await self.request(fields, timeout)

    async def request(self, fields: dict[str, str], timeout: float = 5.0) -> Block:
        """Send one action and wait for its Response block."""
        action_id = self.send(**fields)
        return await self.wait_for(
            lambda b: b.get("ActionID") == action_id and "Response" in b, timeout
        )

    async def list_action(self, timeout: float = 5.0, **fields: str) -> list[Block]:
        """The reply and every list item up to and including the ``...Complete`` event."""
        action_id = self.send(**fields)
        await self.wait_for(
            lambda b: b.get("ActionID") == action_id and b.get("EventList") == "Complete", timeout
        )
        return [b for b in self.blocks if b.get("ActionID") == action_id]

    async def login(self, username: str, secret: str) -> Block:
        return await self.action(Action="Login", Username=username, Secret=secret)

    def events(self, name: str | None = None) -> list[Block]:
        return [b for b in self.blocks if "Event" in b and (name is None or b["Event"] == name)]

    async def close(self) -> None:
        self.writer.close()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
