"""Redis for the tests: the shared server (with a key prefix of the test's own), or a
private ``redis-server`` on a free port that a test can stop and start again."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import redis
from store_fixtures import free_port, require_service

REDIS_HOST = os.environ.get("CALLCENTER_TEST_REDIS_HOST", "127.0.0.1")
REDIS_PORT = int(os.environ.get("CALLCENTER_TEST_REDIS_PORT", "6379"))


def require_redis() -> str:
    url = f"redis://{REDIS_HOST}:{REDIS_PORT}/0"

    def probe() -> None:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()

    require_service(f"Redis at {REDIS_HOST}:{REDIS_PORT}", probe)
    return url


@contextlib.contextmanager
def shared_prefix(url: str) -> Iterator[str]:
    """A key prefix no other test uses; its keys are deleted afterwards."""
    prefix = f"cc-test-{secrets.token_hex(5)}"
    try:
        yield prefix
    finally:
        client = redis.Redis.from_url(url)
        keys = list(client.scan_iter(f"{prefix}:*"))
        if keys:
            client.delete(*keys)
        client.close()


class PrivateRedis:
    """A throwaway redis-server without persistence: a restart loses everything, which is
    the hardest case for catching up."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("redis-server")
        require_service("redis-server binary", lambda: binary or _missing("redis-server"))
        self.binary = str(binary)
        self.workdir = workdir
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 60  # bounds a hang only: a busy machine starts slowly
        while time.monotonic() < deadline:
            try:
                redis.Redis(port=self.port, socket_connect_timeout=1.0).ping()
                return
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait(timeout=10)
            self._process = None


def _missing(name: str) -> None:
    raise FileNotFoundError(f"{name} is not installed")
