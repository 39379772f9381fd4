"""``callcenter ivr simulate``: the shipped hotline's times, as a user runs the command."""

from __future__ import annotations

import json
import subprocess
import sys
import wave
from pathlib import Path

from callcenter.ivr.prompts import Catalogue, load_catalogue, spoken_seconds

ROOT = Path(__file__).resolve().parent.parent
SIMULATE = [sys.executable, "-m", "callcenter.cli", "ivr", "simulate", "hotline",
            "--caller", "13800000000"]  # fmt: skip
MONDAY = "2026-12-07 10:00"


def simulate(*extra: str, at: str = MONDAY) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SIMULATE, "--at", at, *extra], cwd=ROOT, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip


def test_a_silent_caller_reaches_a_queue_within_20_seconds_of_the_answer() -> None:
    done = simulate("--digits", "", "--format", "json")
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert body["outcome"] == "queue" and body["target"] == "support"
    assert body["seconds_to_queue"] <= 20
    steps = [s["step"] for s in body["steps"]]
    assert steps[: steps.index("queue") + 1] == [
        "play", "lookup", "menu", "timeout", "play", "set", "queue"
    ]  # welcome, main menu, "connecting", the channel's language  # fmt: skip
    menu = next(s for s in body["steps"] if s["step"] == "menu")
    assert menu["prompts"] == ["main_menu"] and menu["keys"] == "123409"
    assert body["steps"][0]["prompts"] == ["welcome"]
    # the time adds up from the prompts' lengths and the menu's timeout
    catalogue, _ = load_catalogue(ROOT / "ivr_flows" / "prompts")
    expected = sum(catalogue.seconds("zh", p) for p in ("welcome", "main_menu", "connecting"))
    assert body["seconds_to_queue"] == round(expected + 3.0, 2)


def test_on_a_public_holiday_too() -> None:
    done = simulate("--digits", "", "--format", "json", at="2026-10-01 10:00")
    body = json.loads(done.stdout)
    assert body["steps"][0]["prompts"] == ["holiday_welcome"]
    assert body["target"] == "support" and body["seconds_to_queue"] <= 20


def test_a_key_in_the_menu_is_faster_and_the_text_output_says_when() -> None:
    done = simulate("--digits", "1")
    assert done.returncode == 0, done.stderr
    assert "repair" in done.stdout and "进入队列用时" in done.stdout


def test_without_a_terminal_and_without_digits_it_says_so() -> None:
    done = simulate()
    assert done.returncode == 2
    assert "EOFError" not in done.stderr and "Traceback" not in done.stderr
    assert "--digits" in done.stderr and done.stderr.count("\n") == 1
    assert done.stdout == ""


def test_prompt_lengths_come_from_the_audio_when_there_is_some(tmp_path: Path) -> None:
    (tmp_path / "zh").mkdir()
    with wave.open(str(tmp_path / "zh" / "welcome.wav"), "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(8000)
        audio.writeframes(b"\0\0" * 8000 * 2)  # 2 s
    (tmp_path / "zh" / "menu.ulaw").write_bytes(b"\xff" * 12000)  # 1.5 s of 8 kHz mu-law
    catalogue = Catalogue({"zh": {"welcome": "您好", "menu": "按1", "other": "您好，再见。"}},
                          directory=tmp_path)  # fmt: skip
    assert catalogue.seconds("zh", "welcome") == 2.0
    assert catalogue.seconds("zh", "menu") == 1.5
    assert catalogue.seconds("zh", "other") == spoken_seconds("您好，再见。") == 1.72
