"""Accept errors are logged once per interval with their count, not once each.

When the process runs out of descriptors, asyncio reports every failed ``accept()`` of
every listening socket through the loop's exception handler ("socket.accept() out of
system resource"), each with a traceback: a flood of connections turns into hundreds of
megabytes of identical log lines, which then fill the disk too. ``AcceptErrorSummary``
(pure, the clock passed in) decides when to write one line; ``install`` puts it in front
of the loop's exception handler and leaves every other report to the handler before it.
"""

from __future__ import annotations

import asyncio
import errno
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import structlog

log = structlog.get_logger(__name__)

ACCEPT_ERROR_MESSAGE = "socket.accept() out of system resource"
RESOURCE_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


class AcceptErrorSummary:
    """The first error of a quiet spell is reported at once; the rest are counted and
    reported together when their interval is over (``due``), which starts the next one:
    however long the errors go on, one report per interval."""

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self._window_end: float | None = None
        self._held: Counter[str] = Counter()

    def record(self, error: str, now: float) -> dict[str, int]:
        """Note one error; what to report now (empty: it is counted for later)."""
        if self._window_end is None or now >= self._window_end:
            report = self.due(now)
            report[error] = report.get(error, 0) + 1
            self._window_end = now + self.interval_s
            return report
        self._held[error] += 1
        return {}

    def due(self, now: float) -> dict[str, int]:
        """The errors held back once their interval is over (empty before then)."""
        if self._window_end is not None and now < self._window_end:
            return {}
        report = dict(self._held)
        self._held.clear()
        if report:
            self._window_end = now + self.interval_s
        return report

    @property
    def next_due(self) -> float | None:
        """When ``due`` has something to report, if anything is held."""
        return self._window_end if self._held else None


def is_accept_error(context: dict[str, Any]) -> bool:
    """asyncio's report of a failed accept, or any report of the same exhaustion (out of
    descriptors, buffers or memory): those come in floods together, with one cause."""
    exc = context.get("exception")
    return context.get("message") == ACCEPT_ERROR_MESSAGE or (
        isinstance(exc, OSError) and exc.errno in RESOURCE_ERRNOS
    )


def install(
    loop: asyncio.AbstractEventLoop,
    *,
    interval_s: float = 10.0,
    clock: Callable[[], float] = time.monotonic,
) -> Callable[[], None]:
    """Put the summary in front of ``loop``'s exception handler; returns the undo."""
    summary = AcceptErrorSummary(interval_s)
    before = loop.get_exception_handler()

    def report(counts: dict[str, int]) -> None:
        for error, count in sorted(counts.items()):
            log.error("connections not accepted: out of descriptors or memory", error=error,
                      count=count, interval_s=interval_s)  # fmt: skip

    timer: asyncio.TimerHandle | None = None

    def flush() -> None:
        nonlocal timer
        timer = None
        report(summary.due(clock()))
        schedule()

    def schedule() -> None:
        # What an interval holds back is written when it ends, even if all is quiet then.
        nonlocal timer
        due_at = summary.next_due
        if due_at is not None and timer is None:
            timer = loop.call_later(max(0.0, due_at - clock()), flush)

    def handle(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if not is_accept_error(context):
            if before is not None:
                before(loop, context)
            else:
                loop.default_exception_handler(context)
            return
        what = f"{context.get('message', '')}: {_error_name(context.get('exception'))}"
        report(summary.record(what, clock()))
        schedule()

    loop.set_exception_handler(handle)

    def undo() -> None:
        if timer is not None:
            timer.cancel()
        if loop.get_exception_handler() is handle:
            loop.set_exception_handler(before)

    return undo


def _error_name(exc: object) -> str:
    if isinstance(exc, OSError) and exc.errno:
        return errno.errorcode.get(exc.errno, str(exc.errno))
    return type(exc).__name__ if exc is not None else "unknown"
