"""The error every settings check raises, wherever the settings are read."""

from __future__ import annotations


class ConfigError(ValueError):
    """A setting is missing, unknown or wrong; the message names where and why."""
