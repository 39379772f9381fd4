"""Prompt texts per language and where their audio lives.

``ivr_flows/prompts/<lang>.yaml`` maps a prompt id to the words spoken; the audio of that
prompt is ``ivr_flows/prompts/<lang>/<id>.<ext>`` (what ``callcenter prompts build``
writes, or recorded files replacing them). Asterisk is given ``<sound_prefix>/<lang>/<id>``
without an extension and picks the best format it has.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from callcenter.ivr.loader import Problem
from callcenter.ivr.schema import LANGUAGES

AUDIO_EXTENSIONS = (".wav", ".gsm", ".ulaw", ".alaw", ".sln", ".sln16", ".g722")


@dataclass(frozen=True, slots=True)
class Catalogue:
    """``texts[lang][prompt id]`` -> words; ``audio_dir`` is set when audio is checked."""

    texts: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    audio_dir: Path | None = None

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
    return Catalogue(texts, base if check_audio else None), problems


def sound_name(prefix: str, language: str, prompt: str) -> str:
    """What STREAM FILE / GET DATA are given: no extension, relative to Asterisk's sounds."""
    return f"{prefix.rstrip('/')}/{language}/{prompt}" if prefix else f"{language}/{prompt}"
