"""What the fault tests share: the service as a child process (so it can be killed with
SIGKILL and started again), its settings file, a private PostgreSQL server that a test may
stop and start, and the reconciliation every fault test ends with."""

from __future__ import annotations

import asyncio
import contextlib
import glob
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import yaml
from store_fixtures import free_port, require_service

from callcenter.calls.store import CallStore
from callcenter.db import create_engine_for
from callcenter.demo_check import reconcile_store
from callcenter.recordings.scanner import scan
from callcenter.recordings.store import RecordingStore
from callcenter.sim import PbxSimulator

ROOT = Path(__file__).resolve().parent.parent
PBX_NAME = "main"


async def until(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


def calls_in_progress(pbx: PbxSimulator) -> set[str]:
    """Calls waiting in a queue or talking to an agent right now."""
    return {cid for cid, call in pbx.pbx.calls.items() if call.stage in ("queue", "talk")}


# --- the service as a child process -----------------------------------------------------


def write_settings(
    path: Path,
    pbx: PbxSimulator,
    *,
    database_url: str,
    recordings_root: Path,
    fastagi_port: int = 0,
    ivr_dir: Path | None = None,
) -> Path:
    """A settings file for ``callcenter run`` against a running simulator: its AMI port and
    durable records, ephemeral ports (FastAGI on ``fastagi_port`` when the simulator's
    calls go through it: it must stay the same across restarts), JSON logs, no
    roster-managed queues."""
    settings = {
        "timezone": pbx.config.timezone,
        "pbxes": [
            {
                "name": PBX_NAME,
                "ami": {
                    "host": "127.0.0.1",
                    "port": pbx.ami_port,
                    "username": pbx.config.username,
                    "secret": pbx.config.secret,
                    "ping_interval_s": 1,
                    "ping_timeout_s": 1,
                    "backoff_initial_s": 0.05,
                    "backoff_max_s": 0.5,
                },
                "queue_log": str(pbx.queue_log_path),
                "cdr_csv": str(pbx.cdr_path),
            }
        ],
        "database": {"url": database_url},
        "web": {"host": "127.0.0.1", "port": 0},
        "fastagi": {"host": "127.0.0.1", "port": fastagi_port},
        "logging": {"format": "json", "level": "info", "call_lines": False},
        # No seats directory: the simulator's static members stay as they are.
        "routing": {"agents_file": str(path.parent / "no-agents.yaml")},
        "recordings": {"root": str(recordings_root), "cache_dir": str(path.parent / "cache")},
    }
    if ivr_dir is not None:
        settings["ivr_dir"] = str(ivr_dir)
    path.write_text(yaml.safe_dump(settings), encoding="utf-8")
    return path


class ServiceProcess:
    """``callcenter --config PATH run`` in a child process; its JSON log lines are kept."""

    def __init__(self, config: Path) -> None:
        self.config = config
        self.logs: list[dict[str, Any]] = []
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()

    async def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CALLCENTER_")}
        command = Path(sys.executable).parent / "callcenter"
        self._process = await asyncio.create_subprocess_exec(
            str(command), "--config", str(self.config), "run",
            cwd=ROOT, env=env, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        self._reader = asyncio.get_running_loop().create_task(self._read(self._process))

    async def _read(self, process: asyncio.subprocess.Process) -> None:
        assert process.stderr is not None
        while line := await process.stderr.readline():
            text = line.decode("utf-8", "replace").strip()
            try:
                entry = json.loads(text)
            except ValueError:
                entry = {"event": text}
            self.logs.append(entry if isinstance(entry, dict) else {"event": text})
            self._changed.set()

    def count(self, event: str) -> int:
        return sum(1 for entry in self.logs if entry.get("event") == event)

    async def wait_for(self, event: str, count: int = 1, timeout: float = 60.0) -> None:
        """Until the log has shown ``event`` ``count`` times in all (across restarts)."""
        deadline = time.monotonic() + timeout
        while self.count(event) < count:
            if self._process is not None and self._process.returncode is not None:
                raise AssertionError(f"service exited ({self._process.returncode}): {self.tail()}")
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {event!r} x{count} within {timeout} s: {self.tail()}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(left, 0.5))

    def tail(self, lines: int = 15) -> str:
        return "\n".join(json.dumps(entry, ensure_ascii=False) for entry in self.logs[-lines:])

    async def kill(self) -> None:
        """SIGKILL: no shutdown, no last flush, exactly like a crash or the OOM killer."""
        assert self._process is not None
        self._process.send_signal(signal.SIGKILL)
        await self._ended()

    async def stop(self, timeout: float = 60.0) -> int:
        """SIGTERM and wait (the service flushes and closes)."""
        if self._process is None or self._process.returncode is not None:
            return self._process.returncode if self._process is not None else 0
        self._process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self._process.wait(), timeout)
        except TimeoutError:
            self._process.kill()
        return await self._ended()

    async def _ended(self) -> int:
        assert self._process is not None
        code = await self._process.wait()
        if self._reader is not None:
            await self._reader
        return code


# --- reconciliation -----------------------------------------------------------------------


