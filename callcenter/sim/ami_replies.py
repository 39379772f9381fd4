"""How manager.c frames what it sends back: a response to an action, and the ack and the
closing event of an event list.

Its own module because the session and every action answer in these same blocks.
"""

from __future__ import annotations

Block = dict[str, str]


def response(kind: str, action_id: str, message: str | None = None, **extra: str) -> Block:
    """astman_send_response_full: Response, ActionID, [EventList], Message."""
    block: Block = {"Response": kind}
    if action_id:
        block["ActionID"] = action_id
    block.update(extra)
    if message is not None:
        block["Message"] = message
    return block


def list_ack(action_id: str, message: str) -> Block:
    return response("Success", action_id, message, EventList="start")


def list_complete(name: str, action_id: str, count: int, **extra: str) -> Block:
    block: Block = {"Event": name}
    if action_id:
        block["ActionID"] = action_id
    block["EventList"] = "Complete"
    block["ListItems"] = str(count)
    block.update(extra)
    return block
