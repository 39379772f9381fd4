"""Recording files: names, audio facts, safe paths and linking files to calls."""

from __future__ import annotations

import os
import wave
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from store_fixtures import make_record

from callcenter.recordings.index import CallFacts, FileFacts, link
from callcenter.recordings.naming import parse_name
from callcenter.recordings.paths import UnsafePath, check_relative, resolve_under
from callcenter.recordings.probe import (
    MissingTool,
    ProbeError,
    ffmpeg_available,
    file_digest,
    probe_audio,
)
from callcenter.recordings.synth import write_g711_wav, write_pcm_wav

SHANGHAI = ZoneInfo("Asia/Shanghai")


# -- names -----------------------------------------------------------------------------


def test_uniqueid_name_gives_the_id_and_the_local_day() -> None:
    name = parse_name("1795731524.17.wav", SHANGHAI)
    assert name is not None
    assert name.ids == ("1795731524.17",)
    assert name.extension == "wav"
    assert name.part == "mix"
    # 1795731524 is 2026-11-26 20:18 UTC: already the 27th in Shanghai.
    assert name.day == date(2026, 11, 27)


def test_freepbx_name_under_date_folders() -> None:
    name = parse_name("2026/11/26/in-4008001000-13800138000-20261126-093000-1795731524.17.WAV")
    assert name is not None
    assert name.ids[0] == "1795731524.17"
    assert name.day == date(2026, 11, 26)
    assert name.extension == "wav"


def test_systemname_prefix_and_split_legs() -> None:
    name = parse_name("2026-11-25/pbx1-1795731524.17-in.wav")
    assert name is not None
    assert name.part == "in"
    assert name.ids == ("1795731524.17", "pbx1-1795731524.17")
    assert name.day == date(2026, 11, 25)


@pytest.mark.parametrize(
    "path", [".1795731524.17.wav", "notes.txt", "1795731524.17.wav.tmp", "dir/", ""]
)
def test_non_recordings_are_not_parsed(path: str) -> None:
    assert parse_name(path) is None


# -- audio facts -----------------------------------------------------------------------


def test_pcm_wav_duration_format_size_and_digest(tmp_path: Path) -> None:
    path = write_pcm_wav(tmp_path / "a.wav", 2.5)
    info = probe_audio(path, "wav")
    assert info.format == "wav/pcm"
    assert info.duration_s == pytest.approx(2.5)
    assert (info.sample_rate, info.channels) == (8000, 1)
    assert info.browser_ready
    import hashlib

    assert file_digest(path) == hashlib.sha256(path.read_bytes()).hexdigest()


def test_g711_wav_that_the_wave_module_refuses_is_still_measured(tmp_path: Path) -> None:
    path = write_g711_wav(tmp_path / "u.wav", 3.0, "ulaw")
    with pytest.raises(wave.Error):
        wave.open(str(path)).close()
    info = probe_audio(path, "wav")
    assert info.format == "wav/ulaw"
    assert info.duration_s == pytest.approx(3.0)
    assert not info.browser_ready


def test_wav_whose_header_was_never_finalised_uses_the_bytes_on_disk(tmp_path: Path) -> None:
    path = write_pcm_wav(tmp_path / "open.wav", 1.0)
    raw = bytearray(path.read_bytes())
    raw[40:44] = b"\x00\x00\x00\x00"  # data size 0, as while MixMonitor is still writing
    path.write_bytes(bytes(raw))
    assert probe_audio(path, "wav").duration_s == pytest.approx(1.0)


def test_headerless_asterisk_formats_by_byte_rate(tmp_path: Path) -> None:
    (tmp_path / "a.gsm").write_bytes(b"\xd0" * 1650 * 4)
    (tmp_path / "b.sln").write_bytes(b"\x00" * 16000 * 2)
    assert probe_audio(tmp_path / "a.gsm", "gsm").duration_s == pytest.approx(4.0)
    assert probe_audio(tmp_path / "b.sln", "sln").duration_s == pytest.approx(2.0)


def test_a_file_that_is_not_a_wav_gets_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "x.wav"
    path.write_bytes(b"ID3 this is an mp3 really")
    with pytest.raises(ProbeError, match="not a WAV file"):
        probe_audio(path, "wav")


