"""Index 10,000 recordings: the full scan (walk, WAV header, SHA-256, database rows) against
a bare ``os.scandir`` walk plus a ``wave`` header read of every file, in the same run.

Each round times the two back to back (in alternating order) and the ratio is the median of
the rounds' ratios: on a shared machine a burst of load then slows both sides of a round
alike, where comparing each side's single best round favours the shorter one. Every round
scans into a new database, deleted after the round, and the last round checks that an
unchanged rescan indexes nothing.

Last line: {"files": N, "files_per_s": ..., "baseline_files_per_s": ..., "ratio": ...}
(medians over the rounds; floor: ratio >= 0.5).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import tempfile
import time
import wave
from functools import partial
from pathlib import Path

from callcenter.db import create_engine_for, upgrade
from callcenter.recordings.scanner import scan
from callcenter.recordings.store import RecordingStore
from callcenter.recordings.synth import write_pcm_wav


def make_files(root: Path, count: int, seconds: float) -> None:
    """``count`` WAVs spread over date folders, named by Uniqueid as MixMonitor names them."""
    template = write_pcm_wav(root / ".template.wav", seconds).read_bytes()
    (root / ".template.wav").unlink()
    base = 1_795_700_000
    old = time.time() - 3600
    for i in range(count):
        day = i % 60
        folder = root / "2026" / f"{10 + day // 30:02d}" / f"{1 + day % 30:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{base + i * 7}.{i}.wav"
        path.write_bytes(template)
        os.utime(path, (old, old))


def baseline(root: Path) -> int:
    """A bare walk with os.scandir and a wave header read per file."""
    count = 0
    stack = [str(root)]
    while stack:
        for entry in os.scandir(stack.pop()):
            if entry.is_dir(follow_symlinks=False):
                stack.append(entry.path)
            elif entry.name.endswith(".wav"):
                with wave.open(entry.path) as audio:
                    audio.getnframes()
                    audio.getframerate()
                count += 1
    return count


def indexed(root: Path, store: RecordingStore) -> int:
    """The full scan, as the service runs it on new files: how many it indexed."""
    return scan(root, store, settle_s=0).indexed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=0.5, help="length of each recording")
    parser.add_argument("--rounds", type=int, default=7, help="median of this many rounds")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cc-bench-rec-") as tmp:
        root = Path(tmp) / "recordings"
        make_files(root, args.files, args.seconds)
        baseline(root)  # warm the page cache for both measurements
        baseline_times: list[float] = []
        scan_times: list[float] = []
        for round_no in range(args.rounds):
            database = Path(tmp) / f"bench-{round_no}.db"
            url = f"sqlite:///{database}"
            upgrade(url)
            engine = create_engine_for(url)
            store = RecordingStore(engine)
            sides = [
                (baseline_times, partial(baseline, root)),
                (scan_times, partial(indexed, root, store)),
            ]
            for times, run in sides[:: 1 if round_no % 2 == 0 else -1]:
                # From a collected heap: the garbage that setting up a round leaves
                # (Alembic's migration run) would otherwise be swept inside the timing.
                gc.collect()
                started = time.perf_counter()
                counted = run()
                times.append(time.perf_counter() - started)
                if counted != args.files:
                    print(f"{counted} of {args.files} files", file=sys.stderr)
                    return 1
            if round_no == args.rounds - 1:
                again = scan(root, store, settle_s=0)
                if (again.indexed, again.unchanged) != (0, args.files):
                    print(f"unchanged rescan: {again.to_dict()}", file=sys.stderr)
                    return 1
            engine.dispose()
            # A finished round's database goes: its pages would still be written back to
            # disk during the next rounds.
            for leftover in Path(tmp).glob(f"{database.name}*"):
                leftover.unlink()
    ratios = [b / s for b, s in zip(baseline_times, scan_times, strict=True)]
    print(
        json.dumps(
            {
                "files": args.files,
                "files_per_s": round(args.files / statistics.median(scan_times), 1),
                "baseline_files_per_s": round(args.files / statistics.median(baseline_times), 1),
                "ratio": round(statistics.median(ratios), 3),
                "ratio_range": [round(min(ratios), 3), round(max(ratios), 3)],
                "rounds": args.rounds,
                "rescan_unchanged_s": round(again.elapsed_s, 3),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
