"""The recordings settings: where MixMonitor writes, playback links, retention, QA criteria."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field
from typing import Protocol

from callcenter.core.contracts import DatabaseAddress
from callcenter.core.settings_checks import not_negative, positive


@dataclass(frozen=True)
class QaCriterion:
    """One thing a supervisor scores a recorded call on (质检项)."""

    key: str = ""
    name_zh: str = ""
    name_en: str = ""
    max_points: int = 10

    def check(self) -> dict[str, str]:
        problems = {}
        if not self.key or not self.key.replace("_", "").isalnum():
            problems["key"] = f"must be letters, digits or '_', got {self.key!r}"
        if not 1 <= self.max_points <= 100:
            problems["max_points"] = f"must be between 1 and 100, got {self.max_points}"
        return problems


def _default_qa_criteria() -> list[QaCriterion]:
    return [
        QaCriterion("greeting", "开场问候", "Greeting", 10),
        QaCriterion("accuracy", "信息准确", "Accuracy", 10),
        QaCriterion("courtesy", "服务礼貌", "Courtesy", 10),
        QaCriterion("resolution", "问题解决", "Resolution", 10),
    ]


@dataclass(frozen=True)
class RecordingsSettings:
    """Call recordings: where MixMonitor writes, playback links, retention, QA criteria."""

    root: str = ""  # empty: the top-level recordings_dir
    cache_dir: str = "var/recordings-cache"  # transcoded copies for the browser
    link_secret: str = ""  # signs playback links; empty: a random one per process
    link_lifetime_s: float = 300.0
    default_retention_days: int = 365  # 0: keep forever
    retention_days: dict[str, int] = field(default_factory=dict)  # queue -> days
    late_grace_s: float = 600.0  # a recorded call without a file is an orphan after this
    watch_interval_s: float = 5.0
    settle_s: float = 2.0  # a file changed more recently may still be being written
    qa_criteria: list[QaCriterion] = field(default_factory=_default_qa_criteria)

    def __repr__(self) -> str:  # the link secret never reaches a log line
        return f"RecordingsSettings(root={self.root!r}, cache_dir={self.cache_dir!r})"

    def check(self) -> dict[str, str]:
        problems = {}
        if self.link_secret and len(self.link_secret) < 16:
            problems["link_secret"] = "must be at least 16 characters (or empty for a random one)"
        problems.update(positive(self, "link_lifetime_s", "watch_interval_s"))
        problems.update(not_negative(self, "late_grace_s", "settle_s"))
        if self.default_retention_days < 0:
            problems["default_retention_days"] = "must not be negative (0 keeps forever)"
        for queue, days in self.retention_days.items():
            if days < 0:
                problems[f"retention_days.{queue}"] = "must not be negative (0 keeps forever)"
        keys = [c.key for c in self.qa_criteria]
        if len(set(keys)) != len(keys):
            problems["qa_criteria"] = f"criterion keys must be unique, got {keys}"
        return problems


class RecordingsContext(Protocol):
    """What the recordings read of the service's settings (``callcenter.config.Settings``)."""

    @property
    def recordings(self) -> RecordingsSettings: ...

    @property
    def recordings_dir(self) -> str: ...

    @property
    def zone(self) -> zoneinfo.ZoneInfo: ...


class RecordingsCommandsContext(RecordingsContext, Protocol):
    """What the ``recordings`` commands read of the service's settings."""

    @property
    def database(self) -> DatabaseAddress: ...
