"""The read-only AMI actions: CoreShowChannels, QueueStatus, QueueSummary and Status, each
an event list of what the PBX holds right now.

Its own module because these only describe state (they leave the virtual clock alone), and
their item fields follow Asterisk's list events field by field.
"""

from __future__ import annotations

from collections.abc import Iterator

from callcenter.sim.ami_replies import Block, list_ack, list_complete, response
from callcenter.sim.ami_session import ActionSession
from callcenter.sim.call_state import Queue, entry_item
from callcenter.sim.channels import UP, duration_hms
from callcenter.sim.ports import AmiPbx


def act_core_show_channels(s: ActionSession, m: dict[str, str], aid: str) -> None:
    pbx = s.pbx
    now = pbx.now
    s.write(list_ack(aid, "Channels will follow"))
    count = 0
    for chan in list(pbx.channels.values()):
        item: Block = {"Event": "CoreShowChannel"}
        if aid:
            item["ActionID"] = aid
        item.update(chan.state_fields())
        item["Application"] = chan.app
        item["ApplicationData"] = chan.appdata
        item["Duration"] = duration_hms(now - chan.created_at)
        item["BridgeId"] = chan.bridge_id
        s.write(item)
        count += 1
    s.write(list_complete("CoreShowChannelsComplete", aid, count))


def _queues_named(pbx: AmiPbx, wanted: str) -> Iterator[Queue]:
    """The queue called ``wanted`` (any case), or every queue when it is empty."""
    return (q for q in pbx.queues.values() if not wanted or q.name.lower() == wanted.lower())


def act_queue_status(s: ActionSession, m: dict[str, str], aid: str) -> None:
    pbx = s.pbx
    wanted = m.get("queue", "")
    member_filter = m.get("member", "")
    s.write(list_ack(aid, "Queue status will follow"))
    count = 0
    for queue in _queues_named(pbx, wanted):
        s.write(queue.params_item(aid))
        count += 1
        for member in queue.members.values():
            if member_filter and member_filter not in (member.interface, member.name):
                continue
            s.write(member.status_item(aid))
            count += 1
        for pos, call in enumerate(queue.waiting, start=1):
            s.write(entry_item(queue.name, pos, call, pbx.now, aid))
            count += 1
    s.write(list_complete("QueueStatusComplete", aid, count))


def act_queue_summary(s: ActionSession, m: dict[str, str], aid: str) -> None:
    pbx = s.pbx
    wanted = m.get("queue", "")
    s.write(list_ack(aid, "Queue summary will follow"))
    count = 0
    for queue in _queues_named(pbx, wanted):
        s.write(queue.summary_item(pbx.now, aid))
        count += 1
    s.write(list_complete("QueueSummaryComplete", aid, count))


def act_status(s: ActionSession, m: dict[str, str], aid: str) -> None:
    pbx = s.pbx
    name = m.get("channel", "")
    if name:
        chan = pbx.channels.get(name)
        if chan is None:
            s.write(response("Error", aid, "No such channel"))
            return
        chans = [chan]
    else:
        chans = list(pbx.channels.values())
    s.write(list_ack(aid, "Channel status will follow"))
    for chan in chans:
        item: Block = {"Event": "Status", "Privilege": "Call"}
        item.update(chan.state_fields())
        item.update(
            {
                "Type": chan.tech,
                "DNID": "",
                "EffectiveConnectedLineNum": chan.connected_num,
                "EffectiveConnectedLineName": chan.connected_name,
                "TimeToHangup": "0",
                "BridgeID": chan.bridge_id,
                "Application": chan.app,
                "Data": chan.appdata,
                "Nativeformats": "(ulaw)",
                "Readformat": "ulaw",
                "Readtrans": "",
                "Writeformat": "ulaw",
                "Writetrans": "",
                "Callgroup": "0",
                "Pickupgroup": "0",
                "Seconds": str(int(pbx.now - chan.created_at)) if chan.state == UP else "0",
            }
        )
        if aid:
            item["ActionID"] = aid
        s.write(item)
    s.write(list_complete("StatusComplete", aid, len(chans), Items=str(len(chans))))
