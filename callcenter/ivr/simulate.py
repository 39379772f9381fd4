"""Walk a flow in the terminal: prompts as text, digits typed (or given), path and outcome.

The walker plays Asterisk's part with fixed answers: queues are answered (then the agent
hangs up, so a survey after the queue is asked), dials get ``dial_status``. Without a
terminal (``digits`` given) an exhausted list of digits means the caller presses nothing.

Every step carries ``at``, the seconds since the answer as a real Asterisk would take
them: each prompt for as long as its audio plays (``Catalogue.seconds``: the file's length,
or the text's speaking time while there is no audio), a menu's timeout when nothing is
pressed, KEY_S per key typed after a prompt, a dial's ring time when nobody answers.
``seconds_to_queue`` is when the caller joins the first queue.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from callcenter.core.contracts import OwnerInfo
from callcenter.ivr import engine as e
from callcenter.ivr.prompts import Catalogue
from callcenter.ivr.schema import Flow

MAX_INPUTS = 200
KEY_S = 0.8  # a key typed after the prompt (the simulator's gap between key presses)
SAY_DIGIT_S = 0.5  # one digit of SAY NUMBER / SAY DIGITS

TEXT = {
    "zh": {"prompt": "播放", "say": "读出", "digits": "请按键 (回车=不按)> ", "typed": "按键",
           "timeout": "超时", "lookup": "查询来电号码", "owner": "业主", "nobody": "未找到业主",
           "queue": "排队", "dial": "呼叫", "voicemail": "留言信箱", "hangup": "挂机",
           "path": "路径", "outcome": "结果", "event": "事件", "set": "设置",
           "dialplan": "交回拨号方案", "to_queue": "进入队列用时"},
    "en": {"prompt": "play", "say": "say", "digits": "keys (Enter = none)> ", "typed": "keys",
           "timeout": "timeout", "lookup": "look up caller", "owner": "owner", "nobody": "no owner found",
           "queue": "queue", "dial": "dial", "voicemail": "voicemail", "hangup": "hang up",
           "path": "path", "outcome": "outcome", "event": "event", "set": "set",
           "dialplan": "back to the dialplan", "to_queue": "seconds to the queue"},
}  # fmt: skip


@dataclass
class Walked:
    """What the walk did: the engine's last state, the steps with their times."""

    state: e.State
    steps: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0  # since the answer
    seconds_to_queue: float | None = None

    def add(self, what: str, **details: Any) -> dict[str, Any]:
        step = {"at": round(self.seconds, 2), "step": what, **details}
        self.steps.append(step)
        return step

    def as_json(self) -> dict[str, Any]:
        state = self.state
        return {
            "flow": state.entry_flow, "path": list(state.path), "outcome": state.outcome,
            "target": state.target, "language": state.language,
            "seconds_to_queue": self.seconds_to_queue, "seconds": round(self.seconds, 2),
            "steps": self.steps,
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
) -> Walked:
    t = TEXT.get(ui, TEXT["zh"])
    state, cmds = e.step(flows, e.begin(flow), e.Start(caller=caller, dialled=dialled, when=when))
    walked = Walked(state)
    pending = list(digits) if digits is not None else None

    def play(language: str, prompts: tuple[str, ...], what: str = "play") -> None:
        for p in prompts:
            out(f"  ♪ [{language}] {catalogue.text(language, p)}")
        seconds = round(sum(catalogue.seconds(language, p) for p in prompts), 2)
        walked.add(what, prompts=list(prompts), language=language, seconds=seconds)
        walked.seconds += seconds

    for _ in range(MAX_INPUTS):
        reply: e.Input | None = None
        for cmd in cmds:
            if isinstance(cmd, e.Play):
                play(cmd.language, cmd.prompts)
            elif isinstance(cmd, e.SayValue):
                out(f"  ♪ [{cmd.language}] {t['say']}: {cmd.value or '-'}")
                walked.add("say", value=cmd.value, say_as=cmd.say_as)
                walked.seconds += SAY_DIGIT_S * sum(ch.isdigit() for ch in cmd.value)
            elif isinstance(cmd, e.ReadDigits):
                play(cmd.language, cmd.prompts, "menu")
                walked.steps[-1]["keys"] = cmd.escape
                if pending is None:
                    typed = read(t["digits"]).strip()
                else:
                    typed = pending.pop(0).strip() if pending else ""
                    out(f"  > {t['typed']}: {typed or t['timeout']}")
                walked.seconds += KEY_S * len(typed) if typed else cmd.timeout_s
                walked.add("typed" if typed else "timeout", keys=typed)
                reply = e.Digits(text=typed) if typed else e.Timeout()
            elif isinstance(cmd, e.LookupOwner):
                found = f"{t['owner']} {owner.owner_id}" if owner else t["nobody"]
                out(f"  ? {t['lookup']}: {found}")
                walked.add("lookup", found=owner is not None)
                reply = e.LookupDone(owner=owner)
            elif isinstance(cmd, e.QueueCall):
                out(f"  → {t['queue']} {cmd.queue} (priority {cmd.priority}): {queue_status}")
                if walked.seconds_to_queue is None:
                    walked.seconds_to_queue = round(walked.seconds, 2)
                walked.add("queue", queue=cmd.queue, priority=cmd.priority, status=queue_status)
                reply = e.Done(status=queue_status)
            elif isinstance(cmd, e.DialTarget):
                out(f"  → {t['dial']} {cmd.interface} ({cmd.ring_timeout_s:g}s): {dial_status}")
                walked.add("dial", to=cmd.interface, status=dial_status)
                if dial_status.upper() not in ("ANSWER", "ANSWERED"):
                    walked.seconds += cmd.ring_timeout_s
                reply = e.Done(status=dial_status)
            elif isinstance(cmd, e.RecordVoicemail):
                out(f"  → {t['voicemail']} {cmd.mailbox}")
                walked.add("voicemail", mailbox=cmd.mailbox)
            elif isinstance(cmd, e.HangupCall):
                out(f"  → {t['hangup']}")
                walked.add("hangup")
            elif isinstance(cmd, e.ReturnToDialplan):
                out(f"  → {t['dialplan']}")
                walked.add("dialplan")
            elif isinstance(cmd, e.SetVariable):
                out(f"  = {t['set']} {cmd.name}={cmd.value}")
                walked.add("set", name=cmd.name, value=cmd.value)
            elif isinstance(cmd, e.Emit):
                out(f"  * {t['event']} {cmd.event.kind}")
        if state.ended or reply is None:
            break
        state, cmds = e.step(flows, state, reply)
        walked.state = state
    if not state.ended:
        state, cmds = e.step(flows, state, e.Hangup())
        walked.state = state
    out(f"{t['path']}: {' > '.join(state.path)}")
    out(f"{t['outcome']}: {state.outcome}{' ' + state.target if state.target else ''}")
    if walked.seconds_to_queue is not None:
        out(f"{t['to_queue']}: {walked.seconds_to_queue:g} s")
    return walked