async def wait_stored(database_url: str, calls: int, timeout: float = 60.0) -> None:
    """Until the database holds at least ``calls`` calls of the PBX."""
    engine = create_engine_for(database_url)
    store = CallStore(engine)
    deadline = time.monotonic() + timeout
    try:
        while (stored := await asyncio.to_thread(store.count_calls, pbx=PBX_NAME)) < calls:
            if time.monotonic() > deadline:
                raise AssertionError(f"{stored} of {calls} calls stored after {timeout} s")
            await asyncio.sleep(0.2)
    finally:
        engine.dispose()


async def reconcile(database_url: str, pbx: PbxSimulator) -> dict[str, Any]:
    """The stored calls against the simulator's queue_log, CDR and its own account. When
    the simulator wrote MixMonitor's files, they are indexed first (as the service's own
    scan would, every few seconds), so calls recorded unseen are known by their files."""
    engine = create_engine_for(database_url)
    files = pbx.config.recordings_dir
    try:
        if files is not None:
            await asyncio.to_thread(scan, Path(files), RecordingStore(engine), settle_s=0.0)
        return await reconcile_store(
            CallStore(engine),
            pbx=PBX_NAME,
            zone=ZoneInfo(pbx.config.timezone),
            short_abandon_s=pbx.config.short_abandon_s,
            truth=list(pbx.finished),
            generated=pbx.generated,
            records_dir=Path(pbx.config.records_dir),
            recordings=files is not None,
        )
    finally:
        engine.dispose()


def assert_exact(summary: dict[str, Any], calls: int) -> None:
    """0 lost, 0 counted twice, every record as the PBX's own records say."""
    assert summary["generated"] == calls, summary
    assert summary["lost"] == 0, summary
    assert summary["duplicated"] == 0, summary
    assert summary["recorded"] == calls, summary
    assert summary["missing"] == 0, summary
    assert summary["unexpected"] == 0, summary
    assert summary["mismatches"] == 0, summary
    assert summary["truth_mismatches"] == 0, summary
    assert summary["phantoms"] == 0, summary  # no agent's leg made a call of its own
    assert summary["report_equal"], summary  # the report says what queue_log says


# --- a tiny filesystem ----------------------------------------------------------------------


@contextlib.contextmanager
def tiny_filesystem(path: Path, size: str = "256k") -> Iterator[Path]:
    """A tmpfs of ``size`` mounted at ``path`` (needs root), unmounted afterwards; skipped
    with the reason (failed under CALLCENTER_REQUIRE_SERVICES=1) when mounting is refused."""
    path.mkdir(parents=True, exist_ok=True)

    def mount() -> None:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path)],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        if done.returncode != 0:
            raise PermissionError(done.stderr.strip() or f"mount exited {done.returncode}")

    require_service(f"a {size} tmpfs (mount -t tmpfs)", mount)
    try:
        yield path
    finally:
        subprocess.run(["umount", str(path)], capture_output=True, timeout=30)


def fill(folder: Path) -> None:
    """Take every free byte of ``folder``'s filesystem."""
    with contextlib.suppress(OSError), open(folder / "filler", "wb", buffering=0) as handle:
        while True:
            handle.write(b"\0" * 4096)


# --- a private PostgreSQL -----------------------------------------------------------------


class PrivatePostgres:
    """A throwaway PostgreSQL cluster on a free port, owned by the ``postgres`` user when
    the tests run as root (initdb refuses root). ``stop()`` / ``start()`` at will."""

    def __init__(self, bindir: Path, base: Path) -> None:
        self.bindir = bindir
        self.base = base
        self.data = base / "data"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        self._owner = "postgres" if os.geteuid() == 0 else ""

    def _run(self, *command: str) -> None:
        binary = str(self.bindir / command[0])
        argv = [binary, *command[1:]]
        if self._owner:
            argv = ["runuser", "-u", self._owner, "--", *argv]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{command[0]} failed: {done.stdout}{done.stderr}")

    def init(self) -> None:
        if self._owner:
            user = pwd.getpwnam(self._owner)
            os.chown(self.base, user.pw_uid, user.pw_gid)
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c full_page_writes=off"
        )
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l",
                  str(self.base / "server.log"), "-w", "-t", "60", "start")  # fmt: skip
        psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", connect_timeout=5
        ).close()

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")


def _postgres_bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise FileNotFoundError("no /usr/lib/postgresql/*/bin/initdb")
    bindir = Path(found[-1]).parent
    if os.geteuid() == 0:
        pwd.getpwnam("postgres")  # KeyError: no user to own the cluster
        if shutil.which("runuser") is None:
            raise FileNotFoundError("runuser, needed to run initdb as postgres")
    return bindir


@contextlib.contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """A running private cluster, removed afterwards (skipped, or failed under
    CALLCENTER_REQUIRE_SERVICES=1, when the PostgreSQL server binaries are absent)."""
    bindir: list[Path] = []
    require_service(
        "PostgreSQL server binaries (initdb, pg_ctl)", lambda: bindir.append(_postgres_bindir())
    )
    # Not under pytest's tmp_path: its 0700 parents would keep the postgres user out.
    base = Path(tempfile.mkdtemp(prefix="cc-pg-"))
    server = PrivatePostgres(bindir[0], base)
    try:
        server.init()
        server.start()
        yield server
    finally:
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            server.stop()
        shutil.rmtree(base, ignore_errors=True)
