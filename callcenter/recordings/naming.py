"""What a MixMonitor file's name and folders say: which call or channel, which day, which part.

Dialplans name recordings in a few usual ways, all handled here:

- ``${UNIQUEID}.wav`` or ``${LINKEDID}.wav`` (``1732660000.42.wav``), optionally with
  Asterisk's ``systemname`` prefix (``pbx1-1732660000.42.wav``);
- FreePBX style ``in-<dnis>-<caller>-<YYYYMMDD>-<HHMMSS>-<uniqueid>.wav`` (also ``out-``,
  ``q-``, ``exten-``...);
- the split legs of ``MixMonitor(...,r(...)t(...))``: ``<id>-in.wav`` / ``<id>-out.wav``;
- any of these under date folders ``YYYY/MM/DD/`` (or ``YYYY-MM-DD/``).

Pure: it reads only the text of a path relative to the recordings root.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from typing import Literal

Part = Literal["mix", "in", "out"]

# Extensions Asterisk's formats write (wav49 is GSM in a WAV container, saved as ".WAV"),
# plus the compressed formats a post-processing step may leave.
AUDIO_EXTENSIONS = frozenset(
    {
        "wav", "wav49", "gsm", "ulaw", "ul", "alaw", "al", "sln", "sln16", "raw",
        "g722", "g729", "mp3", "ogg", "opus", "flac", "m4a",
    }
)  # fmt: skip

# Uniqueid / Linkedid: epoch seconds "." sequence, as Asterisk makes them.
_ID = re.compile(r"(?<![\d.])(\d{9,11}\.\d+)(?![\d])")
_SIMPLE = re.compile(r"(?:(\d{4})/(\d{2})/(\d{2})/)?(\d{9,11}\.\d+)\.wav")
_ID_WAV = re.compile(r"(?:.*/)?(\d{9,11}\.\d+)\.wav")  # any folders, then <id>.wav
_DAY_IN_NAME = re.compile(r"(?<!\d)(20\d{2})(\d{2})(\d{2})(?!\d)")
_DAY_FOLDER = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_EARLIEST_EPOCH = 946_684_800  # 2000-01-01: smaller numbers are not Asterisk timestamps


@dataclass(frozen=True, slots=True)
class RecordingName:
    path: str  # relative to the recordings root, "/"-separated
    ids: tuple[str, ...]  # candidate Uniqueids / Linkedids, most specific first
    extension: str  # lower case, no dot ("wav49" for a ".WAV" GSM file is found by probing)
    day: date | None  # from date folders, a YYYYMMDD in the name, or the id's timestamp
    part: Part = "mix"


def is_candidate(name: str) -> bool:
    """A file the scanner should look at: an audio extension, not hidden or half-written."""
    if not name or name.startswith("."):
        return False
    _, dot, ext = name.rpartition(".")
    return bool(dot) and ext.lower() in AUDIO_EXTENSIONS


def parse_name(relpath: str, zone: tzinfo = UTC) -> RecordingName | None:
    """Read ids, day and part from a relative path; None when it is not a recording file.

    ``zone`` is the hotline's time zone, for the day an id's timestamp falls on."""
    simple = _SIMPLE.fullmatch(relpath)
    if simple is not None:  # the usual case, quickly: [YYYY/MM/DD/]<id>.wav
        y, m, d, uid = simple.groups()
        day = _date(int(y), int(m), int(d)) if y else _day_from_ids([uid], zone)
        return RecordingName(relpath, (uid,), "wav", day)
    parts = [p for p in relpath.replace("\\", "/").split("/") if p]
    if not parts or not is_candidate(parts[-1]):
        return None
    stem, _, ext = parts[-1].rpartition(".")
    part: Part = "mix"
    for suffix, which in (("-in", "in"), ("-out", "out"), ("_in", "in"), ("_out", "out")):
        if stem.endswith(suffix):
            stem, part = stem[: -len(suffix)], which  # type: ignore[assignment]
            break
    tokens = _ID.findall(stem)
    # The last token is where FreePBX puts the uniqueid; the whole stem covers a
    # systemname prefix ("pbx1-1732660000.42") or a custom name.
    ids = list(dict.fromkeys(reversed(tokens)))
    if stem and stem not in ids:
        ids.append(stem)
    return RecordingName(
        path="/".join(parts),
        ids=tuple(ids),
        extension=ext.lower(),
        day=_day_from_folders(parts[:-1]) or _day_from_text(stem) or _day_from_ids(tokens, zone),
        part=part,
    )


def index_facts(relpath: str, zone: tzinfo = UTC) -> tuple[str, Part, str] | None:
    """What the recordings index keeps of a name: the candidate ids (space-separated), the
    part and the extension; None when it is not a recording file.

    ``parse_name`` without the day, which the index does not keep: the scanner asks this
    of every new file, and the usual ``<id>.wav`` needs one regular expression only."""
    simple = _ID_WAV.fullmatch(relpath)
    if simple is not None:
        return simple[1], "mix", "wav"
    name = parse_name(relpath, zone)
    return None if name is None else (" ".join(name.ids), name.part, name.extension)


def _day_from_folders(folders: list[str]) -> date | None:
    if len(folders) >= 3:
        y, m, d = folders[-3:]
        if len(y) == 4 and y.isdigit() and m.isdigit() and d.isdigit():
            return _date(int(y), int(m), int(d))
    if folders and (match := _DAY_FOLDER.match(folders[-1])):
        return _date(*map(int, match.groups()))
    return None


def _day_from_text(stem: str) -> date | None:
    for match in _DAY_IN_NAME.finditer(stem):
        found = _date(*map(int, match.groups()))
        if found is not None:
            return found
    return None


def _day_from_ids(tokens: list[str], zone: tzinfo) -> date | None:
    for token in tokens:
        seconds = int(token.split(".", 1)[0])
        if seconds >= _EARLIEST_EPOCH:
            return datetime.fromtimestamp(seconds, zone).date()
    return None


def _date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None
