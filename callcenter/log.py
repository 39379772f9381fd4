"""Logging with structlog: JSON in production, readable console lines in development.

Small pure processors guard every line, whatever the renderer:
- ``SecretScrubber`` replaces secret-looking keys and any configured secret value;
- ``mask_phone_numbers`` keeps only the last four digits of phone numbers;
- ``redact_signed_links`` blanks the ``sig=`` and ``token=`` of a URL's query: a signed
  playback link is a credential until it expires.
Lines of libraries that use the standard logging module (aiohttp's access log and its log
of malformed requests, which quotes the request line) pass ``SignedLinkFilter``.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any, TextIO

import structlog

from callcenter.log_settings import LoggingSettings

SECRET_KEYS = frozenset(
    {"secret", "password", "passwd", "token", "authorization", "cookie", "api_key"}
)
PHONE_KEYS = frozenset(
    {"caller", "caller_number", "number", "phone", "src", "callerid", "connected_number"}
)
# A phone number in free text: 7+ digits, optionally with + - or spaces, but not a
# dotted Asterisk Uniqueid such as 1795731524.12 (digits glued to a dot are left alone).
_PHONE_IN_TEXT = re.compile(r"(?<![\w.])\+?\d(?:[\d -]{5,}\d)(?![\w.])")


# Values that are ids or times, never free text that could hold a phone number.
_NOT_TEXT = frozenset({"call_id", "channel_id", "timestamp", "at", "banner"})


# The value of a query parameter that authorises whoever holds the URL.
_SIGNED_QUERY = re.compile(r"(?i)(?<![A-Za-z0-9_])((?:sig|signature|token)=)[^&\s\"'#<>]+")


def redact_query(text: str) -> str:
    """``/recordings/play/a.wav?exp=1&sig=abc`` -> ``...&sig=***``."""
    return _SIGNED_QUERY.sub(r"\1***", text)


def redact_signed_links(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key, value in event_dict.items():
        if isinstance(value, str) and "=" in value:
            event_dict[key] = redact_query(value)
    return event_dict


class SignedLinkFilter(logging.Filter):
    """Redacts signed query parameters in a standard-library record, its message and its
    exception text alike (the exception of a malformed request quotes the request)."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_query(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_query(record.exc_text)
        return True


def mask_number(value: str) -> str:
    digits = [c for c in value if c.isdigit()]
    if len(digits) <= 4:
        return value
    return "***" + "".join(digits[-4:])


def mask_numbers_in(text: str) -> str:
    """Free text with every phone number in it cut to its last four digits."""
    return _PHONE_IN_TEXT.sub(lambda m: mask_number(m.group(0)), text)


def mask_phone_numbers(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key, value in event_dict.items():
        if not isinstance(value, str):
            continue
        if key in PHONE_KEYS:
            event_dict[key] = mask_number(value)
        elif key not in _NOT_TEXT:
            event_dict[key] = mask_numbers_in(value)
    return event_dict


class SecretScrubber:
    """Replace secret keys' values, and configured secret strings anywhere, by ``***``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets = tuple(s for s in secrets if s)

    def __call__(
        self, _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        for key, value in event_dict.items():
            if key.lower() in SECRET_KEYS:
                event_dict[key] = "***"
            elif self._secrets and isinstance(value, str):
                for secret in self._secrets:
                    if secret in value:
                        value = value.replace(secret, "***")
                event_dict[key] = value
        return event_dict


def configure_logging(
    settings: LoggingSettings, *, secrets: Iterable[str] = (), stream: TextIO | None = None
) -> None:
    out = stream or sys.stderr
    level = getattr(logging, settings.level.upper())
    renderer: Any
    if settings.format == "json":
        renderer = structlog.processors.JSONRenderer(ensure_ascii=False)
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=out.isatty())
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            SecretScrubber(secrets),
            redact_signed_links,
            mask_phone_numbers,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=False,
    )
    # Libraries that use the standard logging module end up on the same stream.
    logging.basicConfig(level=max(level, logging.WARNING), stream=out, force=True)
    guard = SignedLinkFilter()
    for handler in logging.getLogger().handlers:
        handler.addFilter(guard)
    for name in ("aiohttp.access", "aiohttp.server", "aiohttp.web"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, SignedLinkFilter) for f in logger.filters):
            logger.addFilter(guard)


def error_reason(exc: BaseException) -> str:
    """An error in one line, without SQL parameters or a driver's detail (they may hold
    phone numbers or passwords): the exception type and the first line of its message."""
    cause = getattr(exc, "orig", None) or exc
    lines = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {lines[0][:300] if lines else ''}"
