"""Prompt texts per language and where their audio lives.

``ivr_flows/prompts/<lang>.yaml`` maps a prompt id to the words spoken; the audio of that
prompt is ``ivr_flows/prompts/<lang>/<id>.<ext>`` (what ``callcenter prompts build``
writes, or recorded files replacing them). Asterisk is given ``<sound_prefix>/<lang>/<id>``
without an extension and picks the best format it has.
"""

from __future__ import annotations

import re
import wave
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

from callcenter.ivr.loader import Problem
from callcenter.ivr.schema import LANGUAGES

AUDIO_EXTENSIONS = (".wav", ".gsm", ".ulaw", ".alaw", ".sln", ".sln16", ".g722")
# bytes per second of the headerless formats Asterisk plays (8 kHz unless named otherwise;
# gsm: 33-byte frames of 20 ms; g722: 64 kbit/s)
RAW_BYTES_PER_S = {".gsm": 1650, ".ulaw": 8000, ".alaw": 8000, ".sln": 16000,
                   ".sln16": 32000, ".g722": 8000}  # fmt: skip
# Speaking time of a text without audio, set so that the espeak-ng prompts of
# `callcenter prompts build` come out as they play (the old 37-syllable main menu: 13.3 s)
HAN_S, WORD_S, PAUSE_S = 0.33, 0.4, 0.2
_HAN = re.compile(r"[\u3400-\u9fff]")
_WORD = re.compile(r"[A-Za-z0-9]+")
_PAUSE = re.compile(r"[，。、；：！？,.;:!?]")


@dataclass(frozen=True, slots=True)
class Catalogue:
    """``texts[lang][prompt id]`` -> words; ``audio_dir`` is set when audio is checked."""

    texts: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    audio_dir: Path | None = None
    directory: Path | None = None  # where the texts (and any audio) are, checked or not

    def text(self, language: str, prompt: str) -> str:
        return self.texts.get(language, {}).get(prompt, f"[{prompt}]")

    def audio(self, language: str, prompt: str) -> Path | None:
        if self.audio_dir is None:
            return None
        for ext in AUDIO_EXTENSIONS:
            path = self.audio_dir / language / f"{prompt}{ext}"
            if path.exists():
                return path
        return None

    def seconds(self, language: str, prompt: str) -> float:
        """How long the prompt plays: its audio file's length, as Asterisk plays it, or
        (no audio yet) the time its text takes to speak."""
        if self.directory is not None:
            found = replace(self, audio_dir=self.directory).audio(language, prompt)
            length = audio_seconds(found) if found is not None else None
            if length is not None:
                return length
        return spoken_seconds(self.text(language, prompt))


def audio_seconds(path: Path) -> float | None:
    """The playing time of a prompt file; None when it cannot be read."""
    try:
        if path.suffix == ".wav":
            with wave.open(str(path), "rb") as audio:
                return audio.getnframes() / audio.getframerate()
        return path.stat().st_size / RAW_BYTES_PER_S[path.suffix]
    except (OSError, EOFError, KeyError, ZeroDivisionError, wave.Error):
        return None


def spoken_seconds(text: str) -> float:
    """Speaking time of a prompt text: Chinese syllables, words (digits, English), pauses."""
    return round(
        len(_HAN.findall(text)) * HAN_S + len(_WORD.findall(text)) * WORD_S
        + len(_PAUSE.findall(text)) * PAUSE_S, 2,
    )  # fmt: skip


def load_catalogue(
    directory: str | Path, *, check_audio: bool = False
) -> tuple[Catalogue, list[Problem]]:
    """Read ``<directory>/<lang>.yaml`` for every language; a missing file is a problem."""
    base = Path(directory)
    texts: dict[str, dict[str, str]] = {}
    problems: list[Problem] = []
    for lang in LANGUAGES:
        path = base / f"{lang}.yaml"
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError:
            problems.append(Problem(str(path), 1, 1, f"prompt texts for {lang!r} not found"))
            continue
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark
            line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
            problems.append(Problem(str(path), line, col, f"YAML syntax: {exc.problem}"))
            continue
        if not isinstance(data, dict):
            problems.append(Problem(str(path), 1, 1, "must map prompt ids to texts"))
            continue
        texts[lang] = {str(k): str(v) for k, v in data.items()}
    return Catalogue(texts, base if check_audio else None, base), problems


ASTERISK_SOUNDS_DIR = "asterisk"  # <prompts_dir>/asterisk/<lang>/: install as sounds/<lang>


def load_asterisk_sounds(directory: str | Path) -> tuple[dict[str, dict[str, str]], list[Problem]]:
    """``<directory>/asterisk-<lang>.yaml``: Asterisk's own sounds (``queue-thereare``,
    ``digits/3``...) in a language Asterisk ships none of, name -> words. A language
    without the file has none."""
    sounds: dict[str, dict[str, str]] = {}
    problems: list[Problem] = []
    for lang in LANGUAGES:
        path = Path(directory) / f"asterisk-{lang}.yaml"
        if not path.exists():
            continue
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            problems.append(Problem(str(path), 1, 1, f"cannot be read: {exc}"))
            continue
        if not isinstance(data, dict) or any(".." in str(k) or str(k).startswith("/")
                                             for k in data):  # fmt: skip
            problems.append(Problem(str(path), 1, 1, "must map sound names to texts"))
            continue
        sounds[lang] = {str(k): str(v) for k, v in data.items()}
    return sounds, problems


def sound_name(prefix: str, language: str, prompt: str) -> str:
    """What STREAM FILE / GET DATA are given: no extension, relative to Asterisk's sounds."""
    return f"{prefix.rstrip('/')}/{language}/{prompt}" if prefix else f"{language}/{prompt}"
