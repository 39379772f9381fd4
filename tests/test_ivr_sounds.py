"""Chinese queue announcements and numbers: Asterisk's own sounds, built like the prompts."""

from __future__ import annotations

import shutil
import stat
import sys
import wave
from pathlib import Path

import pytest

from callcenter.ivr.prompts import load_asterisk_sounds
from callcenter.ivr.tts import build_prompts

ROOT = Path(__file__).resolve().parent.parent
PROMPTS = ROOT / "ivr_flows" / "prompts"
# what app_queue plays for position and hold time (apps/app_queue.c, the queue defaults)
QUEUE_SOUNDS = {"queue-thereare", "queue-callswaiting", "queue-youarenext", "queue-quantity1",
                "queue-quantity2", "queue-holdtime", "queue-minute", "queue-minutes",
                "queue-seconds", "queue-thankyou", "queue-reporthold"}  # fmt: skip
# every file ast_say_number_full_zh (main/say.c) can ask for
SAY_ZH = ({f"digits/{n}" for n in range(10)} | {f"digits/{n}" for n in range(10, 100, 10)}
          | {"digits/hundred", "digits/thousand", "digits/wan", "digits/yi", "digits/minus"})  # fmt: skip

FAKE_ESPEAK = """#!{python}
import sys, wave
out = sys.argv[sys.argv.index("-w") + 1]
with wave.open(out, "wb") as audio:
    audio.setnchannels(1); audio.setsampwidth(2); audio.setframerate(8000)
    audio.writeframes(b"\\0\\0" * 800)
"""


def test_the_chinese_sounds_cover_app_queue_and_say_c() -> None:
    sounds, problems = load_asterisk_sounds(PROMPTS)
    assert problems == []
    assert set(sounds) == {"zh"}  # English ships with Asterisk
    assert set(sounds["zh"]) == QUEUE_SOUNDS | SAY_ZH
    assert all(text.strip() for text in sounds["zh"].values())


def test_prompts_build_writes_them_where_asterisk_looks_for_zh(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    for name in ("zh.yaml", "en.yaml", "asterisk-zh.yaml"):
        shutil.copy(PROMPTS / name, prompts / name)
    tools = tmp_path / "bin"
    tools.mkdir()
    espeak = tools / "espeak-ng"
    espeak.write_text(FAKE_ESPEAK.format(python=sys.executable))
    espeak.chmod(espeak.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", str(tools))  # no sox: the file is copied as spoken
    assert build_prompts(prompts) == 0
    zh = prompts / "asterisk" / "zh"  # installed as <astdatadir>/sounds/zh
    for name in QUEUE_SOUNDS | SAY_ZH:
        with wave.open(str(zh / f"{name}.wav"), "rb") as audio:
            assert audio.getframerate() == 8000 and audio.getnframes() > 0
    assert (prompts / "zh" / "welcome.wav").exists()  # the flow's prompts as before
    assert not (prompts / "asterisk" / "en").exists()
