"""A listening port that is taken, said as the setting to change instead of a traceback.

The composition roots (the service, the demo) start their listeners through ``listening``
with the name of the setting that chose the port; ``callcenter`` prints ``PortInUse`` as
one line and exits non-zero.
"""

from __future__ import annotations

import errno
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


class PortInUse(Exception):
    """``host:port`` is already taken by another program; ``setting`` chose it."""

    def __init__(self, setting: str, host: str, port: int) -> None:
        super().__init__(setting, host, port)
        self.setting, self.host, self.port = setting, host, port

    def __str__(self) -> str:
        env = (
            "CALLCENTER_"
            + self.setting.replace("[", ".").replace("]", "").replace(".", "__").upper()
        )
        return (
            f"callcenter: {self.host}:{self.port} is already in use: set {self.setting} "
            f"(or {env}) to a free port, or stop the program holding it / "
            f"端口 {self.port} 已被占用，请修改设置 {self.setting}"
        )


async def listening(setting: str, host: str, port: int, start: Awaitable[T]) -> T:
    """Await ``start`` (a server's bind); a port already in use raises ``PortInUse``."""
    try:
        return await start
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise PortInUse(setting, host, port) from None
        raise
