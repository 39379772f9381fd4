"""Indexing the recordings folder: an incremental scan and a polling watcher.

The scan walks the root with ``os.scandir`` (symlinks are never followed or indexed),
skips files whose size, mtime and inode match the index (unless ``full``), leaves files
changed in the last ``settle_s`` seconds for the next pass (MixMonitor may still be
writing), probes and hashes the rest, marks vanished files missing, then links unlinked
files to their calls: first those the live linker knows, then the stored calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from pathlib import Path
from typing import Any

import structlog

from callcenter.recordings.index import CallFacts, ids_to_calls, match
from callcenter.recordings.naming import is_candidate, parse_name
from callcenter.recordings.probe import ProbeError, probe_audio, wav_info_from_head
from callcenter.store.recordings import RecordingStore

log = structlog.get_logger(__name__)

Progress = Callable[[int, int], None]  # (done, total)
BATCH = 2000  # files per transaction
RETRY_LINK_S = 86_400.0
_BLOCK = 1 << 16  # what is read for the header of a long file
_WHOLE = 1 << 20  # files smaller than this are read (and hashed) in one go
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


@dataclass(slots=True)
class ScanReport:
    seen: int = 0
    indexed: int = 0  # new or changed files probed and saved
    unchanged: int = 0
    settling: int = 0  # changed too recently; left for the next pass
    missing: int = 0  # indexed before, gone now
    linked: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path, why)
    elapsed_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "seen": self.seen,
            "indexed": self.indexed,
            "unchanged": self.unchanged,
            "settling": self.settling,
            "missing": self.missing,
            "linked": self.linked,
            "failed": len(self.failed),
            "elapsed_s": round(self.elapsed_s, 3),
        }


# (relative path, size, mtime_ns, inode) of a file: a plain tuple of str and ints, which
# the garbage collector stops tracking (an os.stat_result it keeps scanning: 10,000 of
# them kept alive set off full collections that cost as much as the rest of a scan).
FileStat = tuple[str, int, int, int]


def walk(root: Path) -> Iterator[FileStat]:
    """Every candidate regular file under ``root``, from the directory listing's lstat."""
    stack = [("", str(root))]
    while stack:
        prefix, directory = stack.pop()
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            name = entry.name
            if name[0] == ".":
                continue
            # follow_symlinks=False: a symlink is neither a directory nor a file here.
            if entry.is_dir(follow_symlinks=False):
                stack.append((f"{prefix}{name}/", entry.path))
            elif entry.is_file(follow_symlinks=False) and is_candidate(name):
                stat = entry.stat(follow_symlinks=False)
                yield prefix + name, stat.st_size, stat.st_mtime_ns, stat.st_ino


def describe(root: str, file: FileStat, zone: tzinfo) -> dict[str, Any]:
    """The index row of one file: name facts, audio facts, size and SHA-256.

    A recording smaller than ``_WHOLE`` bytes is read with one ``read``: its first bytes
    are the WAV header and the same buffer is hashed. A longer one has its header read,
    then ``hashlib.file_digest`` streams the whole file.
    """
    relpath, size, mtime_ns, inode = file
    name = parse_name(relpath, zone)
    assert name is not None  # walk() yields candidates only
    full = f"{root}/{relpath}"
    # O_NOFOLLOW: a file swapped for a symlink since the listing is refused, not followed.
    fd = os.open(full, os.O_RDONLY | _NOFOLLOW)
    try:
        small = size < _WHOLE
        head = os.read(fd, size + 1 if small else _BLOCK)
        if small and len(head) <= size:  # the whole file (one byte more: it grew)
            digest = hashlib.sha256(head).hexdigest()
        else:
            with open(fd, "rb", buffering=0, closefd=False) as handle:
                handle.seek(0)
                digest = hashlib.file_digest(handle, "sha256").hexdigest()
    finally:
        os.close(fd)
    problem = ""
    info = None
    try:
        if name.extension not in ("wav", "wav49"):
            info = probe_audio(Path(full), name.extension)
        else:
            try:
                info = wav_info_from_head(head, size, relpath)
            except ProbeError:
                if len(head) >= size:
                    raise  # the whole file was read: nothing more to look at
                info = probe_audio(Path(full), name.extension)  # a header past the block
    except ProbeError as exc:
        problem = str(exc)[:500]
    return {
        "path": relpath,
        "name_ids": " ".join(name.ids),
        "part": name.part,
        "size": size,
        "mtime_ns": mtime_ns,
        "inode": inode,
        "sha256": digest,
        "container": info.container if info else name.extension,
        "codec": info.codec if info else "",
        "duration_s": int(info.duration_s * 1000) / 1000 if info else 0.0,
        "sample_rate": info.sample_rate if info else 0,
        "channels": info.channels if info else 0,
        "probe_error": problem,
    }


