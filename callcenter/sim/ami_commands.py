"""The AMI actions that change the PBX: QueueAdd, QueueRemove, QueuePause, QueuePenalty,
Originate, Hangup and PlayDTMF, with manager.c's and app_queue.c's checks and messages.

Its own module because these parse and validate a request, then hand it to the engine
(``ami_requests.py``, ``originate.py``) at the current virtual time; the answers are theirs.
"""

from __future__ import annotations

import re
from typing import Any

from callcenter.sim.ami_replies import Block, list_ack, list_complete, response
from callcenter.sim.ami_session import ActionSession
from callcenter.sim.call_state import NORMAL_CLEARING
from callcenter.sim.channels import header
from callcenter.sim.originate import OriginateRequest

MAX_PUBLIC_UNIQUEID = 149  # AST_MAX_PUBLIC_UNIQUEID: the longest ChannelId Originate takes


# What each outcome of an engine step answers: (Response, Message), as main/manager.c and
# apps/app_queue.c word them.
QUEUE_ADD_ANSWERS = {
    "ok": ("Success", "Added interface to queue"),
    "exists": ("Error", "Unable to add interface: Already there"),
    "nosuchqueue": ("Error", "Unable to add interface to queue: No such queue"),
}
QUEUE_REMOVE_ANSWERS = {
    "ok": ("Success", "Removed interface from queue"),
    "notthere": ("Error", "Unable to remove interface: Not there"),
    "nosuchqueue": ("Error", "Unable to remove interface from queue: No such queue"),
    "notdynamic": ("Error", "Member not dynamic"),
}
BLIND_TRANSFER_ANSWERS = {
    "nochannel": ("Error", "Channel specified does not exist"),
    "Invalid": ("Error", "Transfer invalid"),
    "Success": ("Success", "Transfer succeeded"),
}
ATXFER_ANSWERS = {
    "nochannel": ("Error", "Channel specified does not exist"),
    "nocode": ("Error", "No attended transfer feature code found"),
    "queued": ("Success", "Atxfer successfully queued"),
}


def _int(value: str, default: int = 0) -> int:
    try:
        number = int(value)
    except ValueError:
        return default
    return number if number >= 0 else default


def _true(value: str) -> bool:
    return value.strip().lower() in ("yes", "true", "y", "t", "1", "on")


def _both(
    s: ActionSession, m: dict[str, str], aid: str, first: str, second: str
) -> tuple[str, str] | None:
    """The two headers an action needs, or None once it has answered that one is missing."""
    first_value, second_value = m.get(first.lower(), ""), m.get(second.lower(), "")
    if not first_value or not second_value:
        s.write(response("Error", aid, f"Need '{first}' and '{second}' parameters."))
        return None
    return first_value, second_value


def _each_given(
    s: ActionSession, m: dict[str, str], aid: str, *needed: tuple[str, str]
) -> list[str] | None:
    """The headers an action needs (header, the error naming it), checked in turn as
    main/manager.c does; None once it has answered the first that is missing."""
    values = []
    for name, missing in needed:
        value = m.get(name, "")
        if not value:
            s.write(response("Error", aid, missing))
            return None
        values.append(value)
    return values


def _answer(s: ActionSession, aid: str, kind_and_text: tuple[str, str]) -> None:
    kind, text = kind_and_text
    s.write(response(kind, aid, text))


def act_queue_add(s: ActionSession, m: dict[str, str], aid: str) -> None:
    given = _each_given(
        s, m, aid, ("queue", "'Queue' not specified."), ("interface", "'Interface' not specified.")
    )
    if given is None:
        return
    queue, interface = given
    result = s.pbx.add_member(
        queue,
        interface,
        m.get("membername", ""),
        _int(m.get("penalty", "")),
        _true(m.get("paused", "")),
        m.get("reason", ""),
    )
    _answer(s, aid, QUEUE_ADD_ANSWERS[result])


def act_queue_remove(s: ActionSession, m: dict[str, str], aid: str) -> None:
    given = _both(s, m, aid, "Queue", "Interface")
    if given is None:
        return
    _answer(s, aid, QUEUE_REMOVE_ANSWERS[s.pbx.remove_member(*given)])


def act_queue_pause(s: ActionSession, m: dict[str, str], aid: str) -> None:
    given = _both(s, m, aid, "Interface", "Paused")
    if given is None:
        return
    interface, paused = given[0], _true(given[1])
    if not s.pbx.pause_member(m.get("queue", ""), interface, paused, m.get("reason", "")):
        s.write(response("Error", aid, "Interface not found"))
        return
    text = "Interface paused successfully" if paused else "Interface unpaused successfully"
    s.write(response("Success", aid, text))


def act_queue_penalty(s: ActionSession, m: dict[str, str], aid: str) -> None:
    given = _both(s, m, aid, "Interface", "Penalty")
    if given is None:
        return
    interface, penalty_s = given
    if not penalty_s.isdigit():
        s.write(response("Error", aid, "Invalid penalty"))
        return
    if not s.pbx.set_penalty(m.get("queue", ""), interface, int(penalty_s)):
        s.write(response("Error", aid, "Invalid interface, queuename or penalty"))
        return
    s.write(response("Success", aid, "Interface penalty set successfully"))


