"""MixMonitor's file, as the simulator leaves it: a short 8 kHz mono 16-bit WAV.

Real recordings last as long as the call; the simulator writes a second or a few of
tone and silence, longer for longer calls, so demos and tests have real audio to index
and play without filling the disk. The file appears at the call's end, written to a
hidden name first and renamed, as a finished MixMonitor file would appear.
"""

from __future__ import annotations

import math
import os
import struct
import wave
from pathlib import Path

RATE = 8000


def recording_seconds(call_seconds: float) -> float:
    """1 s for a short call, growing by a second per two minutes, at most 4 s."""
    return round(min(4.0, 1.0 + max(0.0, call_seconds) / 120.0), 2)


def write_recording(directory: Path | str, filename: str, seconds: float, pitch: int = 0) -> Path:
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    hz = 330.0 + 55.0 * (pitch % 8)
    frames = int(seconds * RATE)
    tenth = RATE // 10
    samples = [
        0 if (i // tenth) % 5 == 4 else int(6000 * math.sin(2 * math.pi * hz * i / RATE))
        for i in range(frames)
    ]
    target = folder / filename
    partial = folder / f".{filename}.part"
    try:
        with wave.open(str(partial), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(RATE)
            out.writeframes(struct.pack(f"<{frames}h", *samples))
        os.replace(partial, target)
    except OSError:
        partial.unlink(missing_ok=True)  # a full disk leaves no half-written file behind
        raise
    return target
