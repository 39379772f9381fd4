"""The IVR settings: the flows as served over FastAGI."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

from callcenter.core.contracts import HasZone
from callcenter.core.settings_checks import positive


@dataclass(frozen=True)
class IvrSettings:
    """IVR flows (``ivr_dir``) as served over FastAGI."""

    queues: list[str] = field(default_factory=lambda: ["support", "repair", "complaint"])
    prompts_dir: str = "ivr_flows/prompts"
    sound_prefix: str = "callcenter"  # STREAM FILE callcenter/zh/welcome
    check_audio: bool = False  # refuse flows whose prompt audio is missing
    header_timeout_s: float = 5.0
    lookup_timeout_s: float = 1.0
    default_flow: str = "hotline"  # for a dialled number missing from ``hotlines``
    # dialplan: queues are handed to the dialplan (Queue + AGI .../survey after it);
    # exec: EXEC Queue inside the AGI, which then runs the survey itself
    queue_mode: Literal["dialplan", "exec"] = "dialplan"

    def check(self) -> dict[str, str]:
        return positive(self, "header_timeout_s", "lookup_timeout_s")


class FlowsContext(Protocol):
    """What the flow registry reads of the service's settings (``callcenter.config.Settings``)."""

    @property
    def ivr(self) -> IvrSettings: ...

    @property
    def ivr_dir(self) -> str: ...

    @property
    def hotlines(self) -> Mapping[str, str]: ...


class IvrCommandsContext(FlowsContext, HasZone, Protocol):
    """What the ``ivr`` and ``prompts`` commands read of the service's settings."""