def scan(
    root: Path,
    store: RecordingStore,
    *,
    full: bool = False,
    now: float | None = None,
    settle_s: float = 2.0,
    zone: tzinfo = UTC,
    known: Mapping[str, CallFacts] | None = None,
    progress: Progress | None = None,
) -> ScanReport:
    """Index what changed under ``root`` and link it to calls.

    Everything runs in this thread: reading a file is a few syscalls and a hash, and on a
    busy two-core host worker processes (tried) cost more in start-up and pickling than
    they saved. Rows go to the database ``BATCH`` files per transaction.
    """
    started = time.perf_counter()
    wall_start = time.time()
    now = wall_start if now is None else now
    known = known or {}
    report = ScanReport()
    stamps = store.stamps()
    files = list(walk(root)) if root.is_dir() else []
    total = len(files)
    todo: list[FileStat] = []
    settled_ns = int((now - settle_s) * 1e9)
    for file in files:
        relpath, size, mtime_ns, inode = file
        stamp = stamps.get(relpath)
        if (
            not full
            and stamp is not None
            and not stamp.missing
            and (stamp.size, stamp.mtime_ns, stamp.inode) == (size, mtime_ns, inode)
        ):
            report.unchanged += 1
        elif mtime_ns > settled_ns:
            report.settling += 1  # MixMonitor may still be writing it
        else:
            todo.append(file)
    report.seen = total
    todo.sort()  # path order: the path index grows at its end, in fewer pages
    ids = {path: stamp.id for path, stamp in stamps.items()}
    root_text = str(root)

    done = total - len(todo)
    for start in range(0, len(todo), BATCH):
        batch: list[dict[str, Any]] = []
        for file in todo[start : start + BATCH]:
            try:
                batch.append(describe(root_text, file, zone))
            except OSError as exc:  # vanished or unreadable since the listing
                report.failed.append((file[0], f"{type(exc).__name__}: {exc.strerror or exc}"))
        store.save_files(batch, ids)
        report.linked += link_batch(store, batch, known)
        report.indexed += len(batch)
        done += min(BATCH, len(todo) - start)
        if progress is not None:
            progress(done, total)
    if progress is not None and not todo:
        progress(total, total)
    seen = {file[0] for file in files}
    gone = [p for p, s in stamps.items() if p not in seen and not s.missing]
    report.missing = store.mark_missing(gone)
    # Files left unlinked by earlier scans are retried for a day (their call may be
    # stored late); a full scan retries them all.
    since = None if full else wall_start - RETRY_LINK_S
    report.linked += link_unlinked(store, known, since, before=wall_start)
    report.elapsed_s = time.perf_counter() - started
    return report


def call_facts(row: Mapping[str, Any]) -> CallFacts:
    return CallFacts(
        pbx=row["pbx"],
        call_id=row["call_id"],
        channel_ids=tuple(row.get("channel_ids", ())),
        recorded=bool(row.get("recorded", False)),
        started_at=float(row.get("started_at") or 0.0),
        ended_at=row.get("ended_at"),
        caller_number=row.get("caller_number", ""),
        agent=row.get("agent", ""),
        queue=row.get("queue", ""),
    )


def link_batch(
    store: RecordingStore, rows: list[dict[str, Any]], known: Mapping[str, CallFacts]
) -> int:
    """Link just-saved files to known or stored calls, by path."""
    names = [(row["path"], tuple(row["name_ids"].split())) for row in rows]
    wanted = {i for _, candidates in names for i in candidates if i not in known}
    stored = ids_to_calls(call_facts(row) for row in store.calls_for_ids(wanted))
    by_id = {**stored, **known}
    links = {}
    for path, candidates in names:
        call = match(candidates, by_id)
        if call is not None:
            links[path] = link_values(call)
    store.link_paths(links)
    return len(links)


def link_unlinked(
    store: RecordingStore,
    known: Mapping[str, CallFacts],
    indexed_since: float | None = None,
    before: float | None = None,
) -> int:
    """Link present, unlinked files (indexed in [since, before)) to known or stored calls."""
    pending = store.unlinked(indexed_since, before)
    if not pending:
        return 0
    wanted = {i for _, ids in pending for i in ids if i not in known}
    stored = ids_to_calls(call_facts(row) for row in store.calls_for_ids(wanted))
    by_id = {**stored, **known}
    links: dict[int, dict[str, Any]] = {}
    for rid, ids in pending:
        call = match(ids, by_id)
        if call is not None:
            links[rid] = link_values(call)
    store.link(links)
    return len(links)


def link_values(call: CallFacts) -> dict[str, Any]:
    return {
        "pbx": call.pbx,
        "call_id": call.call_id,
        "caller_number": call.caller_number,
        "agent": call.agent,
        "queue": call.queue,
        "call_ended_at": call.ended_at,
        "recorded_at": call.started_at,
    }


class RecordingWatcher:
    """Rescans every ``interval_s`` (and on ``poke()``) so files that land late are indexed."""

    def __init__(
        self,
        root: Path,
        store: RecordingStore,
        *,
        interval_s: float = 5.0,
        settle_s: float = 2.0,
        zone: tzinfo = UTC,
        known: Callable[[], Mapping[str, CallFacts]] = dict,
        on_scan: Callable[[ScanReport], Awaitable[None]] | None = None,
    ) -> None:
        self.root = root
        self.store = store
        self.interval_s = interval_s
        self.settle_s = settle_s
        self.zone = zone
        self._known = known
        self._on_scan = on_scan
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.scans = 0

    def poke(self) -> None:
        self._wake.set()

    async def scan_once(self) -> ScanReport:
        report = await asyncio.to_thread(
            scan,
            self.root,
            self.store,
            settle_s=self.settle_s,
            zone=self.zone,
            known=dict(self._known()),
        )
        self.scans += 1
        if self._on_scan is not None:
            await self._on_scan(report)
        return report

    async def _run(self) -> None:
        while True:
            self._wake.clear()  # a poke during the scan below triggers the next one at once
            try:
                await self.scan_once()
            except Exception:
                log.exception("recordings scan failed", root=str(self.root))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval_s)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
