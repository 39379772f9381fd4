"""How the service logs: read by ``log.py``, gathered into the settings by ``config.py``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class LoggingSettings:
    format: Literal["console", "json"] = "console"
    level: Literal["debug", "info", "warning", "error"] = "info"
    call_lines: bool = True  # one readable line per finished call
