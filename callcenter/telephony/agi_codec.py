"""Sans-IO AGI: the ``agi_*`` environment, command quoting, and replies as res_agi.c sends them.

Replies seen from Asterisk 22 (``asterisk-captures/fastagi_transcript.txt`` and res_agi.c):

- ``200 result=0``, ``200 result=1 (5550001)``, ``200 result=0 endpos=3404``,
  ``200 result= (timeout)`` (GET DATA, nothing typed), ``200 result=42 (timeout)``;
- ``200 result=-1``: the channel hung up during the command;
- ``510 Invalid or unknown command``, ``511 Command Not Permitted on a dead channel ...``;
- ``520-Invalid command syntax.  Proper usage follows:`` ... ``520 End of proper usage.``
  (several lines, the last one starting ``520 ``);
- ``HANGUP`` on a line of its own, sent once when the caller hangs up, *not* a reply:
  it is reported apart so that later replies stay matched to their commands.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_HEADERS = 64
MAX_LINE = 4096
_REPLY = re.compile(r"^([0-9]{3})(?: result=(\S*))?(?: \((.*)\))?(?: endpos=([0-9]+))?\s*$")


class AgiProtocolError(ValueError):
    """The peer is not speaking AGI (garbage, over-long headers, a malformed reply)."""


@dataclass(frozen=True, slots=True)
class Reply:
    code: int
    result: str = ""
    data: str = ""  # the text in parentheses: a value, or "timeout"
    endpos: int | None = None
    text: str = ""  # the whole reply (all lines of a 520)

    @property
    def ok(self) -> bool:
        return self.code == 200

    @property
    def hung_up(self) -> bool:
        """The channel is gone: ``result=-1``, or 511 (dead channel)."""
        return self.code == 511 or (self.code == 200 and self.result == "-1")

    @property
    def timed_out(self) -> bool:
        return self.data == "timeout"


@dataclass(frozen=True, slots=True)
class HangupNotice:
    """The ``HANGUP`` line: the caller hung up; replies to commands continue separately."""


def parse_env_line(line: str) -> tuple[str, str]:
    """``agi_callerid: 5550001`` -> (``agi_callerid``, ``5550001``)."""
    key, sep, value = line.partition(":")
    if not sep or not key.startswith("agi_") or not key[4:].replace("_", "").isalnum():
        raise AgiProtocolError(f"not an AGI environment line: {line[:40]!r}")
    return key, value[1:] if value.startswith(" ") else value


class EnvironmentReader:
    """Feed lines until ``done``; ``env`` then holds the ``agi_*`` variables."""

    def __init__(self) -> None:
        self.env: dict[str, str] = {}
        self.done = False

    def feed(self, raw: bytes) -> None:
        if len(raw) > MAX_LINE:
            raise AgiProtocolError("environment line too long")
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if not line:
            if not self.env:
                raise AgiProtocolError("empty AGI environment")
            self.done = True
            return
        key, value = parse_env_line(line)
        self.env[key] = value
        if len(self.env) > MAX_HEADERS:
            raise AgiProtocolError("too many environment lines")


class ReplyReader:
    """Feed lines; returns a Reply when one is complete, a HangupNotice, or None (a 520
    continuation line)."""

    def __init__(self) -> None:
        self._usage: list[str] | None = None

    def feed(self, raw: bytes) -> Reply | HangupNotice | None:
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if self._usage is not None:
            self._usage.append(line)
            if line.startswith("520 "):
                text = "\n".join(self._usage)
                self._usage = None
                return Reply(520, text=text)
            return None
        if line == "HANGUP":
            return HangupNotice()
        if line.startswith("520-"):
            self._usage = [line]
            return None
        return parse_reply(line)


def parse_reply(line: str) -> Reply:
    m = _REPLY.match(line)
    if m is None:
        code = line[:3]
        # ASCII digits only: "²²²" is digits to str.isdigit() but not to int()
        if len(code) == 3 and code.isascii() and code.isdigit() and line[3:4] in ("", " "):
            return Reply(int(code), text=line)  # 510 / 511 / 520 with their texts
        raise AgiProtocolError(f"not an AGI reply: {line[:60]!r}")
    code, result, data, endpos = m.groups()
    return Reply(int(code), result or "", data or "", int(endpos) if endpos else None, line)


def quote(arg: str) -> str:
    """One argument for res_agi.c's parser: double quotes, backslash-escaped."""
    cleaned = arg.replace("\r", " ").replace("\n", " ")
    return '"' + cleaned.replace("\\", "\\\\").replace('"', '\\"') + '"'


def command(*words: str, args: tuple[str, ...] = ()) -> bytes:
    """``command("STREAM", "FILE", args=("hello", "12"))`` -> b'STREAM FILE "hello" "12"\\n'."""
    return (" ".join([*words, *(quote(a) for a in args)]) + "\n").encode()
