"""``callcenter prompts build``: speak every prompt text with espeak-ng into
``<prompts_dir>/<lang>/<id>.wav`` (8 kHz mono, what Asterisk plays without transcoding),
so that the demo speaks, and Asterisk's own sounds of ``asterisk-<lang>.yaml`` (queue
announcements, say.c's digits) into ``<prompts_dir>/asterisk/<lang>/<name>.wav``, to be
installed as Asterisk's ``sounds/<lang>``. A real deployment replaces them with recordings."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from callcenter.ivr.prompts import ASTERISK_SOUNDS_DIR, load_asterisk_sounds, load_catalogue

VOICES = {"zh": "cmn", "en": "en"}


def build_prompts(prompts_dir: Path, *, force: bool = False) -> int:
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        print("espeak-ng not found: install it (apt-get install espeak-ng) to build prompt "
              "audio / 未找到 espeak-ng，请先安装", file=sys.stderr)  # fmt: skip
        return 2
    sox = shutil.which("sox")
    catalogue, problems = load_catalogue(prompts_dir)
    sounds, more = load_asterisk_sounds(prompts_dir)
    problems += more
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        return 1
    wanted = [
        (prompts_dir / lang / f"{prompt}.wav", lang, text)
        for lang, texts in catalogue.texts.items()
        for prompt, text in texts.items()
    ]
    wanted += [(prompts_dir / ASTERISK_SOUNDS_DIR / lang / f"{name}.wav", lang, text)
               for lang, texts in sounds.items() for name, text in texts.items()]  # fmt: skip
    made = 0
    for target, lang, text in wanted:
        if target.exists() and not force:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            raw = Path(tmp) / "raw.wav"
            subprocess.run([espeak, "-v", VOICES.get(lang, lang), "-w", str(raw), text],
                           check=True, capture_output=True)  # fmt: skip
            if sox:  # resample to 8 kHz mono for Asterisk
                subprocess.run([sox, str(raw), "-r", "8000", "-c", "1", str(target)],
                               check=True, capture_output=True)  # fmt: skip
            else:
                shutil.copyfile(raw, target)
        made += 1
    print(f"{made} prompt file(s) written to {prompts_dir} / 已生成 {made} 个提示音")
    return 0
