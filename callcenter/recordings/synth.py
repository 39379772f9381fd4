"""Short generated recordings (tone and silence) for the tests, the benchmark and demos."""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

from callcenter.recordings.probe import ALAW, ULAW


def tone_pcm(seconds: float, rate: int = 8000, hz: float = 440.0, gap_every: int = 4) -> bytes:
    """16-bit mono PCM: a tone with a short silence every ``gap_every`` tenths of a second."""
    frames = int(seconds * rate)
    tenth = max(1, rate // 10)
    samples = (
        0
        if (i // tenth) % gap_every == gap_every - 1
        else int(8000 * math.sin(2 * math.pi * hz * i / rate))
        for i in range(frames)
    )
    return struct.pack(f"<{frames}h", *samples)


def write_pcm_wav(path: Path, seconds: float, rate: int = 8000, hz: float = 440.0) -> Path:
    """An 8 kHz mono 16-bit WAV, as MixMonitor writes with the ``wav`` format."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(tone_pcm(seconds, rate, hz))
    return path


def write_g711_wav(path: Path, seconds: float, law: str = "ulaw", rate: int = 8000) -> Path:
    """A G.711 WAV (format tag 7 or 6), which the ``wave`` module cannot read."""
    data = bytes((i * 7) & 0xFF for i in range(int(seconds * rate)))
    tag = ULAW if law == "ulaw" else ALAW
    fmt = struct.pack("<HHIIHH", tag, 1, rate, rate, 1, 8)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", len(data)) + data
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path
