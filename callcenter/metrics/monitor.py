"""Live monitoring (pure): the AMI Originate that rings a supervisor's phone into ChanSpy.

ChanSpy's option letters (apps/app_chanspy.c): ``q`` no beep and no channel-name
announcement, ``w`` whisper (the supervisor talks to the agent only), ``B`` barge (the
supervisor talks to both parties), ``E`` hang up the supervisor's leg when the spied-on
channel hangs up (otherwise ChanSpy goes on to the next channel with the same prefix).
The spied-on argument is the agent's interface used as a channel-name prefix: channel
``PJSIP/1001-0000002a`` is the seat ``PJSIP/1001``'s current call. The phone rung is one
of the seats the routing directory knows, never a dial string.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "MODES",
    "MonitorError",
    "MonitorRequest",
    "chanspy_originate",
    "check_phone_is_seat",
    "parse_request",
]

Mode = Literal["listen", "whisper", "barge"]
MODES: dict[str, str] = {"listen": "qE", "whisper": "qwE", "barge": "qBE"}
# A seat interface: technology/resource, nothing that could split ChanSpy's arguments
# or an AMI header (commas, pipes, newlines...).
_INTERFACE = re.compile(r"^[A-Za-z][A-Za-z0-9]{1,15}/[A-Za-z0-9_.@+-]{1,64}$")
ORIGINATE_TIMEOUT_MS = 30000


class MonitorError(ValueError):
    """A request that cannot be placed; ``zh`` and ``en`` name the problem."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(f"{zh} / {en}")
        self.zh, self.en = zh, en


@dataclass(frozen=True)
class MonitorRequest:
    agent_interface: str  # the seat listened to, e.g. PJSIP/1001
    mode: Mode
    phone: str  # the supervisor's own phone, e.g. PJSIP/1009


def parse_request(body: dict[str, object], default_phone: str = "") -> MonitorRequest:
    """Check a POST /api/monitor body: ``interface``, ``mode``, ``phone`` (else the
    supervisor's own seat)."""
    agent = str(body.get("interface", "")).strip()
    mode = str(body.get("mode", "")).strip()
    phone = str(body.get("phone", "") or default_phone).strip()
    if mode not in MODES:
        raise MonitorError(
            "mode 应为 listen、whisper 或 barge", "mode must be listen, whisper or barge"
        )
    if not _INTERFACE.match(agent):
        raise MonitorError(
            f"坐席分机格式不对：{agent[:40]!r}（例如 PJSIP/1001）",
            f"interface is not a phone like PJSIP/1001: {agent[:40]!r}",
        )
    if not phone:
        raise MonitorError(
            "请填写您的话机（例如 PJSIP/1009）",
            "phone is required (your own phone, e.g. PJSIP/1009)",
        )
    if not _INTERFACE.match(phone):
        raise MonitorError(
            f"话机格式不对：{phone[:40]!r}（例如 PJSIP/1009）",
            f"phone is not a phone like PJSIP/1009: {phone[:40]!r}",
        )
    if phone == agent:
        raise MonitorError("不能监听自己的话机", "you cannot monitor your own phone")
    return MonitorRequest(agent, mode, phone)  # type: ignore[arg-type]


def check_phone_is_seat(request: MonitorRequest, seats: Collection[str]) -> None:
    """The supervisor's phone must be a seat the routing directory knows: the Originate
    rings whatever ``Channel`` says, and a dial string through a trunk
    (``PJSIP/13800138000@trunk``) would put an outside number on the agent's call."""
    if request.phone in seats:
        return
    known = ", ".join(sorted(seats)[:20]) or "-"
    raise MonitorError(
        f"话机 {request.phone[:40]!r} 不是已配置的坐席，请从坐席中选择：{known}",
        f"phone {request.phone[:40]!r} is not a configured seat; pick one of: {known}",
    )


def chanspy_originate(
    request: MonitorRequest, caller_id: str, action_id: str = ""
) -> dict[str, str]:
    """The Originate action: ring ``phone``; once answered it runs ChanSpy on the seat."""
    fields = {
        "Action": "Originate",
        "Channel": request.phone,
        "Application": "ChanSpy",
        "Data": f"{request.agent_interface},{MODES[request.mode]}",
        "CallerID": caller_id,
        "Async": "true",
        "Timeout": str(ORIGINATE_TIMEOUT_MS),
    }
    if action_id:
        fields["ActionID"] = action_id
    return fields
