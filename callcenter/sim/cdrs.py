"""CDR rows (cdr_csv's Master.csv, a cdr table) and the matching AMI ``Cdr`` events.

Which channel gets which row follows main/cdr.c:

- the channel that runs the dialplan gets one row per outgoing leg (a queue member rung, a
  Dial), each with the leg's channel as dstchannel, and one for the dialplan run after them
  (voicemail); a call with no leg gets one row;
- a Local caller's ``;1`` gets its own row (Wait, no dstchannel): it was originated, so it
  is not a "dialed" channel whose lone CDR main/cdr.c drops;
- a Local queue member's ``;1`` gets none (dialed, never party A of a bridge); its ``;2``
  gets one when it answered (the member's context and extension, lastapp Wait or Hangup).
  A ``;2`` that never answered has no party B and is unanswered, so post_cdr skips it with
  cdr.conf's default ``unanswered=no``.

Every CDR object takes the next number of one global counter when it is made
(``sequence``): a channel's first CDR when the channel appears, a later one when main/cdr.c
appends it to the chain (the next dial begins, dialplan runs after a finished dial).
"""

from __future__ import annotations

from callcenter.sim.call_state import CONGESTION, Call
from callcenter.sim.channels import Channel, Event, header
from callcenter.sim.ports import ChannelOps
from callcenter.sim.records import CdrRow


def write_cdrs(pbx: ChannelOps, call: Call, cause: int) -> None:
    """The rows of the channel that ran the dialplan."""
    chan = call.chan
    end = pbx.now
    userfield = chan.variables.get("CDR(userfield)", "")
    queue_data = ""
    if call.queue is not None:
        max_wait = int(call.queue.config.max_wait)
        queue_data = f"{call.queue.name},{call.queue_options},,,{max_wait}"
    clid = chan.callerid_merge() if call.origin is not None else pbx.clid(chan)
    rows: list[CdrRow] = []

    def row(dst: str, app: str, data: str, start: float, answer: float | None,
            stop: float, disposition: str, seq: int) -> CdrRow:  # fmt: skip
        return CdrRow(
            accountcode="",
            src=chan.caller_num,
            dst=chan.exten,
            dcontext=chan.context,
            clid=clid,
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
            sequence=seq,
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
        rows.append(
            row(attempt.dstchannel, attempt.app, data, start, answer, stop, disposition,
                attempt.cdr_seq)
        )  # fmt: skip
    if not call.attempts or call.tail_start is not None:
        start = chan.created_at if not call.attempts else (call.tail_start or end)
        answer = call.answered_at if not call.attempts else start
        if answer is not None:
            disposition = "ANSWERED"
        elif cause == CONGESTION:
            disposition = "CONGESTION" if pbx.cfg.cdr_congestion else "FAILED"
        else:
            disposition = "NO ANSWER"
        if not call.attempts:
            seq = chan.cdr_seq
        else:
            seq = call.tail_seq = call.tail_seq or pbx.next_cdr_seq()
        rows.append(row("", chan.app, chan.appdata, start, answer, end, disposition, seq))
    for r in rows:
        write(pbx, r)


def write_origin_row(pbx: ChannelOps, call: Call) -> None:
    """The Local caller's ``;1``: answered with ``;2``, it only waited."""
    one = call.origin
    if one is not None and one.answered_at is not None:
        write(pbx, single_row(one, pbx.now))


def write_member_row(pbx: ChannelOps, two: Channel) -> None:
    """A Local member's ``;2`` that answered."""
    if two.answered_at is not None:
        write(pbx, single_row(two, pbx.now))


def single_row(chan: Channel, end: float) -> CdrRow:
    """The one row of an answered channel that had no party B."""
    return CdrRow(
        accountcode="",
        src="" if chan.caller_num == "<unknown>" else chan.caller_num,
        dst=chan.exten,
        dcontext=chan.context,
        clid=chan.callerid_merge(),
        channel=chan.name,
        dstchannel="",
        lastapp=chan.app,
        lastdata=chan.appdata,
        start=chan.created_at,
        answer=chan.answered_at,
        end=end,
        disposition="ANSWERED",
        amaflags="DOCUMENTATION",
        uniqueid=chan.uniqueid,
        userfield=chan.variables.get("CDR(userfield)", ""),
        linkedid=chan.linkedid,
        sequence=chan.cdr_seq,
    )


def write(pbx: ChannelOps, r: CdrRow) -> None:
    pbx.records.cdr(r)
    pbx.emit(cdr_event(pbx, r))


def cdr_event(pbx: ChannelOps, r: CdrRow) -> Event:
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