def act_originate(s: ActionSession, m: dict[str, str], aid: str) -> None:
    channel = m.get("channel", "")
    if not channel:
        s.write(response("Error", aid, "Channel not specified"))
        return
    priority_s, timeout_s = m.get("priority", ""), m.get("timeout", "")
    if priority_s and not priority_s.isdigit():
        s.write(response("Error", aid, "Invalid priority"))
        return
    if timeout_s and not timeout_s.isdigit():
        s.write(response("Error", aid, "Invalid timeout"))
        return
    if "/" not in channel:
        s.write(response("Error", aid, "Invalid channel"))
        return
    app, exten, context = m.get("application", ""), m.get("exten", ""), m.get("context", "")
    is_async = _true(m.get("async", ""))
    if not app and not (exten and context and priority_s) and not is_async:
        s.write(response("Error", aid, "Originate with 'Exten' requires 'Context' and 'Priority'"))
        return
    channel_id = m.get("channelid", "")
    if len(channel_id) > MAX_PUBLIC_UNIQUEID:  # manager.c refuses a longer one
        s.write(response("Error", aid, f"Uniqueid length exceeds maximum of {MAX_PUBLIC_UNIQUEID}"))
        return
    cid_num, cid_name = split_callerid(m.get("callerid", ""))
    req = OriginateRequest(
        channel=channel,
        app=app,
        data=m.get("data", ""),
        context=context,
        exten=exten,
        priority=int(priority_s) if priority_s else 1,
        timeout_ms=int(timeout_s) if timeout_s else 30000,
        caller_num=cid_num,
        caller_name=cid_name,
        channel_id=channel_id,
    )
    pbx = s.pbx

    def done(ok: bool, reason: int, chan: Any) -> None:
        if is_async:
            ev = header("OriginateResponse", pbx.now)
            if aid:
                ev["ActionID"] = aid
            ev["Response"] = "Success" if ok else "Failure"
            ev["Channel"] = chan.name if chan is not None else channel
            if app:
                ev["Application"], ev["Data"] = app, req.data
            else:
                ev["Context"], ev["Exten"] = context, exten
            ev["Reason"] = str(reason)
            ev["Uniqueid"] = chan.uniqueid if chan is not None else "<unknown>"
            ev["CallerIDNum"] = cid_num or "<unknown>"
            ev["CallerIDName"] = cid_name or "<unknown>"
            pbx.emit(ev)
        elif ok:
            s.write(response("Success", aid, "Originate successfully queued"))
        else:
            s.write(response("Error", aid, "Originate failed"))

    s.originate(req, done)
    if is_async:
        s.write(response("Success", aid, "Originate successfully queued"))


def split_callerid(value: str) -> tuple[str, str]:
    match = re.match(r'\s*"?([^"<]*?)"?\s*<([^>]*)>', value)
    if match:
        return match.group(2).strip(), match.group(1).strip()
    return value.strip(), ""


def act_hangup(s: ActionSession, m: dict[str, str], aid: str) -> None:
    pbx = s.pbx
    target = m.get("channel", "")
    if not target:
        s.write(response("Error", aid, "No channel specified"))
        return
    cause = _int(m.get("cause", ""), NORMAL_CLEARING) or NORMAL_CLEARING
    if not target.startswith("/"):
        if target not in pbx.channels:
            s.write(response("Error", aid, "No such channel"))
            return
        pbx.hangup_by_name(target, cause)
        s.write(response("Success", aid, "Channel Hungup"))
        return
    try:
        pattern = re.compile(target.strip("/"))
    except re.error:
        s.write(response("Error", aid, f"Regex compile failed on: {target}"))
        return
    s.write(list_ack(aid, "Channels hung up will follow"))
    matched = [name for name in pbx.channels if pattern.search(name)]
    for name in matched:
        pbx.hangup_by_name(name, cause)
        item: Block = {"Event": "ChannelHungup", "Channel": name}
        if aid:
            item["ActionID"] = aid
        s.write(item)
    s.write(list_complete("ChannelsHungupListComplete", aid, len(matched)))


def act_blind_transfer(s: ActionSession, m: dict[str, str], aid: str) -> None:
    """main/manager.c ``action_blind_transfer``: its checks, messages and result names."""
    given = _each_given(
        s, m, aid, ("channel", "No channel specified"), ("exten", "No extension specified")
    )
    if given is not None:
        name, exten = given
        _answer(
            s, aid, BLIND_TRANSFER_ANSWERS[s.pbx.blind_transfer(name, exten, m.get("context", ""))]
        )


def act_atxfer(s: ActionSession, m: dict[str, str], aid: str) -> None:
    """main/manager.c ``action_atxfer``: its checks and messages; the transfer itself runs
    from the DTMF it queues (``attended.py``), so the answer is only that it was queued."""
    given = _each_given(
        s, m, aid, ("channel", "No channel specified"), ("exten", "No extension specified")
    )
    if given is None:
        return
    name, exten = given
    _answer(s, aid, ATXFER_ANSWERS[s.pbx.attended_transfer(name, exten, m.get("context", ""))])


def act_play_dtmf(s: ActionSession, m: dict[str, str], aid: str) -> None:
    pbx = s.pbx
    name = m.get("channel", "")
    if name not in pbx.channels:
        s.write(response("Error", aid, "Channel not found"))
        return
    digit = m.get("digit", "")
    if not digit:
        s.write(response("Error", aid, "No digit specified"))
        return
    duration = m.get("duration", "")
    if duration and not duration.isdigit():
        s.write(response("Error", aid, "Could not convert Duration parameter"))
        return
    pbx.play_dtmf(name, digit[0], _true(m.get("receive", "")))
    s.write(response("Success", aid, "DTMF successfully queued"))
