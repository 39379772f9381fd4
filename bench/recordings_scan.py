"""Index 10,000 recordings: the full scan (walk, WAV header, SHA-256, database rows) against
a bare ``os.scandir`` walk plus a ``wave`` header read of every file, in the same run.

Last line: {"files": N, "files_per_s": ..., "baseline_files_per_s": ..., "ratio": ...}
(floor: ratio >= 0.5).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import time
import wave
from pathlib import Path

from callcenter.recordings.scanner import scan
from callcenter.recordings.synth import write_pcm_wav
from callcenter.store.db import create_engine_for, upgrade
from callcenter.store.recordings import RecordingStore


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=0.5, help="length of each recording")
    parser.add_argument("--rounds", type=int, default=7, help="best of this many rounds")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cc-bench-rec-") as tmp:
        root = Path(tmp) / "recordings"
        make_files(root, args.files, args.seconds)
        baseline(root)  # warm the page cache for both measurements
        # Best of several rounds, alternating the two, so a burst of load from other
        # processes on the machine does not decide the ratio.
        baseline_s = scan_s = float("inf")
        for round_no in range(args.rounds):
            # Both timings start from a collected heap: the garbage that setting up a round
            # leaves (Alembic's migration run) would otherwise be swept inside the timing.
            gc.collect()
            started = time.perf_counter()
            counted = baseline(root)
            baseline_s = min(baseline_s, time.perf_counter() - started)

            url = f"sqlite:///{tmp}/bench-{round_no}.db"
            upgrade(url)
            engine = create_engine_for(url)
            store = RecordingStore(engine)
            gc.collect()
            started = time.perf_counter()
            report = scan(root, store, settle_s=0)
            scan_s = min(scan_s, time.perf_counter() - started)
            again = scan(root, store, settle_s=0)
            engine.dispose()
            if report.indexed != args.files or counted != args.files:
                print(f"indexed {report.indexed}, counted {counted}", file=sys.stderr)
                return 1
    files_per_s = args.files / scan_s
    baseline_per_s = args.files / baseline_s
    print(
        json.dumps(
            {
                "files": args.files,
                "files_per_s": round(files_per_s, 1),
                "baseline_files_per_s": round(baseline_per_s, 1),
                "ratio": round(files_per_s / baseline_per_s, 3),
                "rounds": args.rounds,
                "rescan_unchanged_s": round(again.elapsed_s, 3),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
