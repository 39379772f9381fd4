"""A call's way through the dialplan: arrival, Answer(), the menu or FastAGI, the route
into app_queue, the applications an AGI ``EXEC`` runs, and the caller hanging up.

Plain functions of the Pbx (seen through ``ports.Engine``), which owns every piece of state;
app_queue.py takes the call from Queue() on.
"""

from __future__ import annotations

from callcenter.sim import app_queue, attended, callers
from callcenter.sim.after_agi import after_hotline_agi
from callcenter.sim.call_state import CONGESTION, NORMAL_CLEARING, Call, CallOutcome
from callcenter.sim.channels import UP
from callcenter.sim.ports import Engine
from callcenter.sim.traffic import CallPlan


def schedule_arrivals(pbx: Engine, count: int | None, after: float | None = None) -> None:
    """Generate ``count`` more calls (None: keep generating)."""
    start = pbx.now if after is None else after

    def place(remaining: int | None, at: float) -> None:
        if remaining is not None and remaining <= 0:
            return
        when = pbx.model.next_arrival(at)

        def arrival() -> None:
            index = pbx.generated
            pbx.generated += 1
            arrive(pbx, pbx.model.plan(index, when))
            place(None if remaining is None else remaining - 1, when)

        pbx.sched.at(when, arrival)

    place(count, start)


def arrive(pbx: Engine, plan: CallPlan) -> None:
    cfg = pbx.cfg
    chan, origin = callers.new_caller(pbx, plan)
    truth = CallOutcome(
        index=plan.index,
        call_id=chan.linkedid,
        channel=chan.name,
        hotline=plan.hotline,
        caller=plan.caller,
        started_at=pbx.now,
        channel_id=chan.uniqueid,
    )
    call = Call(plan, chan, truth, pbx.model.ring_stream(plan.index), origin=origin)
    chan.owner = call
    if origin is not None:
        origin.owner = call
    pbx.calls[call.call_id] = call
    pbx.newexten(chan, 1, "NoOp", f"Inbound call to {plan.hotline} from <{plan.caller}>")
    pbx.newexten(chan, 2, "Set", f"CDR(userfield)=dnis:{plan.hotline}")
    chan.variables["CDR(userfield)"] = f"dnis:{plan.hotline}"
    if pbx.lines_in_use >= cfg.lines:
        pbx.newexten(chan, 3, "Congestion", "")
        pbx.end_call(call, "blocked", CONGESTION)
        return
    pbx.lines_in_use += 1
    pbx.sched.after(0.02, lambda: answer(pbx, call))


def answer(pbx: Engine, call: Call) -> None:
    if call.stage == "ended":
        return
    chan = call.chan
    pbx.newexten(chan, 3, "Answer", "")
    call.answered_at = pbx.now
    pbx.set_state(chan, UP)
    pbx.newexten(chan, 4, "Set", f"CALLERID(name)=PSTN {chan.caller_num}")
    chan.caller_name = f"PSTN {chan.caller_num}"
    pbx.emit(
        chan.event(
            "NewCallerid",
            pbx.now,
            **{"CID-CallingPres": "0 (Presentation Allowed, Not Screened)"},
        )
    )
    plan = call.plan
    if plan.ivr_hangup:
        pbx.sched.after(plan.ivr_seconds, lambda: ivr_hangup(pbx, call))
    target = pbx.cfg.agi_target
    if target is not None and pbx.agi_launcher is not None:
        url = f"agi://{target.host}:{target.port}/{target.script}"
        pbx.newexten(chan, 5, "AGI", f"{url},{plan.hotline},{plan.caller}")
        pbx.agi_launcher(call)
        return
    pbx.newexten(chan, 5, "Read", "HOTLINE_DIGITS,hotline/menu,1,,2,5")
    if not plan.ivr_hangup:
        pbx.sched.after(plan.ivr_seconds, lambda: menu_choice(pbx, call, plan.menu_digit))


def ivr_hangup(pbx: Engine, call: Call) -> None:
    if call.stage == "ivr":
        caller_hangup(pbx, call)


def menu_choice(pbx: Engine, call: Call, digit: str) -> None:
    """The built-in menu (no FastAGI target): one digit, or none, picks the queue."""
    if call.stage != "ivr" or call.agi is not None:
        return
    if digit:
        pbx.dtmf(call.chan, digit)
        call.truth.dtmf += digit
    pbx.varset(call.chan, "HOTLINE_DIGITS", digit)
    route(pbx, call, pbx.cfg.menu_routes.get(digit, ""))


def agi_finished(pbx: Engine, call: Call, ok: bool) -> None:
    """The FastAGI session closed (``ok``: it was reached); the dialplan goes on as the
    shipped extensions.conf does after it (``after_agi.after_hotline_agi``)."""
    call.agi = None
    if call.stage not in ("ivr", "agi"):  # "agi": back in the session after an EXEC
        return
    chan = call.chan
    hung_up = chan.dead or call.hangup_requested
    status = "HANGUP" if hung_up else "SUCCESS" if ok else "FAILURE"
    pbx.varset(chan, "AGISTATUS", status)
    variables = chan.variables
    after = after_hotline_agi(status, variables.get("HOTLINE_ROUTE", ""),
                              variables.get("DIALSTATUS", ""), variables.get("QUEUESTATUS", ""))  # fmt: skip
    if after.action in ("stop", "return"):
        done = call.truth.outcome
        if done == "in_progress":  # left a queue on its timeout, or never reached one
            done = "abandoned" if call.queue is not None else "ivr_only"
        pbx.end_call(call, done, NORMAL_CLEARING)
    elif after.action == "voicemail":
        dialplan_voicemail(pbx, call, variables.get("HOTLINE_MAILBOX") or pbx.cfg.voicemail_box)
    elif after.action == "queue":
        route(pbx, call, after.queue)
    else:  # the hotline's own queue (Gosub ARG2), as when the IVR cannot be reached
        if "QUEUE_MAX_PENALTY" in variables:  # Set(QUEUE_MAX_PENALTY=): no limit there
            pbx.varset(chan, "QUEUE_MAX_PENALTY", "")
        route(pbx, call, pbx.cfg.hotlines.get(call.plan.hotline, pbx.cfg.default_queue))


