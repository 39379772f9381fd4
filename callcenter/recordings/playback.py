"""Playback helpers: byte ranges (pure) and browser-friendly copies (cached).

Browsers play PCM WAV everywhere but not the G.711, GSM or headerless files Asterisk
writes. G.711 (µ-law, A-law) and headerless PCM are converted here without outside
tools; everything else goes through pydub and needs ffmpeg. A converted copy is written
once to the cache folder, named by the source's SHA-256, and served from there after.
"""

from __future__ import annotations

import os
import struct
import tempfile
import wave
from pathlib import Path

from callcenter.recordings.probe import (
    AudioInfo,
    ffmpeg_available,
    missing_ffmpeg,
    wav_layout,
)


class Unsatisfiable(ValueError):
    """The Range header asks for bytes the file does not have (answer 416)."""


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive (first, last) byte to send, or None for the whole file.

    One ``bytes=`` range is honoured; other units and multi-range requests are answered
    with the whole file, as RFC 9110 allows. Malformed or impossible ranges raise
    Unsatisfiable.
    """
    if not header:
        return None
    unit, _, spec = header.strip().partition("=")
    if unit.strip().lower() != "bytes":
        return None
    if "," in spec:
        return None
    first_text, dash, last_text = spec.strip().partition("-")
    first_text, last_text = first_text.strip(), last_text.strip()
    if not dash or not (first_text or last_text):
        raise Unsatisfiable(f"malformed range {header[:40]!r}")
    if not (first_text.isdigit() or not first_text) or not (last_text.isdigit() or not last_text):
        raise Unsatisfiable(f"malformed range {header[:40]!r}")
    if size == 0:
        raise Unsatisfiable("the file is empty")
    if not first_text:  # suffix: the last N bytes
        length = int(last_text)
        if length == 0:
            raise Unsatisfiable("a suffix range of zero bytes")
        return max(0, size - length), size - 1
    first = int(first_text)
    last = int(last_text) if last_text else size - 1
    if first > last:
        raise Unsatisfiable(f"range starts after it ends: {header[:40]!r}")
    if first >= size:
        raise Unsatisfiable(f"range starts at {first}, the file has {size} bytes")
    return first, min(last, size - 1)


def _ulaw_sample(code: int) -> int:
    code = ~code & 0xFF
    magnitude = ((((code & 0x0F) << 3) + 0x84) << ((code >> 4) & 7)) - 0x84
    return -magnitude if code & 0x80 else magnitude


def _alaw_sample(code: int) -> int:
    code ^= 0x55
    exponent, mantissa = (code >> 4) & 7, code & 0x0F
    magnitude = (
        (mantissa << 4) + 8 if exponent == 0 else ((mantissa << 4) + 0x108) << (exponent - 1)
    )
    return magnitude if code & 0x80 else -magnitude


_TABLES = {
    "ulaw": [struct.pack("<h", _ulaw_sample(i)) for i in range(256)],
    "alaw": [struct.pack("<h", _alaw_sample(i)) for i in range(256)],
}


def g711_to_pcm(data: bytes, law: str) -> bytes:
    table = _TABLES[law]
    return b"".join(table[b] for b in data)


def browser_copy(src: Path, info: AudioInfo, sha256: str, cache_dir: Path) -> Path:
    """A file the browser can play: ``src`` itself, or a cached PCM WAV made from it."""
    if info.browser_ready:
        return src
    target = cache_dir / f"{sha256}.wav"
    if target.exists():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    if info.codec in ("ulaw", "alaw", "pcm") and info.channels == 1:
        pcm, rate = _read_simple(src, info)
        _write_atomically(target, pcm, rate)
        return target
    if not ffmpeg_available():
        raise missing_ffmpeg(f"playing a {info.format} recording in the browser")
    from pydub import AudioSegment  # imported late: only with ffmpeg present

    fd, tmp = tempfile.mkstemp(dir=cache_dir, suffix=".part")
    os.close(fd)
    try:
        segment = AudioSegment.from_file(str(src))
        segment.export(tmp, format="wav")
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def _read_simple(src: Path, info: AudioInfo) -> tuple[bytes, int]:
    with open(src, "rb") as handle:
        if info.container == "wav":
            layout = wav_layout(handle, src.stat().st_size, src.name)
            handle.seek(layout.data_offset)
            data = handle.read(layout.data_size)
        else:
            data = handle.read()
    if info.codec in ("ulaw", "alaw"):
        return g711_to_pcm(data, info.codec), info.sample_rate
    return data[: len(data) & ~1], info.sample_rate  # already 16-bit PCM


def _write_atomically(target: Path, pcm: bytes, rate: int) -> None:
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".part")
    os.close(fd)
    try:
        with wave.open(tmp, "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(rate)
            out.writeframes(pcm)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
