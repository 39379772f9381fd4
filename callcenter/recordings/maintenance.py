"""Settings -> the recordings parts, and the operations the commands run (scan, orphans,
purge). The purge deletes a file and its index row together: the row goes only once the
file is gone (or was already gone), so the index never points at nothing it kept."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from callcenter.recordings.index import CallFacts, FileFacts, Linking, link
from callcenter.recordings.paths import UnsafePath, resolve_under
from callcenter.recordings.retention import Kept, PurgePlan, RetentionPolicy, plan_purge
from callcenter.recordings.scanner import call_facts
from callcenter.recordings.settings import RecordingsContext
from callcenter.recordings.store import RecordingStore


def recordings_root(settings: RecordingsContext) -> Path:
    return Path(settings.recordings.root or settings.recordings_dir)


def retention_policy(settings: RecordingsContext) -> RetentionPolicy:
    rs = settings.recordings
    return RetentionPolicy(rs.default_retention_days, dict(rs.retention_days))


def find_orphans(store: RecordingStore, *, now: float, grace_s: float) -> Linking:
    """Files with no call, and recorded calls with no file (after the grace period)."""
    rows = store.files()
    files = [FileFacts(row["path"], tuple(row["name_ids"].split())) for row in rows]
    calls: list[CallFacts] = [call_facts(row) for row in store.recorded_calls()]
    result = link(files, calls, now=now, grace_s=grace_s)
    # A file linked earlier (to a call since purged from the calls table) is not an orphan.
    linked_rows = {row["path"] for row in rows if row["call_id"]}
    result.orphan_files = [p for p in result.orphan_files if p not in linked_rows]
    return result


def purge_plan(store: RecordingStore, policy: RetentionPolicy, now: float) -> PurgePlan:
    items = [
        Kept(row["id"], row["path"], row["queue"], row["recorded_at"], row["legal_hold"])
        for row in store.files(include_missing=True)
    ]
    return plan_purge(items, policy, now)


@dataclass(slots=True)
class PurgeResult:
    removed: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


def purge(root: Path, store: RecordingStore, plan: PurgePlan) -> PurgeResult:
    result = PurgeResult()
    gone: list[int] = []
    for due in plan.due:
        path = due.item.path
        try:
            os.unlink(resolve_under(root, path))
        except FileNotFoundError:
            pass  # already gone: the row goes too
        except (UnsafePath, OSError) as exc:
            result.failed.append((path, str(exc)))
            continue
        gone.append(due.item.id)
        result.removed.append(path)
    store.delete(gone)
    return result


def describe_due(plan: PurgePlan) -> list[dict[str, Any]]:
    return [
        {"path": d.item.path, "queue": d.item.queue, "days": d.days, "expired_at": d.expired_at}
        for d in plan.due
    ]
