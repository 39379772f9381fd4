"""Commands: ``callcenter owners import FILE``, ``callcenter users add|list`` and
``callcenter tokens create|list|revoke`` (API tokens for other systems)."""

from __future__ import annotations

import argparse
import getpass
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from callcenter.core.redact import redact_url
from callcenter.cti.accounts import AccountError, AccountStore, default_agent_name
from callcenter.cti.importer import ImportFileError, load_mapping, parse_rows, read_table
from callcenter.cti.owners import OwnerRepository
from callcenter.cti.settings import CtiCommandsContext
from callcenter.cti.tokens import SCOPES, TokenError, TokenStore
from callcenter.db import create_engine_for, upgrade
from callcenter.web.security import ROLES

# The settings arrive from the ``callcenter`` command, which reads and validates the
# file on the first call (a command that needs none never reads it).
SettingsLoader = Callable[[], CtiCommandsContext]


class ProgressBar:
    """``[#####-----]  50%  5000/10000`` redrawn in place; silent when not on a terminal."""

    def __init__(self, label: str, stream: TextIO = sys.stderr, width: int = 30) -> None:
        self.label = label
        self.stream = stream
        self.width = width
        self.enabled = stream.isatty()
        self._last = 0.0

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total <= 0:
            return
        now = time.monotonic()
        if done < total and now - self._last < 0.1:
            return
        self._last = now
        filled = self.width * done // total
        bar = "#" * filled + "-" * (self.width - filled)
        self.stream.write(f"\r{self.label} [{bar}] {done * 100 // total:3d}%  {done}/{total}")
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()


def cmd_owners_import(args: argparse.Namespace, settings_loader: SettingsLoader) -> int:
    settings = settings_loader()
    path = Path(args.file)
    try:
        mapping = load_mapping(Path(args.mapping) if args.mapping else None)
        header, rows = read_table(path)
        parsed = parse_rows(header, rows, mapping, default_area_code=settings.cti.default_area_code)
    except ImportFileError as exc:
        print(f"callcenter: {exc}", file=sys.stderr)
        return 2
    if parsed.problems:
        for problem in parsed.problems:
            print(f"{path}: {problem}")
        print(
            f"{len(parsed.problems)} problem(s) in {parsed.rows} row(s); nothing was imported "
            "(发现问题，未导入任何数据)",
        )
        return 1
    engine = create_engine_for(settings.database.url)
    try:
        upgrade(engine)
        repository = OwnerRepository(engine)
        if args.dry_run:
            known = repository.codes()
            updated = sum(1 for r in parsed.records if r.code in known)
            print(
                f"dry run: {parsed.rows} row(s) OK; would create {len(parsed.records) - updated} "
                f"and update {updated} owner(s) in {redact_url(settings.database.url)}"
            )
            return 0
        counts, _ids = repository.import_owners(parsed.records, ProgressBar("writing"))
    finally:
        engine.dispose()
    print(
        f"imported {parsed.rows} row(s): {counts.created} owner(s) created, "
        f"{counts.updated} updated (导入完成)"
    )
    return 0


def _read_password(confirm: bool) -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("密码 / password: ")
    if confirm and getpass.getpass("再次输入 / again: ") != first:
        raise AccountError("the two passwords differ")
    return first


