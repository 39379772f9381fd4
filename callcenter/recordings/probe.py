"""Duration, format, size and checksum of a recording file.

WAV files are read from their RIFF header here rather than with the ``wave`` module:
MixMonitor writes GSM (``wav49``) and G.711 WAVs that ``wave`` refuses, and fills the
header's sizes only when the recording closes, so the data length on disk is trusted
over a header that still says 0. Headerless Asterisk formats (sln, ulaw, alaw, gsm,
g722, g729) have fixed byte rates. Anything else (mp3, ogg, flac...) goes through pydub,
which needs ffmpeg; when ffmpeg is missing the error says so.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

# WAVE format tags
PCM, ALAW, ULAW, GSM610 = 1, 6, 7, 49
_WAV_CODECS = {PCM: "pcm", 3: "pcm_float", ALAW: "alaw", ULAW: "ulaw", GSM610: "gsm"}

# Headerless formats: codec, sample rate, bytes per second.
RAW_FORMATS: dict[str, tuple[str, int, int]] = {
    "sln": ("pcm", 8000, 16000),
    "raw": ("pcm", 8000, 16000),
    "sln16": ("pcm", 16000, 32000),
    "ulaw": ("ulaw", 8000, 8000),
    "ul": ("ulaw", 8000, 8000),
    "alaw": ("alaw", 8000, 8000),
    "al": ("alaw", 8000, 8000),
    "gsm": ("gsm", 8000, 1650),  # 33-byte frames of 20 ms
    "g722": ("g722", 16000, 8000),
    "g729": ("g729", 8000, 1000),
}

CONTENT_TYPES = {
    "wav": "audio/wav",
    "mp3": "audio/mpeg",
    "ogg": "audio/ogg",
    "opus": "audio/ogg",
    "flac": "audio/flac",
    "m4a": "audio/mp4",
}


class ProbeError(Exception):
    """The file cannot be read as audio; the message says why."""


class MissingTool(ProbeError):
    """A tool needed for this format (ffmpeg) is not installed."""


@dataclass(frozen=True, slots=True)
class AudioInfo:
    container: str  # wav | raw | mp3 | ogg | ...
    codec: str  # pcm | ulaw | alaw | gsm | g722 | g729 | mp3 | vorbis | ...
    duration_s: float
    sample_rate: int
    channels: int

    @property
    def format(self) -> str:
        return f"{self.container}/{self.codec}"

    @property
    def browser_ready(self) -> bool:
        """Every browser plays PCM WAV, MP3, Ogg and FLAC; G.711/GSM/raw need converting."""
        if self.container == "wav":
            return self.codec == "pcm"
        return self.container in CONTENT_TYPES


def probe_audio(path: Path, extension: str) -> AudioInfo:
    """Read the audio facts of ``path``; ``extension`` as ``naming.parse_name`` gives it."""
    if extension in ("wav", "wav49"):
        with open(path, "rb") as handle:
            return read_wav_header(handle, path.stat().st_size, str(path))
    if extension in RAW_FORMATS:
        codec, rate, byte_rate = RAW_FORMATS[extension]
        return AudioInfo("raw", codec, path.stat().st_size / byte_rate, rate, 1)
    return _probe_with_ffmpeg(path, extension)


@dataclass(frozen=True, slots=True)
class WavLayout:
    tag: int
    channels: int
    sample_rate: int
    byte_rate: int
    bits: int
    data_offset: int
    data_size: int  # what is on disk, whatever the header claims


def wav_layout(handle: BinaryIO, file_size: int, name: str = "file") -> WavLayout:
    head = handle.read(12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise ProbeError(f"{name}: not a WAV file (no RIFF/WAVE header)")
    fmt: tuple[int, int, int, int, int, int] | None = None
    position = 12
    while True:
        chunk = handle.read(8)
        if len(chunk) < 8:
            raise ProbeError(f"{name}: WAV file has no data chunk")
        chunk_id, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
        position += 8
        if chunk_id == b"fmt ":
            body = handle.read(size)
            if len(body) < 16:
                raise ProbeError(f"{name}: WAV fmt chunk is too short")
            fmt = struct.unpack("<HHIIHH", body[:16])
        elif chunk_id == b"data":
            if fmt is None:
                raise ProbeError(f"{name}: WAV data chunk comes before its fmt chunk")
            tag, channels, rate, byte_rate, _align, bits = fmt
            on_disk = max(0, file_size - position)
            # 0 or too large: the header was not finalised (recording still open or cut).
            data_size = size if 0 < size <= on_disk else on_disk
            return WavLayout(tag, channels, rate, byte_rate, bits, position, data_size)
        position += size + (size & 1)  # chunks are padded to an even length
        handle.seek(position)


def read_wav_header(handle: BinaryIO, file_size: int, name: str = "file") -> AudioInfo:
    layout = wav_layout(handle, file_size, name)
    if layout.byte_rate <= 0 or layout.sample_rate <= 0 or layout.channels <= 0:
        raise ProbeError(f"{name}: WAV header has a zero rate or channel count")
    codec = _WAV_CODECS.get(layout.tag, f"tag{layout.tag}")
    return AudioInfo(
        "wav", codec, layout.data_size / layout.byte_rate, layout.sample_rate, layout.channels
    )


_CANONICAL = struct.Struct("<4sI4s4sIHHIIHH4sI")  # RIFF, WAVE, fmt (16 bytes), data

# (codec, duration_s, sample_rate, channels): audio facts as a plain tuple, quick to build.
AudioFacts = tuple[str, float, int, int]


def canonical_wav_facts(head: bytes, file_size: int) -> AudioFacts | None:
    """The facts of a WAV with the usual 44-byte header (RIFF, fmt of 16 bytes, data), from
    its first bytes; None for any other layout, which ``read_wav_header`` then reads."""
    if len(head) < 44:
        return None
    riff, _, wave_id, fmt_id, fmt_size, tag, channels, rate, byte_rate, _, _, data_id, size = (
        _CANONICAL.unpack_from(head)
    )
    if (riff, wave_id, fmt_id, fmt_size, data_id) != (b"RIFF", b"WAVE", b"fmt ", 16, b"data"):
        return None
    if byte_rate <= 0 or rate <= 0 or channels <= 0:
        return None
    on_disk = file_size - 44
    # 0 or too large: the header was not finalised (recording still open or cut).
    data_size = size if 0 < size <= on_disk else max(0, on_disk)
    return _WAV_CODECS.get(tag, f"tag{tag}"), data_size / byte_rate, rate, channels


def wav_info_from_head(head: bytes, file_size: int, name: str = "file") -> AudioInfo:
    """``read_wav_header`` on the file's first bytes, quick for the usual 44-byte header."""
    facts = canonical_wav_facts(head, file_size)
    if facts is not None:
        return AudioInfo("wav", *facts)
    return read_wav_header(io.BytesIO(head), file_size, name)


def ffmpeg_available() -> bool:
    return shutil.which("ffmpeg") is not None and shutil.which("ffprobe") is not None


def missing_ffmpeg(what: str) -> MissingTool:
    return MissingTool(
        f"{what} needs ffmpeg (ffmpeg and ffprobe), which is not installed here; "
        "install it (Debian/Ubuntu: apt-get install ffmpeg) and scan again"
    )


def _probe_with_ffmpeg(path: Path, extension: str) -> AudioInfo:
    if not ffmpeg_available():
        raise missing_ffmpeg(f"reading .{extension} file {path.name}")
    from pydub.utils import mediainfo  # imported late: only with ffmpeg present

    info = mediainfo(str(path))
    try:
        duration = float(info["duration"])
    except (KeyError, ValueError):
        raise ProbeError(f"{path.name}: ffprobe found no audio duration") from None
    return AudioInfo(
        extension,
        str(info.get("codec_name", extension)),
        duration,
        int(info.get("sample_rate", 0) or 0),
        int(info.get("channels", 0) or 0),
    )


def file_digest(path: Path, chunk: int = 1 << 16) -> str:
    """SHA-256 of the file's bytes, hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()
