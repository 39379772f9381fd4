"""A finished call's CDR rows (cdr_csv's Master.csv) and the matching AMI ``Cdr`` events.

Plain functions of the Pbx, which owns every piece of state: the rows follow from the call's
attempts (one per outgoing leg) and the dialplan run after them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from callcenter.sim.call_state import CONGESTION, Call
from callcenter.sim.channels import Event, header
from callcenter.sim.records import CdrRow

if TYPE_CHECKING:
    from callcenter.sim.pbx import Pbx


def write_cdrs(pbx: Pbx, call: Call, cause: int) -> None:
    chan = call.chan
    end = pbx.now
    userfield = chan.variables.get("CDR(userfield)", "")
    queue_data = ""
    if call.queue is not None:
        max_wait = int(call.queue.config.max_wait)
        queue_data = f"{call.queue.name},{call.queue_options},,,{max_wait}"
    rows: list[CdrRow] = []

    def row(dst: str, app: str, data: str, start: float, answer: float | None,
            stop: float, disposition: str) -> CdrRow:  # fmt: skip
        return CdrRow(
            accountcode="",
            src=chan.caller_num,
            dst=chan.exten,
            dcontext=chan.context,
            clid=pbx.clid(chan),
            channel=chan.name,
            dstchannel=dst,
            lastapp=app,
            lastdata=data,
            start=start,
            answer=answer,
            end=stop,
            disposition=disposition,
            amaflags="DOCUMENTATION",
            uniqueid=chan.uniqueid,
            userfield=userfield,
            linkedid=chan.linkedid,
        )

    for i, attempt in enumerate(call.attempts):
        start = chan.created_at if i == 0 else attempt.start
        answer = call.answered_at if i == 0 else attempt.start
        if attempt.answered_at is not None:  # a direct Dial: the callee's answer
            answer = attempt.answered_at
        stop = attempt.end if attempt.end is not None else end
        disposition = "ANSWERED" if attempt.answered else "NO ANSWER"
        if attempt.busy:
            disposition = "BUSY"
        data = attempt.data or queue_data
        rows.append(row(attempt.dstchannel, attempt.app, data, start, answer, stop, disposition))
    if not call.attempts or call.tail_start is not None:
        start = chan.created_at if not call.attempts else (call.tail_start or end)
        answer = call.answered_at if not call.attempts else start
        if answer is not None:
            disposition = "ANSWERED"
        elif cause == CONGESTION:
            disposition = "CONGESTION" if pbx.cfg.cdr_congestion else "FAILED"
        else:
            disposition = "NO ANSWER"
        rows.append(row("", chan.app, chan.appdata, start, answer, end, disposition))
    for r in rows:
        pbx.records.cdr(r)
        pbx.emit(cdr_event(pbx, r))


def cdr_event(pbx: Pbx, r: CdrRow) -> Event:
    ev = header("Cdr", pbx.now)
    ev.update(
        {
            "AccountCode": r.accountcode,
            "Source": r.src,
            "Destination": r.dst,
            "DestinationContext": r.dcontext,
            "CallerID": r.clid,
            "Channel": r.channel,
            "DestinationChannel": r.dstchannel,
            "LastApplication": r.lastapp,
            "LastData": r.lastdata,
            "StartTime": pbx.records.local(r.start),
            "AnswerTime": pbx.records.local(r.answer) if r.answer is not None else "",
            "EndTime": pbx.records.local(r.end),
            "Duration": str(r.duration),
            "BillableSeconds": str(r.billsec),
            "Disposition": r.disposition,
            "AMAFlags": r.amaflags,
            "UniqueID": r.uniqueid,
            "UserField": r.userfield,
        }
    )
    return ev
