"""``callcenter ivr validate PATH...`` and ``callcenter ivr simulate FLOW``; also
``callcenter prompts build`` (prompt audio with espeak-ng)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from callcenter.core.contracts import OwnerInfo
from callcenter.core.settings_error import ConfigError
from callcenter.ivr.loader import Problem
from callcenter.ivr.prompts import load_catalogue
from callcenter.ivr.settings import IvrCommandsContext
from callcenter.ivr.simulate import walk
from callcenter.ivr.validator import validate_paths

# The settings arrive from the ``callcenter`` command, which reads and validates the
# file on the first call (a command that needs none never reads it).
SettingsLoader = Callable[[], IvrCommandsContext]


def register(subparsers: Any) -> None:
    ivr = subparsers.add_parser("ivr", help="IVR flows: validate, simulate")
    commands = ivr.add_subparsers(dest="ivr_command", required=True)
    check = commands.add_parser("validate", help="check flow files; non-zero exit on any problem")
    check.add_argument("paths", nargs="+", help="flow files or directories")
    check.add_argument("--queues", default=None,
                       help="comma-separated queue names (default: the settings' ivr.queues)")  # fmt: skip
    check.add_argument("--prompts", default=None, help="prompt texts directory")
    check.add_argument("--audio", action="store_true", help="also require the prompt audio")
    check.set_defaults(func=cmd_validate)

    sim = commands.add_parser("simulate", help="walk a flow in the terminal")
    sim.add_argument("flow", help="flow name (in the settings' ivr_dir) or a flow file")
    sim.add_argument("--caller", default="13800000000")
    sim.add_argument("--dialled", default="")
    sim.add_argument("--at", default=None, help='local time, e.g. "2026-11-27 22:30"')
    sim.add_argument("--digits", default=None, help="keys per prompt, e.g. 1,2,# (no terminal)")
    sim.add_argument("--owner", default=None, help="the caller is this owner id")
    sim.add_argument("--vip", action="store_true")
    sim.add_argument("--housekeeper", default="", help="the owner's housekeeper, e.g. PJSIP/1001")
    sim.add_argument("--balance", action="append", default=[], help="UNIT=YUAN, repeatable")
    sim.add_argument("--dial-status", default="NOANSWER")
    sim.add_argument("--queue-status", default="ANSWERED")
    sim.add_argument("--lang", default="zh", choices=["zh", "en"], help="language of the walker")
    sim.add_argument("--format", default="text", choices=["text", "json"],
                     help="json: one object with the steps, their times and seconds_to_queue")  # fmt: skip
    sim.set_defaults(func=cmd_simulate)

    prompts = subparsers.add_parser("prompts", help="IVR prompt audio")
    pcmds = prompts.add_subparsers(dest="prompts_command", required=True)
    build = pcmds.add_parser("build", help="generate prompt audio with espeak-ng")
    build.add_argument("--force", action="store_true", help="rebuild existing files")
    build.set_defaults(func=cmd_prompts_build)


def _print_problems(problems: list[Problem]) -> None:
    for p in problems:
        print(p, file=sys.stderr)


def _settings(settings_loader: SettingsLoader) -> IvrCommandsContext | None:
    """The settings, or None once it has said why they cannot be loaded."""
    try:
        return settings_loader()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return None


def cmd_validate(args: argparse.Namespace, settings_loader: SettingsLoader) -> int:
    settings = _settings(settings_loader)
    if settings is None:
        return 2
    queues = args.queues.split(",") if args.queues is not None else settings.ivr.queues
    prompts_dir = args.prompts or settings.ivr.prompts_dir
    catalogue, problems = load_catalogue(
        prompts_dir, check_audio=args.audio or settings.ivr.check_audio
    )
    flows, found = validate_paths(args.paths, queues=queues or None, catalogue=catalogue)
    problems += found
    if problems:
        _print_problems(problems)
        print(f"{len(problems)} problem(s) / 个问题", file=sys.stderr)
        return 1
    print(f"ok: {len(flows)} flow(s) / 个流程: {', '.join(f.name for f in flows)}")
    return 0


NO_TERMINAL = (
    "ivr simulate: no terminal to read keys from; give them with --digits "
    '(e.g. --digits 1,2 or --digits "" for a caller who presses nothing) / '
    "没有终端可读取按键，请用 --digits 给出"
)


def cmd_simulate(args: argparse.Namespace, settings_loader: SettingsLoader) -> int:
    if args.digits is None and not sys.stdin.isatty():
        print(NO_TERMINAL, file=sys.stderr)
        return 2
    settings = _settings(settings_loader)
    if settings is None:
        return 2
    source = Path(args.flow)
    directory = source.parent if source.suffix in (".yaml", ".yml") else Path(settings.ivr_dir)
    name = source.stem if source.suffix in (".yaml", ".yml") else args.flow
    catalogue, problems = load_catalogue(settings.ivr.prompts_dir)
    flows, found = validate_paths(
        [directory], queues=settings.ivr.queues or None, catalogue=catalogue
    )
    problems += found
    if problems:
        _print_problems(problems)
        return 1
    by_name = {f.name: f for f in flows}
    if name not in by_name:
        print(
            f"no flow named {name!r} in {directory} (known: {', '.join(by_name)})", file=sys.stderr
        )
        return 1
    try:
        when = datetime.fromisoformat(args.at) if args.at else datetime.now(settings.zone)
        balances = {u: int(v) for u, _, v in (b.partition("=") for b in args.balance)}
    except ValueError as exc:
        print(f"bad --at or --balance: {exc}", file=sys.stderr)
        return 2
    when = when if when.tzinfo else when.replace(tzinfo=settings.zone)
    owner = None
    if args.owner or args.vip or args.housekeeper or balances:
        owner = OwnerInfo(args.owner or "owner", vip=args.vip,
                          housekeeper_interface=args.housekeeper, balances=balances)  # fmt: skip
    digits = args.digits.split(",") if args.digits is not None else None
    dialled = args.dialled or next((n for n, f in settings.hotlines.items() if f == name), "")
    as_json = args.format == "json"
    # json: the walk's lines go to stderr when keys are read from the terminal, else nowhere
    out = (lambda line: print(line, file=sys.stderr)) if as_json and digits is None else print
    walked = walk(by_name, name, catalogue, caller=args.caller, dialled=dialled, when=when,
                  digits=digits, owner=owner, dial_status=args.dial_status,
                  queue_status=args.queue_status, ui=args.lang,
                  out=(lambda _: None) if as_json and digits is not None else out)  # fmt: skip
    if as_json:
        print(json.dumps(walked.as_json(), ensure_ascii=False))
    return 0


def cmd_prompts_build(args: argparse.Namespace, settings_loader: SettingsLoader) -> int:
    from callcenter.ivr.tts import build_prompts

    settings = settings_loader()
    return int(build_prompts(Path(settings.ivr.prompts_dir), force=args.force))
