"""Walk a flow in the terminal: prompts as text, digits typed (or given), path and outcome.

The walker plays Asterisk's part with fixed answers: queues are answered (then the agent
hangs up, so a survey after the queue is asked), dials get ``dial_status``. Without a
terminal (``digits`` given) an exhausted list of digits means the caller presses nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from callcenter.core.contracts import OwnerInfo
from callcenter.ivr import engine as e
from callcenter.ivr.prompts import Catalogue
from callcenter.ivr.schema import Flow

MAX_INPUTS = 200

TEXT = {
    "zh": {"prompt": "播放", "say": "读出", "digits": "请按键 (回车=不按)> ", "typed": "按键",
           "timeout": "超时", "lookup": "查询来电号码", "owner": "业主", "nobody": "未找到业主",
           "queue": "排队", "dial": "呼叫", "voicemail": "留言信箱", "hangup": "挂机",
           "path": "路径", "outcome": "结果", "event": "事件", "set": "设置",
           "dialplan": "交回拨号方案"},
    "en": {"prompt": "play", "say": "say", "digits": "keys (Enter = none)> ", "typed": "keys",
           "timeout": "timeout", "lookup": "look up caller", "owner": "owner", "nobody": "no owner found",
           "queue": "queue", "dial": "dial", "voicemail": "voicemail", "hangup": "hang up",
           "path": "path", "outcome": "outcome", "event": "event", "set": "set",
           "dialplan": "back to the dialplan"},
}  # fmt: skip


def walk(
    flows: Mapping[str, Flow],
    flow: str,
    catalogue: Catalogue,
    *,
    caller: str,
    dialled: str,
    when: datetime,
    digits: list[str] | None,
    owner: OwnerInfo | None = None,
    dial_status: str = "NOANSWER",
    queue_status: str = "ANSWERED",
    out: Callable[[str], None] = print,
    read: Callable[[str], str] = input,
    ui: str = "zh",
) -> e.State:
    t = TEXT.get(ui, TEXT["zh"])
    state = e.begin(flow)
    state, cmds = e.step(flows, state, e.Start(caller=caller, dialled=dialled, when=when))
    pending = list(digits) if digits is not None else None
    for _ in range(MAX_INPUTS):
        reply: e.Input | None = None
        for cmd in cmds:
            if isinstance(cmd, e.Play):
                for p in cmd.prompts:
                    out(f"  ♪ [{cmd.language}] {catalogue.text(cmd.language, p)}")
            elif isinstance(cmd, e.SayValue):
                out(f"  ♪ [{cmd.language}] {t['say']}: {cmd.value or '-'}")
            elif isinstance(cmd, e.ReadDigits):
                for p in cmd.prompts:
                    out(f"  ♪ [{cmd.language}] {catalogue.text(cmd.language, p)}")
                if pending is None:
                    typed = read(t["digits"]).strip()
                else:
                    typed = pending.pop(0).strip() if pending else ""
                    out(f"  > {t['typed']}: {typed or t['timeout']}")
                reply = e.Digits(text=typed) if typed else e.Timeout()
            elif isinstance(cmd, e.LookupOwner):
                found = f"{t['owner']} {owner.owner_id}" if owner else t["nobody"]
                out(f"  ? {t['lookup']}: {found}")
                reply = e.LookupDone(owner=owner)
            elif isinstance(cmd, e.QueueCall):
                out(f"  → {t['queue']} {cmd.queue} (priority {cmd.priority}): {queue_status}")
                reply = e.Done(status=queue_status)
            elif isinstance(cmd, e.DialTarget):
                out(f"  → {t['dial']} {cmd.interface} ({cmd.ring_timeout_s:g}s): {dial_status}")
                reply = e.Done(status=dial_status)
            elif isinstance(cmd, e.RecordVoicemail):
                out(f"  → {t['voicemail']} {cmd.mailbox}")
            elif isinstance(cmd, e.HangupCall):
                out(f"  → {t['hangup']}")
            elif isinstance(cmd, e.ReturnToDialplan):
                out(f"  → {t['dialplan']}")
            elif isinstance(cmd, e.SetVariable):
                out(f"  = {t['set']} {cmd.name}={cmd.value}")
            elif isinstance(cmd, e.Emit):
                out(f"  * {t['event']} {cmd.event.kind}")
        if state.ended or reply is None:
            break
        state, cmds = e.step(flows, state, reply)
    if not state.ended:
        state, cmds = e.step(flows, state, e.Hangup())
    out(f"{t['path']}: {' > '.join(state.path)}")
    out(f"{t['outcome']}: {state.outcome}{' ' + state.target if state.target else ''}")
    return state
