"""What an IVR session tells the dialplan when it ends: the channel variable ``HOTLINE_ROUTE``.

Every session that ends on purpose sets it (docs/decisions/0019-explicit-ivr-end.md):

- a queue name: the dialplan queues the caller there;
- ``hangup``: the flow ended the call (its goodbye), the dialplan ends it too;
- ``done``: an application the session ran (Dial, Queue) already served the caller;
- ``voicemail``: the dialplan runs ``VoiceMail(${HOTLINE_MAILBOX},u)``;
- ``fallback``: the session could not finish (the service is stopping, the flow is
  broken): the dialplan's own fallback, as when the service cannot be reached.

A session that ends without setting it (the service died) leaves it empty, which the
dialplan treats exactly like ``fallback``. No queue may therefore carry a reserved name.
"""

from __future__ import annotations

ROUTE_VARIABLE = "HOTLINE_ROUTE"
MAILBOX_VARIABLE = "HOTLINE_MAILBOX"

HANGUP = "hangup"
DONE = "done"
VOICEMAIL = "voicemail"
FALLBACK = "fallback"
RESERVED = frozenset({HANGUP, DONE, VOICEMAIL, FALLBACK})


def reserved(queue: str) -> bool:
    """A queue name the dialplan would take for one of the reserved routes."""
    return queue.strip().lower() in RESERVED
