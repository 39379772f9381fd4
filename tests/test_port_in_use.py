"""A listening port already taken is said as the setting to change, in one line."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from callcenter.core.listen import PortInUse, listening

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def taken() -> Iterator[int]:
    """A port another program listens on."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield int(holder.getsockname()[1])


def callcenter(tmp_path: Path, *argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "CALLCENTER_DATABASE__URL": f"sqlite:///{tmp_path / 'cc.db'}",
                   "CALLCENTER_FASTAGI__PORT": "0", "CALLCENTER_WEB__PORT": "0", **env}  # fmt: skip
    return subprocess.run([sys.executable, "-m", "callcenter.cli", *argv], cwd=ROOT,
                          env=environment, capture_output=True, text=True, timeout=120,
                          check=False)  # fmt: skip


def said(done: subprocess.CompletedProcess[str], setting: str, env: str, port: int) -> None:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    (line,) = [x for x in done.stderr.splitlines() if "already in use" in x]
    assert f"127.0.0.1:{port} is already in use: set {setting} (or {env})" in line


@pytest.mark.parametrize(("variable", "setting"), [
    ("CALLCENTER_FASTAGI__PORT", "fastagi.port"),
    ("CALLCENTER_WEB__PORT", "web.port"),
])  # fmt: skip
def test_the_service_names_the_setting_of_a_taken_port(
    tmp_path: Path, taken: int, variable: str, setting: str
) -> None:
    said(callcenter(tmp_path, "run", **{variable: str(taken)}), setting, variable, taken)


def test_the_demo_names_the_simulators_ami_port(tmp_path: Path, taken: int) -> None:
    done = callcenter(tmp_path, "demo", "--speed", "100",
                      CALLCENTER_PBXES__0__AMI__PORT=str(taken))  # fmt: skip
    said(done, "pbxes[0].ami.port", "CALLCENTER_PBXES__0__AMI__PORT", taken)


async def test_listening_turns_only_a_taken_address_into_port_in_use(taken: int) -> None:
    async def serve(_r: asyncio.StreamReader, _w: asyncio.StreamWriter) -> None:
        return None

    with pytest.raises(PortInUse) as caught:
        await listening("fastagi.port", "127.0.0.1", taken,
                        asyncio.start_server(serve, "127.0.0.1", taken))  # fmt: skip
    assert caught.value.setting == "fastagi.port" and "端口" in str(caught.value)
    with pytest.raises(OSError) as other:  # not an address in use: as it was
        await listening("web.port", "192.0.2.1", 1, asyncio.start_server(serve, "192.0.2.1", 1))
    assert not isinstance(other.value, PortInUse)
