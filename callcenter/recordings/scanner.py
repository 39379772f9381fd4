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
import errno
import hashlib
import os
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, tzinfo
from pathlib import Path
from stat import S_ISREG
from typing import Any, TypeVar

import structlog

from callcenter.core.tasks import cancel_and_wait
from callcenter.recordings.index import CallFacts
from callcenter.recordings.naming import index_facts, is_candidate
from callcenter.recordings.probe import (
    AudioFacts,
    AudioInfo,
    ProbeError,
    canonical_wav_facts,
    probe_audio,
    wav_info_from_head,
)
from callcenter.recordings.store import IndexedFile, RecordingStore, Stamp, link_facts

log = structlog.get_logger(__name__)

Progress = Callable[[int, int], None]  # (done, total)
FileKey = TypeVar("FileKey", str, int)  # a file's path, or its row id
BATCH = 2000  # files per transaction
RETRY_LINK_S = 86_400.0
_BLOCK = 1 << 16  # what is read for the header of a long file
_WHOLE = 1 << 20  # files smaller than this are read (and hashed) in one go
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)


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
        # the counts as they are; of the failures only how many (their paths are logged)
        return {**asdict(self), "failed": len(self.failed), "elapsed_s": round(self.elapsed_s, 3)}


def walk(root: Path) -> Iterator[str]:
    """The relative path of every candidate regular file under ``root``, from the directory
    listing alone: the file type comes with the names, so nothing here costs a stat."""
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
                yield prefix + name


def unchanged(path: str, stamp: Stamp) -> bool:
    """Whether the file still has the size, mtime and inode the index has for it."""
    try:
        stat = os.lstat(path)
    except OSError:
        return False  # gone since the listing: reading it says so
    return (
        stat.st_size == stamp.size
        and stat.st_mtime_ns == stamp.mtime_ns
        and stat.st_ino == stamp.inode
    )


