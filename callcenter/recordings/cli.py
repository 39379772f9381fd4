"""``callcenter recordings scan [--full] | orphans | purge [--dry-run]``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import TextIO

from callcenter.db import create_engine_for, upgrade
from callcenter.log import mask_number
from callcenter.recordings.maintenance import (
    find_orphans,
    purge,
    purge_plan,
    recordings_root,
    retention_policy,
)
from callcenter.recordings.scanner import scan
from callcenter.recordings.settings import RecordingsCommandsContext
from callcenter.recordings.store import RecordingStore

# The settings arrive from the ``callcenter`` command, which reads and validates the
# file on the first call (a command that needs none never reads it).
SettingsLoader = Callable[[], RecordingsCommandsContext]
Command = Callable[[argparse.Namespace, SettingsLoader], int]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    recordings = subparsers.add_parser(
        "recordings", help="call recordings: index, orphans, retention (录音)"
    )
    commands = recordings.add_subparsers(dest="recordings_command", required=True)
    # (command, what it does, its function, its one switch and what that does, if any)
    table: tuple[tuple[str, str, Command, tuple[str, str] | None], ...] = (
        ("scan", "index new and changed recording files", cmd_scan,
         ("--full", "probe and hash every file again, changed or not")),
        ("orphans", "files with no call, and recorded calls with no file", cmd_orphans, None),
        ("purge", "delete recordings past their retention (files and index rows)", cmd_purge,
         ("--dry-run", "list what would be deleted, delete nothing")),
    )  # fmt: skip
    for name, what, func, switch in table:
        sub = commands.add_parser(name, help=what)
        if switch is not None:
            sub.add_argument(switch[0], action="store_true", help=switch[1])
        sub.set_defaults(func=func)
        sub.add_argument("--config", default=argparse.SUPPRESS, help=argparse.SUPPRESS)


def _store(settings: RecordingsCommandsContext) -> RecordingStore:
    upgrade(settings.database.url)
    return RecordingStore(create_engine_for(settings.database.url))


class ProgressBar:
    """A one-line bar on a terminal; silent when the output is not one."""

    def __init__(self, stream: TextIO, width: int = 30) -> None:
        self.stream = stream
        self.width = width
        self.enabled = stream.isatty()

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total == 0:
            return
        filled = self.width * done // total
        bar = "#" * filled + "." * (self.width - filled)
        self.stream.write(f"\r扫描 scanning [{bar}] {done}/{total} {100 * done // total}%")
        if done == total:
            self.stream.write("\n")
        self.stream.flush()


def cmd_scan(args: argparse.Namespace, settings_loader: SettingsLoader) -> int:
    settings = settings_loader()
    root = recordings_root(settings)
    if not root.is_dir():
        print(f"录音目录不存在 / recordings folder not found: {root}", file=sys.stderr)
        return 2
    store = _store(settings)
    try:
        report = scan(
            root,
            store,
            full=args.full,
            settle_s=settings.recordings.settle_s,
            zone=settings.zone,
            progress=ProgressBar(sys.stderr),
        )
    finally:
        store.engine.dispose()
    for path, why in report.failed:
        print(f"failed: {path}: {why}", file=sys.stderr)
    print(json.dumps({"root": str(root), **report.to_dict()}, ensure_ascii=False))
    return 0 if not report.failed else 1


def cmd_orphans(args: argparse.Namespace, settings_loader: SettingsLoader) -> int:
    settings = settings_loader()
    store = _store(settings)
    try:
        result = find_orphans(store, now=time.time(), grace_s=settings.recordings.late_grace_s)
    finally:
        store.engine.dispose()
    print(f"无通话的录音文件 / files with no call: {len(result.orphan_files)}")
    for path in result.orphan_files:
        print(f"  {path}")
    print(f"有录音标记但无文件的通话 / recorded calls with no file: {len(result.orphan_calls)}")
    for call in result.orphan_calls:
        caller = mask_number(call.caller_number) if call.caller_number else "-"
        print(f"  {call.pbx} {call.call_id} caller {caller} agent {call.agent or '-'}")
    if result.late_calls:
        print(f"尚在等待文件 / still waiting for a file: {len(result.late_calls)}")
    return 0


def cmd_purge(args: argparse.Namespace, settings_loader: SettingsLoader) -> int:
    settings = settings_loader()
    store = _store(settings)
    try:
        plan = purge_plan(store, retention_policy(settings), time.time())
        for due in plan.due:
            verb = "would delete" if args.dry_run else "deleting"
            print(f"{verb}: {due.item.path} (queue {due.item.queue or '-'}, {due.days} days)")
        for held in plan.held:
            print(f"legal hold keeps: {held.item.path}")
        if args.dry_run:
            print(f"dry run: {len(plan.due)} to delete, {len(plan.held)} kept by legal hold")
            return 0
        result = purge(recordings_root(settings), store, plan)
    finally:
        store.engine.dispose()
    for path, why in result.failed:
        print(f"could not delete {path}: {why}", file=sys.stderr)
    print(f"deleted {len(result.removed)}, failed {len(result.failed)}, held {len(plan.held)}")
    return 0 if not result.failed else 1