def cmd_users_add(args: argparse.Namespace, settings_loader: SettingsLoader) -> int:
    settings = settings_loader()
    engine = create_engine_for(settings.database.url)
    try:
        upgrade(engine)
        store = AccountStore(engine)
        password = _read_password(confirm=True)
        user = store.add_user(
            args.login,
            args.role,
            password,
            display_name=args.name or args.login,
            agent=args.agent or default_agent_name(args.interface or ""),
            interface=args.interface or "",
        )
    except AccountError as exc:
        print(f"callcenter: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    seat = f" at {user.interface}" if user.interface else ""
    print(f"user {user.login} ({user.role}){seat} added")
    return 0


def cmd_users_list(args: argparse.Namespace, settings_loader: SettingsLoader) -> int:
    settings = settings_loader()
    engine = create_engine_for(settings.database.url)
    try:
        upgrade(engine)
        for user in AccountStore(engine).list_users():
            print(f"{user.login}\t{user.role}\t{user.interface or '-'}\t{user.display_name}")
    finally:
        engine.dispose()
    return 0


def _with_tokens(settings_loader: SettingsLoader, work: Callable[[TokenStore], int]) -> int:
    settings = settings_loader()
    engine = create_engine_for(settings.database.url)
    try:
        upgrade(engine)
        return work(TokenStore(engine))
    except TokenError as exc:
        print(f"callcenter: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()


def cmd_tokens_create(args: argparse.Namespace, settings_loader: SettingsLoader) -> int:
    def create(store: TokenStore) -> int:
        days = args.expires_days
        token, made = store.create(
            args.name,
            args.role,
            args.scope or ["read"],
            created_by="cli",
            lifetime_s=None if days is None else days * 86400.0,
        )
        print(token)  # alone on stdout: T=$(callcenter tokens create ...) keeps just it
        print(
            f"token {made.name} ({made.role}, {' '.join(made.scopes)}) created; it is shown "
            "only now (令牌只显示这一次)",
            file=sys.stderr,
        )
        return 0

    return _with_tokens(settings_loader, create)


def cmd_tokens_list(args: argparse.Namespace, settings_loader: SettingsLoader) -> int:
    def listing(store: TokenStore) -> int:
        for t in store.list():
            state = "revoked" if t.revoked_at is not None else "active"
            print(f"{t.id}\t{t.name}\t{t.role}\t{','.join(t.scopes)}\t{t.hint}…\t{state}")
        return 0

    return _with_tokens(settings_loader, listing)


def cmd_tokens_revoke(args: argparse.Namespace, settings_loader: SettingsLoader) -> int:
    def revoke(store: TokenStore) -> int:
        revoked = store.revoke(args.token)
        print(f"token {revoked.name} revoked")
        return 0

    return _with_tokens(settings_loader, revoke)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    owners = subparsers.add_parser("owners", help="owners (业主) and their numbers")
    owner_commands = owners.add_subparsers(dest="owners_command", required=True)
    importing = owner_commands.add_parser(
        "import", help="import owners from a .csv or .xlsx file (all rows or none)"
    )
    importing.add_argument("file", help="the .csv (UTF-8 or GB18030) or .xlsx file")
    importing.add_argument(
        "--mapping", help="YAML file 'field: column header' (fields: code, name, phones, ...)"
    )
    importing.add_argument(
        "--dry-run", action="store_true", help="validate and count, write nothing"
    )
    importing.set_defaults(func=cmd_owners_import)

    users = subparsers.add_parser("users", help="people who sign in")
    user_commands = users.add_subparsers(dest="users_command", required=True)
    add = user_commands.add_parser(
        "add", help="add a user; the password is asked for (or read from stdin)"
    )
    add.add_argument("login")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--name", help="display name")
    add.add_argument("--interface", help="the seat phone, e.g. PJSIP/1001 (agents)")
    add.add_argument("--agent", help="queue member name (default: 'Agent <extension>')")
    add.set_defaults(func=cmd_users_add)
    listing = user_commands.add_parser("list", help="list users")
    listing.set_defaults(func=cmd_users_list)
    tokens = subparsers.add_parser("tokens", help="API tokens for other systems (CRM, BI)")
    token_commands = tokens.add_subparsers(dest="tokens_command", required=True)
    create = token_commands.add_parser(
        "create", help="make a token and print it (only this once; only its hash is kept)"
    )
    create.add_argument("--name", required=True, help="who uses it, e.g. bi or crm")
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument(
        "--scope", action="append", choices=SCOPES, help="read (default) and/or write; repeat"
    )
    create.add_argument("--expires-days", type=float, help="valid this many days (default: ever)")
    create.set_defaults(func=cmd_tokens_create)
    token_list = token_commands.add_parser("list", help="list tokens (never the tokens)")
    token_list.set_defaults(func=cmd_tokens_list)
    revoke = token_commands.add_parser("revoke", help="revoke a token: its next request gets 401")
    revoke.add_argument("token", help="the token's name or id")
    revoke.set_defaults(func=cmd_tokens_revoke)
    for sub in (importing, add, listing, create, token_list, revoke):
        sub.add_argument("--config", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
