"""The ``callcenter`` command."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import importlib.util
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import fields
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from callcenter.config import Settings, load_settings
from callcenter.core.listen import PortInUse
from callcenter.core.redact import redact_url
from callcenter.core.settings_error import ConfigError
from callcenter.log import configure_logging

log = structlog.get_logger(__name__)

# Each feature adds its own commands: a module with ``register(subparsers)``, whose
# handlers are called ``func(args, settings_loader)``. The features do not read the
# settings file themselves: ``settings_loader()`` returns the settings this command loaded
# from ``--config`` (None: the default settings file), each feature typing the part it
# reads with a protocol in its own ``settings.py``.
FEATURE_COMMANDS = (
    "callcenter.ivr.cli",
    "callcenter.routing.cli",
    "callcenter.cti.cli",
    "callcenter.recordings.cli",
    "callcenter.metrics.cli",
)


SettingsLoader = Callable[[], Settings]


class _SettingsOnce:
    """Reads and validates the settings file on the first call, then returns the same
    settings; a command that needs none (``staffing calc``) never reads the file."""

    def __init__(self, path: str | Path | None) -> None:
        self._path = path
        self._settings: Settings | None = None

    def __call__(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self._path)
        return self._settings


if TYPE_CHECKING:
    from callcenter.cti.settings import CtiCommandsContext
    from callcenter.ivr.settings import IvrCommandsContext
    from callcenter.metrics.settings import MetricsCommandsContext
    from callcenter.recordings.settings import RecordingsCommandsContext
    from callcenter.routing.settings import RoutingCommandsContext

    def _settings_serve_every_feature(
        settings: Settings,
    ) -> tuple[
        CtiCommandsContext,
        IvrCommandsContext,
        MetricsCommandsContext,
        RecordingsCommandsContext,
        RoutingCommandsContext,
    ]:
        """Never called: mypy checks here that the settings offer what each feature's
        commands read."""
        return settings, settings, settings, settings, settings


def _configure(settings: Settings) -> None:
    configure_logging(
        settings.logging,
        secrets=[p.ami.secret for p in settings.pbxes],
    )


async def _run_until_signalled(settings: Settings) -> int:
    from callcenter.service import Service

    service = Service(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    with contextlib.suppress(NotImplementedError):
        loop.add_signal_handler(signal.SIGHUP, service.reload)
    await service.start()
    try:
        await stop.wait()
    finally:
        await service.stop()
    return 0


def cmd_run(args: argparse.Namespace, settings_loader: SettingsLoader) -> int:
    settings = settings_loader()
    _configure(settings)
    return asyncio.run(_run_until_signalled(settings))


def cmd_demo(args: argparse.Namespace, settings_loader: SettingsLoader) -> int:
    from callcenter.demo import DemoOptions, run_demo

    settings = settings_loader()
    _configure(settings)
    # each of the demo's flags stores into the DemoOptions field of its name
    options = DemoOptions(**{f.name: getattr(args, f.name) for f in fields(DemoOptions)})
    return asyncio.run(run_demo(settings, options))


def cmd_db_upgrade(args: argparse.Namespace, settings_loader: SettingsLoader) -> int:
    from callcenter.db import upgrade

    settings = settings_loader()
    _configure(settings)
    upgrade(settings.database.url)
    print(f"database at {redact_url(settings.database.url)} is up to date")
    return 0


def cmd_config_check(args: argparse.Namespace, settings_loader: SettingsLoader) -> int:
    settings = settings_loader()
    print(
        f"settings OK: time zone {settings.timezone}, {len(settings.pbxes)} PBX(es) "
        f"({', '.join(p.name for p in settings.pbxes)}), "
        f"line capacity {settings.targets.line_capacity}, "
        f"answer-rate target {settings.targets.answer_rate:.0%}, "
        f"database {redact_url(settings.database.url)}"
    )
    from callcenter.service import cdr_engine
    from callcenter.telephony.ami_tls import AmiTlsSettingsError, client_tls_context, describe_tls
    from callcenter.telephony.link import describe_durable_records

    for index, pbx in enumerate(settings.pbxes):
        try:
            client_tls_context(pbx.ami)  # the files load, as the link will load them
        except AmiTlsSettingsError as exc:
            raise ConfigError(f"pbxes.{index}.ami.{exc}") from None
        print(f"  {pbx.name}: {describe_tls(pbx.ami)}")
        for line in describe_durable_records(pbx, cdr_engine):
            print(f"  {pbx.name}: {line}")
    return 0


def _not_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _iso_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a day as YYYY-MM-DD, got {text!r}") from None


def _feature_present(module_name: str) -> bool:
    try:
        return importlib.util.find_spec(module_name) is not None
    except ModuleNotFoundError:  # the feature's package is not there at all
        return False


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="callcenter", description="Call-center telephony integration service for Asterisk."
    )
    parser.add_argument(
        "--config",
        default=None,
        help="settings file (default: $CALLCENTER_CONFIG or config/callcenter.yaml)",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the service against the configured PBX(es)")
    run.set_defaults(func=cmd_run)

    demo = commands.add_parser(
        "demo", help="run the service together with the built-in PBX simulator"
    )
    demo.add_argument(
        "--headless",
        action="store_true",
        help="no web; stop after --calls calls and print a JSON summary",
    )
    demo.add_argument(
        "--calls", type=int, default=None, help="calls to generate (default: settings)"
    )
    demo.add_argument("--seed", type=int, default=None, help="traffic seed (default: settings)")
    demo.add_argument("--speed", type=float, default=None, help="simulated seconds per real second")
    demo.add_argument(
        "--cuts", type=int, default=0, help="cut the AMI link this many times during the run"
    )
    demo.add_argument(
        "--plain",
        action="store_true",
        help="static queue members and the simulator's own menu (deterministic for a seed)",
    )
    demo.add_argument(
        "--timeout",
        dest="timeout_s",
        metavar="TIMEOUT",
        type=float,
        default=600.0,
        help="give up after this many real seconds",
    )
    demo.add_argument(
        "--lines", type=int, default=None, help="the simulated PBX's lines (default: settings)"
    )
    demo.add_argument(
        "--restarts",
        type=_not_negative,
        default=0,
        help="stop the service this many times during the run (gracefully, then as if "
        "killed, in turn) and start a new one on the same database",
    )
    demo.add_argument(
        "--topology",
        choices=("trunk", "local"),
        default="trunk",
        help="callers on a trunk channel, or through Local channel pairs with Local queue "
        "members (as FreePBX-style dialplans)",
    )
    demo.add_argument(
        "--cdr-layout",
        choices=("default", "newcdrcolumns", "linkedid"),
        default="linkedid",
        help="the simulated Master.csv: cdr_csv's default 18 columns, newcdrcolumns=yes, or "
        "a linkedid column (the default)",
    )
    demo.add_argument(
        "--cdr-db",
        dest="cdr_db_url",
        default="",
        metavar="URL",
        help="the simulated Asterisk also writes its CDRs into table 'cdr' at this database "
        "URL (as cdr_pgsql does), and the service reads them from there",
    )
    demo.add_argument(
        "--scenario",
        choices=("normal", "understaffed", "peak"),
        default="normal",
        help="the simulated day: as the staffing plan rosters it (normal), half the planned "
        "hotline agents (understaffed), or half as many calls again (peak)",
    )
    demo.add_argument(
        "--day",
        type=_iso_day,
        default=None,
        metavar="YYYY-MM-DD",
        help="the simulated day (default today): rosters, housekeepers' rotations and "
        "holidays follow it",
    )
    demo.set_defaults(func=cmd_demo)

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_upgrade = db_commands.add_parser("upgrade", help="apply the schema migrations")
    db_upgrade.set_defaults(func=cmd_db_upgrade)

    config = commands.add_parser("config", help="settings")
    config_commands = config.add_subparsers(dest="config_command", required=True)
    check = config_commands.add_parser("check", help="validate the settings and summarise them")
    check.set_defaults(func=cmd_config_check)
    for sub in (run, demo, db_upgrade, check):
        sub.add_argument("--config", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    for module_name in FEATURE_COMMANDS:
        if _feature_present(module_name):
            importlib.import_module(module_name).register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args, _SettingsOnce(args.config))
    except ConfigError as exc:
        print(f"callcenter: invalid settings\n{exc}", file=sys.stderr)
        return 2
    except PortInUse as exc:
        print(exc, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