def dialplan_voicemail(pbx: Engine, call: Call, box: str) -> None:
    """``VoiceMail(${HOTLINE_MAILBOX},u)`` after the session: greeting and beep, the
    message, then the caller hangs up."""
    call.stage = "voicemail"
    if call.tail_start is None and call.attempts:
        call.tail_start = pbx.now
    pbx.newexten(call.chan, 6, "VoiceMail", f"{box},u")
    call.truth.outcome = "voicemail"
    pbx.sched.after(4.0 + call.plan.voicemail_seconds, lambda: caller_hangup(pbx, call))


def route(pbx: Engine, call: Call, queue_name: str, priority: int = 0) -> None:
    """Queue the call: dialplan priorities 6 (MixMonitor) and 7, or ``priority`` (the
    AGI's) when an AGI EXEC runs Queue."""
    if queue_name not in pbx.queues:
        queue_name = pbx.cfg.hotlines.get(call.plan.hotline, pbx.cfg.default_queue)
    if queue_name not in pbx.queues:
        queue_name = pbx.cfg.default_queue
    chan = call.chan
    if call.plan.recorded:
        filename = f"{chan.uniqueid}.wav"
        pbx.newexten(chan, priority or 6, "MixMonitor", filename)
        pbx.varset(chan, "MIXMONITOR_FILENAME", f"/var/spool/asterisk/monitor/{filename}")
        pbx.emit(chan.event("MixMonitorStart", pbx.now))
        call.truth.recorded = True
        call.recording_started = pbx.now
    queue = pbx.queues[queue_name]
    options = call.queue_options if call.agi_app == "Queue" else ""
    data = f"{queue_name},{options},,,{int(queue.config.max_wait)}"
    pbx.newexten(chan, priority or 7, "Queue", data)
    app_queue.join_queue(pbx, call, queue)


def agi_exec_queue(pbx: Engine, call: Call, queue_name: str, options: str, rule: str = "") -> None:
    """``EXEC Queue(name,options,...,rule)``: the caller joins the queue inside the AGI; the
    EXEC returns when the caller leaves it (timeout, or the agent hung up with ``g``)."""
    call.agi_app, call.queue_options, call.queue_rule = "Queue", options, rule
    call.chan.variables.pop("QUEUESTATUS", None)
    route(pbx, call, queue_name, priority=call.chan.priority)


def agi_exec_voicemail(pbx: Engine, call: Call, data: str) -> None:
    """``EXEC VoiceMail(box,u)``: greeting and beep, the message, then the caller hangs up
    (which ends the EXEC with -1), as the dialplan's VoiceMail after a queue does."""
    call.agi_app = "VoiceMail"
    call.stage = "voicemail"
    if call.tail_start is None and call.attempts:
        call.tail_start = pbx.now
    pbx.newexten(call.chan, call.chan.priority, "VoiceMail", data)
    call.truth.outcome = "voicemail"
    pbx.sched.after(4.0 + call.plan.voicemail_seconds, lambda: caller_hangup(pbx, call))


def agi_app_returned(pbx: Engine, call: Call, stage: str) -> None:
    """The application an AGI EXEC ran returns with the caller still on the line."""
    call.agi_app = ""
    call.stage = stage
    if stage == "transferred":  # a transfer's Dial returned: no AGI, Hangup() is next
        transfer_over(pbx, call)
        return
    if call.agi is not None:
        call.agi.app_returned()


def transfer_over(pbx: Engine, call: Call) -> None:
    """The seat a caller was transferred to did not answer: from-internal hangs up."""
    pbx.end_call(call, "answered", NORMAL_CLEARING)


def caller_hangup(pbx: Engine, call: Call) -> None:
    """The caller hangs up, wherever the call is."""
    if call.stage == "ended" or call.hangup_requested:
        return
    if call.stage == "talk":
        app_queue.talk_end(pbx, call, "caller")
        return
    if call.stage == "dial":
        pbx.dialer.caller_hangup(call)
        return
    if call.stage == "atxfer":
        attended.caller_hangup(pbx, call)
        return
    if call.stage in ("ivr", "agi"):
        call.hangup_requested = True
        callers.hangup_request(pbx, call)
        if call.agi is not None:
            call.agi.caller_hung_up()  # the session ends; agi_finished() ends the call
            return
        pbx.end_call(call, "ivr_only", NORMAL_CLEARING)
        return
    if call.stage == "voicemail":
        callers.hangup_request(pbx, call)
        pbx.end_call(call, "voicemail", NORMAL_CLEARING)
        return
    app_queue.abandon(pbx, call)  # in the queue
