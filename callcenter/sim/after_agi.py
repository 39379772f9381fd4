"""Where the shipped dialplan sends a hotline call after its IVR session: the GotoIf lines
after ``AGI(${CALLCENTER_AGI}/hotline,...)`` in docker/asterisk/extensions.conf [hotline],
as a pure function (tests/test_deployment.py runs both on every case).

``status`` is AGISTATUS; ``route`` HOTLINE_ROUTE as the session left it; DIALSTATUS and
QUEUESTATUS tell whether an application the session ran had already served the caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Action = Literal["stop", "return", "voicemail", "queue", "fallback"]


@dataclass(frozen=True, slots=True)
class Next:
    """``stop``: res_agi returned -1 (AGISTATUS=HANGUP), the dialplan runs no further;
    ``return``: Return() ends the call; ``voicemail``: VoiceMail(${HOTLINE_MAILBOX},u);
    ``queue``: Queue(``queue``); ``fallback``: Queue(<the hotline's own queue>)."""

    action: Action
    queue: str = ""


def after_hotline_agi(status: str, route: str, dialstatus: str = "", queuestatus: str = "") -> Next:
    if status == "HANGUP":
        return Next("stop")
    if status != "SUCCESS":  # FAILURE (unreachable), NOTFOUND
        return Next("fallback")
    if route == "fallback":
        return Next("fallback")
    if route in ("hangup", "done"):
        return Next("return")
    if route == "voicemail":
        return Next("voicemail")
    if route:
        return Next("queue", route)
    # No route: the session ended without saying how (the service died). Inside an
    # application that had already connected the caller, the call is over; otherwise the
    # caller goes where an unreachable service would have sent them.
    if dialstatus == "ANSWER" or queuestatus == "CONTINUE":
        return Next("return")
    return Next("fallback")
