"""AMI ingest: events per second on one core, ours against panoramisk 1.4, in the same run.

The stream is the real Asterisk capture ``ami_events_queue_calls.txt`` repeated, CRLF as on
the wire, with Uniqueid/Linkedid and times shifted per repetition so every repetition is a set
of new calls. Both sides get the same 64 KiB chunks, with no network:

- ours: ``AmiClient``'s protocol (``AmiParser`` framing, reply/event routing) ->
  ``translate`` -> ``CallTracker.apply`` per message;
- panoramisk: ``AMIProtocol.data_received`` with a ``Manager`` that has one event callback
  registered for ``"*"`` (its parse and dispatch).

Runs alternate (ours, panoramisk, ours, ...) and the best of each counts. The last line
printed is one JSON object: ``ours_eps``, ``panoramisk_eps``, ``ratio``, ``events``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import re
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from callcenter.telephony.ami import AmiClient, _Link  # noqa: E402

CAPTURE_CANDIDATES = (
    ROOT / "tests" / "data" / "ami_events_queue_calls.txt",
    Path("/work/shared/asterisk-captures/ami_events_queue_calls.txt"),
)
BANNER = b"Asterisk Call Manager/11.0.0\r\n"
CHUNK = 64 * 1024
HOUR = 3600

_ID = re.compile(r"^(\w*(?:Uniqueid|UniqueID|Linkedid)): (\d+)\.(\d+)$", re.M)
_TIMESTAMP = re.compile(r"^Timestamp: (\d+)\.(\d+)$", re.M)
_CDR_TIME = re.compile(r"^((?:Start|Answer|End)Time): (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)$", re.M)


def find_capture() -> Path:
    for path in CAPTURE_CANDIDATES:
        if path.exists():
            return path
    raise SystemExit("capture ami_events_queue_calls.txt not found")


def shifted(text: str, hours: int) -> str:
    """The capture as if it happened ``hours`` later: new ids, later times."""
    if hours == 0:
        return text
    offset = hours * HOUR

    def new_id(m: re.Match[str]) -> str:
        return f"{m[1]}: {int(m[2]) + offset}.{m[3]}"

    def new_timestamp(m: re.Match[str]) -> str:
        return f"Timestamp: {int(m[1]) + offset}.{m[2]}"

    def new_cdr_time(m: re.Match[str]) -> str:
        moved = datetime.strptime(m[2], "%Y-%m-%d %H:%M:%S") + timedelta(hours=hours)
        return f"{m[1]}: {moved:%Y-%m-%d %H:%M:%S}"

    text = _ID.sub(new_id, text)
    text = _TIMESTAMP.sub(new_timestamp, text)
    return _CDR_TIME.sub(new_cdr_time, text)


def build_stream(capture: str, repetitions: int) -> bytes:
    body = capture if capture.endswith("\n\n") else capture.rstrip("\n") + "\n\n"
    parts = [shifted(body, k) for k in range(repetitions)]
    return BANNER + "".join(parts).replace("\n", "\r\n").encode("utf-8")


def chunked(data: bytes, size: int = CHUNK) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def load_pipeline() -> tuple[Callable[[], Callable[[dict[str, str]], None]], str]:
    """A factory for the per-message handler, and its description."""
    try:
        from callcenter.calls.tracker import CallTracker
        from callcenter.telephony.ami_events import translate
    except ImportError as exc:
        print(f"NOTE: translation/tracker not importable ({exc}); measuring the codec only")

        def codec_only() -> Callable[[dict[str, str]], None]:
            def handle(message: dict[str, str]) -> None:
                return None

            return handle

        return codec_only, "codec-only"

    def full() -> Callable[[dict[str, str]], None]:
        tracker = CallTracker()
        apply = tracker.apply

        def handle(message: dict[str, str]) -> None:
            event = translate(message, "bench")
            if event is not None:
                apply(event)

        return handle

    return full, "framing+translation+tracker"


def run_ours(
    chunks: list[bytes], make_handler: Callable[[], Callable[[dict[str, str]], None]]
) -> tuple[int, float]:
    async def measure() -> tuple[int, float]:
        handle = make_handler()
        count = 0

        def on_event(message: dict[str, str]) -> None:
            nonlocal count
            count += 1
            handle(message)

        client = AmiClient("127.0.0.1", 5038, "bench", "bench", on_event=on_event)
        # The client's own protocol object, fed directly: framing and routing, no socket.
        link = _Link(client._deliver, lambda _link, _reason: None)
        receive = link.data_received
        gc.collect()
        start = time.perf_counter()
        for chunk in chunks:
            receive(chunk)
        return count, time.perf_counter() - start

    return asyncio.run(measure())


def run_panoramisk(chunks: list[bytes]) -> tuple[int, float]:
    from panoramisk.ami_protocol import AMIProtocol
    from panoramisk.manager import Manager

    async def measure() -> tuple[int, float]:
        count = 0

        def on_event(manager: Any, message: Any) -> None:
            nonlocal count
            count += 1

        manager = Manager(loop=asyncio.get_running_loop())
        manager.register_event("*", on_event)

        class NullTransport:
            def write(self, data: bytes) -> None:
                pass

            def close(self) -> None:
                pass

        protocol = AMIProtocol()
        protocol.connection_made(NullTransport())
        # What Manager.connection_made wires up after a real connect.
        protocol.factory = manager
        protocol.encoding = manager.config["encoding"]
        protocol.config = manager.config
        receive = protocol.data_received
        gc.collect()
        start = time.perf_counter()
        for chunk in chunks:
            receive(chunk)
        return count, time.perf_counter() - start

    return asyncio.run(measure())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=40, help="copies of the capture")
    parser.add_argument("--runs", type=int, default=3, help="alternating runs per side")
    args = parser.parse_args()

    capture = find_capture().read_text(encoding="utf-8")
    stream = build_stream(capture, args.repetitions)
    chunks = chunked(stream)
    make_handler, pipeline = load_pipeline()
    print(
        f"stream: {args.repetitions} x capture, {len(stream) / 1e6:.1f} MB, "
        f"{len(chunks)} chunks of {CHUNK // 1024} KiB; ours = {pipeline}"
    )

    best_ours = best_pano = 0.0
    events = 0
    for run in range(1, args.runs + 1):
        ours_count, ours_s = run_ours(chunks, make_handler)
        pano_count, pano_s = run_panoramisk(chunks)
        if ours_count != pano_count:
            raise SystemExit(f"event counts differ: ours {ours_count}, panoramisk {pano_count}")
        events = ours_count
        best_ours = max(best_ours, ours_count / ours_s)
        best_pano = max(best_pano, pano_count / pano_s)
        print(
            f"run {run}: ours {ours_count / ours_s:,.0f} ev/s ({ours_s:.2f} s), "
            f"panoramisk {pano_count / pano_s:,.0f} ev/s ({pano_s:.2f} s)"
        )

    ratio = best_ours / best_pano
    print(f"best: ours {best_ours:,.0f} ev/s, panoramisk {best_pano:,.0f} ev/s, ratio {ratio:.2f}")
    result = {
        "ours_eps": round(best_ours),
        "panoramisk_eps": round(best_pano),
        "ratio": round(ratio, 2),
        "events": events,
        "pipeline": pipeline,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