def describe(root: str, relpath: str, settled_ns: int, zone: tzinfo) -> IndexedFile | None:
    """The index row of one file: name facts, audio facts, size and SHA-256; None when it
    changed after ``settled_ns`` (MixMonitor may still be writing it).

    Size, mtime and inode come from the open file, so they describe the bytes hashed. A
    recording smaller than ``_WHOLE`` bytes is read with one ``read``: its first bytes are
    the WAV header and the same buffer is hashed. A longer one has its header read, then
    ``hashlib.file_digest`` streams the whole file.
    """
    facts = index_facts(relpath, zone)
    assert facts is not None  # walk() yields candidates only
    name_ids, part, extension = facts
    full = f"{root}/{relpath}"
    # O_NOFOLLOW: a file swapped for a symlink since the listing is refused, not followed;
    # O_NONBLOCK: one swapped for a FIFO does not hang the scan (it is refused below).
    fd = os.open(full, _OPEN_FLAGS)
    try:
        stat = os.fstat(fd)
        if not S_ISREG(stat.st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        size, mtime_ns = stat.st_size, stat.st_mtime_ns
        if mtime_ns > settled_ns:
            return None
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
    audio: AudioFacts | None = None
    container = extension
    try:
        if extension not in ("wav", "wav49"):
            info = probe_audio(Path(full), extension)
            container, audio = info.container, _audio_facts(info)
        elif (audio := canonical_wav_facts(head, size)) is not None:
            container = "wav"
        else:
            try:
                info = wav_info_from_head(head, size, relpath)
            except ProbeError:
                if len(head) >= size:
                    raise  # the whole file was read: nothing more to look at
                info = probe_audio(Path(full), extension)  # a header past the block
            container, audio = info.container, _audio_facts(info)
    except ProbeError as exc:
        problem = str(exc)[:500]
    codec, duration_s, sample_rate, channels = audio or ("", 0.0, 0, 0)
    return IndexedFile(
        relpath, name_ids, part, container, codec, int(duration_s * 1000) / 1000, sample_rate,
        channels, size, digest, mtime_ns, stat.st_ino, problem,
    )  # fmt: skip


def _audio_facts(info: AudioInfo) -> AudioFacts:
    return info.codec, info.duration_s, info.sample_rate, info.channels


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
    they saved, and worker threads (tried: hashing, or writing the previous batch) lost
    more to passing the GIL back and forth than they gained. Rows go to the database
    ``BATCH`` files per transaction, each file with its call's facts when it has a call.
    """
    started = time.perf_counter()
    wall_start = time.time()
    now = wall_start if now is None else now
    known = known or {}
    report = ScanReport()
    stamps = store.stamps()
    root_text = str(root)
    # Path order: the path index grows at its end, in fewer pages.
    paths = sorted(walk(root)) if root.is_dir() else []
    total = len(paths)
    todo: list[str] = []
    for relpath in paths:
        stamp = stamps.get(relpath)
        # Only a file the index has is stat'ed here: any other is about to be opened, and
        # its stat comes from the open file.
        if (
            not full
            and stamp is not None
            and not stamp.missing
            and unchanged(f"{root_text}/{relpath}", stamp)
        ):
            report.unchanged += 1
        else:
            todo.append(relpath)
    report.seen = total
    ids = {path: stamp.id for path, stamp in stamps.items()}
    settled_ns = int((now - settle_s) * 1e9)

    done = total - len(todo)
    for start in range(0, len(todo), BATCH):
        batch: list[IndexedFile] = []
        for relpath in todo[start : start + BATCH]:
            try:
                row = describe(root_text, relpath, settled_ns, zone)
            except OSError as exc:  # vanished or unreadable since the listing
                report.failed.append((relpath, f"{type(exc).__name__}: {exc.strerror or exc}"))
                continue
            if row is None:
                report.settling += 1  # MixMonitor may still be writing it
            else:
                batch.append(row)
        # Linked before they are saved: a file and its call's facts are one INSERT.
        links = links_for(store, batch, known)
        store.save_files(batch, ids, links)
        report.linked += len(links)
        report.indexed += len(batch)
        done += min(BATCH, len(todo) - start)
        if progress is not None:
            progress(done, total)
    if progress is not None and not todo:
        progress(total, total)
    seen = set(paths)
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


def links_for(
    store: RecordingStore, rows: list[IndexedFile], known: Mapping[str, CallFacts]
) -> dict[str, dict[str, Any]]:
    """The call facts of the files (by path) that belong to a known or stored call."""
    return _links(store, [(row.path, row.name_ids.split()) for row in rows], known)


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
    links = _links(store, pending, known)
    store.link(links)
    return len(links)


def _links(
    store: RecordingStore,
    files: Sequence[tuple[FileKey, Sequence[str]]],
    known: Mapping[str, CallFacts],
) -> dict[FileKey, dict[str, Any]]:
    """Each file's call facts, by the first of its candidate ids (most specific first) that
    names a call: a call the live linker knows, else a stored one."""
    wanted = {i for _, ids in files for i in ids if i not in known}
    stored = store.call_links(wanted)
    links: dict[FileKey, dict[str, Any]] = {}
    for key, ids in files:
        for candidate in ids:
            call = known.get(candidate)
            if call is not None:
                links[key] = link_values(call)
                break
            facts = stored.get(candidate)
            if facts is not None:
                links[key] = facts
                break
    return links


def link_values(call: CallFacts) -> dict[str, Any]:
    """What linking a file to this known call sets, as for a stored call."""
    facts = (call.pbx, call.call_id, call.caller_number, call.agent, call.queue, call.ended_at)
    return link_facts((*facts, call.started_at))


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

    async def scan_once(self, *, settle_s: float | None = None) -> ScanReport:
        """One pass; ``settle_s`` overrides the wait for fresh files (0 when whoever writes
        them is known to be done)."""
        report = await asyncio.to_thread(
            scan,
            self.root,
            self.store,
            settle_s=self.settle_s if settle_s is None else settle_s,
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
        await cancel_and_wait(self._task)
        self._task = None
