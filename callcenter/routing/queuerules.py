"""queuerules.conf for the preference window, written from the routing settings.

A zone's caller joins its queue with ``QUEUE_MAX_PENALTY`` = ``ZONE_PENALTY`` (the zone's
own agents; ``decisions.py``). The queue's ``defaultrule`` is this rule: once the caller
has waited ``preference_window_s`` it raises the limit to ``OPEN_PENALTY``, so every
member of the queue may take them, and the caller keeps their place (app_queue's
update_qe_rule). A caller joining without ``QUEUE_MAX_PENALTY`` (a VIP, a zone with nobody
of its own on duty, the dialplan's fallback) is offered to every member at once; the rule
moves only a limit that was set. Asterisk reads the file at start and on
``queue reload rules``; a caller follows the rules of the moment they joined.
"""

from __future__ import annotations

import math

# Every member a queue has: penalties above this stay out even after the window (a
# "reserve" tier, offered only to callers without a limit).
OPEN_PENALTY = 99


def rule_seconds(window_s: float) -> int:
    """app_queue counts whole seconds: a window of 7.5 s starts the widening at 8 s."""
    return max(0, math.ceil(window_s))


def queuerules_text(rule: str, window_s: float) -> str:
    seconds = rule_seconds(window_s)
    return (
        "; Penalty rules for the callcenter service (docs/routing.md, docs/deployment.md).\n"
        "; Written by `callcenter roster queuerules` from routing.preference_window_s and\n"
        '; routing.preference_rule; reload with `asterisk -rx "queue reload rules"`.\n'
        ";\n"
        f"; [{rule}] is the zone queues' defaultrule (queues.conf). A caller the service\n"
        "; routes there joins with QUEUE_MAX_PENALTY=0: the zone's own agents (penalty 0)\n"
        f"; alone for {seconds} s, then every member up to penalty {OPEN_PENALTY}, keeping\n"
        "; their place in the queue.\n"
        "\n"
        "[general]\n"
        "\n"
        f"[{rule}]\n"
        f"penaltychange => {seconds},{OPEN_PENALTY}\n"
    )
