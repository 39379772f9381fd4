"""Reach the real PostgreSQL and Redis the tests use, or skip (fail under CI) with the reason."""

from __future__ import annotations

import os
import socket

import pytest

PG_HOST, PG_PORT = "127.0.0.1", 5432
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
PG_URL = os.environ.get(
    "CALLCENTER_TEST_PG_URL", f"postgresql+psycopg://postgres@{PG_HOST}:{PG_PORT}/test"
)
REDIS_URL = f"redis://{REDIS_HOST}:{REDIS_PORT}/0"


def services_required() -> bool:
    return os.environ.get("CALLCENTER_REQUIRE_SERVICES") == "1"


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def require(name: str, host: str, port: int) -> None:
    if _reachable(host, port):
        return
    reason = f"{name} is not reachable on {host}:{port}"
    if services_required():
        pytest.fail(f"{reason} (CALLCENTER_REQUIRE_SERVICES=1)")
    pytest.skip(reason)


def require_postgres() -> str:
    require("PostgreSQL", PG_HOST, PG_PORT)
    return PG_URL


def require_redis() -> str:
    require("Redis", REDIS_HOST, REDIS_PORT)
    return REDIS_URL