@pytest.mark.skipif(ffmpeg_available(), reason="ffmpeg is installed here")
def test_compressed_formats_without_ffmpeg_name_the_missing_tool(tmp_path: Path) -> None:
    path = tmp_path / "x.mp3"
    path.write_bytes(b"\xff\xfb" + b"\x00" * 100)
    with pytest.raises(MissingTool, match="ffmpeg"):
        probe_audio(path, "mp3")


# -- safe paths --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("relpath", "problem"),
    [
        ("../etc/passwd", "'..'"),
        ("a/../../etc/passwd", "'..'"),
        ("/etc/passwd", "absolute"),
        ("%2e%2e/etc/passwd", "percent-encoded"),
        ("%252e%252e/etc/passwd", "percent-encoded"),
        ("..\\etc\\passwd", "backslash"),
        ("a//b.wav", "empty"),
        ("./a.wav", "'.'"),
        ("\uff0e\uff0e/etc/passwd", "dots or slashes"),  # fullwidth dots
        ("a\x00.wav", "NUL"),
        ("C:/x.wav", "absolute"),
        ("", "empty"),
    ],
)
def test_unsafe_paths_are_refused_with_the_reason(relpath: str, problem: str) -> None:
    with pytest.raises(UnsafePath, match=problem):
        check_relative(relpath)


def test_resolve_under_refuses_symlinks_out_and_serves_files_in(tmp_path: Path) -> None:
    root = tmp_path / "rec"
    write_pcm_wav(root / "2026/11/26/1.wav", 0.1)
    secret = tmp_path / "secret.wav"
    secret.write_bytes(b"RIFF")
    os.symlink(secret, root / "link.wav")
    os.symlink(tmp_path, root / "up")
    assert resolve_under(root, "2026/11/26/1.wav") == (root / "2026/11/26/1.wav").resolve()
    with pytest.raises(UnsafePath, match="outside"):
        resolve_under(root, "link.wav")
    with pytest.raises(UnsafePath, match="outside"):
        resolve_under(root, "up/secret.wav")
    with pytest.raises(FileNotFoundError):
        resolve_under(root, "2026/11/26/none.wav")


# -- linking ---------------------------------------------------------------------------


def test_files_link_by_linkedid_or_leg_uniqueid_and_orphans_show_both_ways() -> None:
    now = 1_795_800_000.0
    by_linkedid = CallFacts.from_record(make_record("1795731524.1"))
    by_leg = CallFacts.from_record(make_record("1795731600.5"))  # legs 1795731600.5, .5.1
    missing = CallFacts.from_record(make_record("1795731700.9"))
    late = CallFacts.from_record(make_record("1795799990.2", started_at=now - 100))
    unrecorded = CallFacts.from_record(make_record("1795731800.3", recorded=False))
    result = link(
        [
            FileFacts("1795731524.1.wav", ("1795731524.1",)),
            FileFacts("q-1795731600.5.1.wav", ("1795731600.5.1",)),
            FileFacts("stray.wav", ("stray",)),
        ],
        [by_linkedid, by_leg, missing, late, unrecorded],
        now=now,
        grace_s=600,
    )
    assert result.links["1795731524.1.wav"].call_id == "1795731524.1"
    assert result.links["q-1795731600.5.1.wav"].call_id == "1795731600.5"
    assert result.orphan_files == ["stray.wav"]
    assert [c.call_id for c in result.orphan_calls] == ["1795731700.9"]
    assert [c.call_id for c in result.late_calls] == ["1795799990.2"]


# -- settings ----------------------------------------------------------------------------


def test_recordings_settings_errors_name_the_line_and_the_secret_stays_hidden(
    tmp_path: Path,
) -> None:
    from callcenter.config import load_settings
    from callcenter.core.settings_error import ConfigError

    path = tmp_path / "s.yaml"
    path.write_text(
        "recordings:\n  link_secret: short\n  retention_days:\n    complaint: -1\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    message = str(caught.value)
    assert f"{path}:2: recordings.link_secret: must be at least 16 characters" in message
    assert "recordings.retention_days.complaint" in message
    assert "short" not in message.replace("must be at least", "")

    path.write_text("recordings:\n  link_secret: a-long-enough-secret-value\n", encoding="utf-8")
    settings = load_settings(path, environ={})
    assert "a-long-enough" not in repr(settings.recordings)
    assert "a-long-enough" not in repr(settings)
