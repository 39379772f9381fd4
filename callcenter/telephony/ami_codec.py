"""Sans-IO codec for the Asterisk Manager Interface (AMI) wire format.

The server's first line is a banner (``Asterisk Call Manager/<version>``) with no blank line
after it; every later message is a block of ``Key: Value`` lines ended by a blank line. Asterisk
writes CRLF; LF-only streams (recorded transcripts) are accepted too, detected once from the
first line ending.

The parser never raises on bad input: lines without ``": "`` are skipped and counted, bytes that
are not UTF-8 are replaced and counted. It decodes only complete messages, so a multi-byte
character split across two reads arrives intact.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

BANNER_PREFIX = "Asterisk Call Manager/"

_CRLF = b"\r\n"
_LF = b"\n"


class AmiParser:
    """Turns the byte stream from an AMI server into messages (``dict[str, str]``).

    A key that occurs more than once in a message (``Output`` lines of a ``Command`` reply,
    ``ChanVariable``) keeps all its values, joined with ``"\\n"``. The body of an old-style
    ``Response: Follows`` reply (lines without ``": "``, ended by ``--END COMMAND--``) is
    returned under ``Output`` the same way.
    """

    __slots__ = (
        "_buffer",
        "_line_end",
        "_message_end",
        "_text_line_end",
        "_text_message_end",
        "banner",
        "malformed_lines",
        "undecodable_messages",
    )

    def __init__(self) -> None:
        self.banner: str | None = None
        self.malformed_lines = 0
        self.undecodable_messages = 0
        self._buffer = b""
        self._line_end: bytes | None = None
        self._message_end = b""
        self._text_line_end = ""
        self._text_message_end = ""

    def feed(self, data: bytes) -> list[dict[str, str]]:
        """Consume ``data`` and return the messages it completes, in wire order."""
        buffer = self._buffer + data if self._buffer else data
        if self._line_end is None:
            buffer = self._read_first_line(buffer)
            if self._line_end is None:
                self._buffer = buffer
                return []
        end = buffer.rfind(self._message_end)
        if end < 0:
            self._buffer = buffer
            return []
        self._buffer = buffer[end + len(self._message_end) :]
        block = buffer[:end]
        try:
            text = block.decode("utf-8")
        except UnicodeDecodeError:
            return self._parse_undecodable(block)
        return self._parse_text(text)

    @property
    def pending_bytes(self) -> int:
        """Bytes received but not yet part of a complete message."""
        return len(self._buffer)

    def _read_first_line(self, buffer: bytes) -> bytes:
        newline = buffer.find(_LF)
        if newline < 0:
            return buffer
        line_end = _CRLF if buffer[newline - 1 : newline] == b"\r" else _LF
        self._line_end = line_end
        self._message_end = line_end + line_end
        self._text_line_end = line_end.decode()
        self._text_message_end = self._message_end.decode()
        first_line = buffer[: newline + 1 - len(line_end)]
        if b": " in first_line:
            return buffer  # no banner: a replayed stream starts with a message
        self.banner = first_line.decode("utf-8", errors="replace")
        return buffer[newline + 1 :]

    def _parse_text(self, text: str) -> list[dict[str, str]]:
        messages: list[dict[str, str]] = []
        append = messages.append
        line_end = self._text_line_end
        for raw in text.split(self._text_message_end):
            lines = raw.split(line_end)
            message: dict[str, str] = {}
            bad = 0
            for line in lines:
                key, sep, value = line.partition(": ")
                if sep:
                    message[key] = value
                else:
                    bad += 1
            if bad or len(message) != len(lines):
                message = self._parse_lines(lines)
            if message:
                append(message)
        return messages

    def _parse_lines(self, lines: list[str]) -> dict[str, str]:
        """Slow path: blank lines, malformed lines, repeated keys, ``Response: Follows``."""
        message: dict[str, str] = {}
        # Blank lines before it (a run of line ends cut by a read boundary) do not count.
        follows = next((line for line in lines if line), "") == "Response: Follows"
        output: list[str] = []
        for line in lines:
            key, sep, value = line.partition(": ")
            if not sep:
                if follows:
                    if line and line != "--END COMMAND--":
                        output.append(line)
                elif line.endswith(":") and line[:-1] and " " not in line:
                    message.setdefault(line[:-1], "")  # "Key:" with its trailing space lost
                elif line:
                    self.malformed_lines += 1
                continue
            if key in message:
                message[key] = f"{message[key]}\n{value}"
            else:
                message[key] = value
        if output:
            previous = message.get("Output")
            message["Output"] = "\n".join([previous, *output] if previous else output)
        return message

    def _parse_undecodable(self, block: bytes) -> list[dict[str, str]]:
        messages: list[dict[str, str]] = []
        for raw in block.split(self._message_end):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                self.undecodable_messages += 1
                text = raw.decode("utf-8", errors="replace")
            messages.extend(self._parse_text(text))
        return messages


def encode_action(fields: Mapping[str, str | Sequence[str]]) -> bytes:
    """Encode one action. A sequence value repeats its key (``Variable`` of ``Originate``).

    Raises ``ValueError`` when a key or value would break the framing (CR, LF, a key
    containing ``": "``), so no caller can inject a second action into the stream.
    """
    lines: list[str] = []
    for key, value in fields.items():
        if not key or "\r" in key or "\n" in key or ": " in key:
            raise ValueError(f"invalid AMI header name {key!r}")
        values = [value] if isinstance(value, str) else list(value)
        for item in values:
            if "\r" in item or "\n" in item:
                raise ValueError(f"AMI header {key!r} has a line break in its value")
            lines.append(f"{key}: {item}\r\n")
    lines.append("\r\n")
    return "".join(lines).encode("utf-8")
