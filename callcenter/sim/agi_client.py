"""The FastAGI client side of ``AGI(agi://host:port/script,...)`` as res/res_agi.c runs it.

It connects, sends the ``agi_*`` environment (then a blank line), and answers each command
line with res_agi.c's reply texts, taking virtual time for prompts and the simulated
caller's key presses. When the caller hangs up it answers a pending command with
``result=-1``, sends ``HANGUP``, and from then on refuses commands not allowed on a dead
channel with ``511``.

How the session ends decides AGISTATUS (res_agi.c agi_exec_full, run_agi):

- the server cannot be reached: FAILURE (launch_netscript);
- the server closes the socket, between commands, during a command or with half a line
  sent (that half runs as a command, as fgets hands it over): SUCCESS, with every variable
  the session set still set; ``run_agi`` only sees the end when it next reads;
- the caller hung up (or the session sent HANGUP): HANGUP, and the dialplan stops.

STREAM FILE, GET DATA, SAY DIGITS/NUMBER and WAIT FOR DIGIT watch the socket while they
play or wait (res_agi.c passes ``agi->ctrl`` to ast_waitstream_full / ast_app_getdata_full
/ ast_waitfordigit_full): a new line or the socket's end cuts them at once. They then reply
nothing (WAIT FOR DIGIT: ``200 result=1``) and the next line is read. EXEC'd applications
(Queue, Dial, VoiceMail) do not watch it: a closed socket is noticed after they return.
"""

from __future__ import annotations

import asyncio
import random
import re

from callcenter.sim.call_state import Call
from callcenter.sim.config import AgiTarget
from callcenter.sim.penalty_rules import rule_argument
from callcenter.sim.ports import Engine

DEAD_OK = {
    "asyncagi break", "database del", "database deltree", "database get", "database put",
    "exec", "get full variable", "get variable", "noop", "set variable", "verbose",
    "speech destroy", "speech unload grammar",
}  # fmt: skip
KNOWN = DEAD_OK | {
    "answer", "channel status", "get data", "get option", "hangup", "receive char",
    "receive text", "record file", "say alpha", "say digits", "say number", "say phonetic",
    "say date", "say time", "say datetime", "send image", "send text", "set autohangup",
    "set callerid", "set context", "set extension", "set music", "set priority",
    "stream file", "control stream file", "tdd mode", "wait for digit", "speech create",
    "speech set", "speech load grammar", "speech activate grammar",
    "speech deactivate grammar", "speech recognize",
}  # fmt: skip
MAX_WORDS = max(len(k.split()) for k in KNOWN)
DEAD_TEXT = "511 Command Not Permitted on a dead channel or intercept routine"
UNKNOWN_TEXT = "510 Invalid or unknown command"
SAMPLES_PER_S = 8000
KEY_GAP_S = 0.8  # between a caller's key presses
BARGE_IN_S = 1.0  # how far into a prompt a caller who knows the menu presses their key
SURVEY_SCORES = {"5": 0.4, "4": 0.25, "3": 0.1, "2": 0.05, "1": 0.05, "": 0.15}  # "": no answer
# Commands that give up at once when the next line (or the socket's end) arrives.
INTERRUPTIBLE = {"stream file", "get data", "wait for digit", "say digits", "say number",
                 "say alpha", "say phonetic"}  # fmt: skip


def parse_args(line: str) -> list[str]:
    """res_agi.c parse_args: whitespace-separated, double quotes group, backslash escapes."""
    args: list[str] = []
    cur: list[str] = []
    quoted = escaped = started = False
    for ch in line:
        if escaped:
            cur.append(ch)
            escaped = False
            started = True
        elif ch == "\\":
            escaped = True
        elif ch == '"':
            quoted = not quoted
            started = True
        elif ch in " \t" and not quoted:
            if started:
                args.append("".join(cur))
                cur, started = [], False
        else:
            cur.append(ch)
            started = True
    if started:
        args.append("".join(cur))
    return args


def command_name(args: list[str]) -> str | None:
    words = [a.lower() for a in args]
    for n in range(min(MAX_WORDS, len(words)), 0, -1):
        name = " ".join(words[:n])
        if name in KNOWN:
            return name
    return None


def prompt_seconds(filename: str) -> float:
    # "beep" is the one stock prompt the captures show (endpos=3404 samples)
    return 3404 / SAMPLES_PER_S if filename.rsplit("/", 1)[-1] == "beep" else 2.5


class AgiSession:
    def __init__(self, pbx: Engine, call: Call, target: AgiTarget, tasks: set[asyncio.Task[None]]):
        self.pbx = pbx
        self.call = call
        self.target = target
        self.tasks = tasks
        self.dead = False
        self.hangup_sent = False
        self.digits: list[str] = []  # keys queued by PlayDTMF
        self.menu_asked = False
        self.survey_asked = False
        self.writer: asyncio.StreamWriter | None = None
        self._waiter: asyncio.Future[str] | None = None
        self._reader: asyncio.StreamReader | None = None
        self._next: asyncio.Future[bytes] | None = None  # the next line, read during a command
        self.running = ""  # the command in progress ("get data"...), for tests and probes

    # -- engine side ------------------------------------------------------------------
    def launch(self) -> None:
        self.call.agi = self
        task = asyncio.get_running_loop().create_task(self.run())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def caller_hung_up(self) -> None:
        self.dead = True
        self._wake("hangup")
        if self._waiter is None:
            self._send_hangup()

    def app_returned(self) -> None:
        """The application of an EXEC (Queue) returned with the caller still on the line."""
        self._wake("returned")

    def digit(self, digit: str) -> None:
        self.digits.append(digit)
        self._wake("digit")

    # -- plumbing ---------------------------------------------------------------------
    def _wake(self, why: str) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(why)

    async def _wait(self, seconds: float) -> str:
        """Virtual-time wait cut short by a key press, a hangup, or (during an interruptible
        command) a line from the server; returns why it ended."""
        if self.dead:
            return "hangup"
        if self._next is not None and self._next.done():
            return "command"
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[str] = loop.create_future()
        self._waiter = waiter

        def elapsed() -> None:
            if not waiter.done():
                waiter.set_result("time")

        self.pbx.sched.after(seconds, elapsed)
        try:
            return await waiter
        finally:
            self._waiter = None

    def _send(self, text: str) -> None:
        if self.writer is not None and not self.writer.is_closing():
            self.writer.write((text + "\n").encode())

    def _send_hangup(self) -> None:
        if not self.hangup_sent and self.writer is not None:
            self.hangup_sent = True
            self._send("HANGUP")

    def _now(self) -> float:
        return self.pbx.sched.advance_to_wall()

    # -- the session --------------------------------------------------------------------
    async def run(self) -> None:
        ok = False
        try:
            reader, writer = await asyncio.open_connection(self.target.host, self.target.port)
        except OSError:
            self._finish(False)  # AGISTATUS=FAILURE
            return
        self.writer, self._reader = writer, reader
        try:
            writer.write(self.environment().encode())
            if self.dead:
                self._send_hangup()
            while True:
                if self.dead and not self.hangup_sent:
                    self._send_hangup()
                read = self._next if self._next is not None else self._read_line()
                self._next = None
                try:
                    line = await asyncio.wait_for(asyncio.shield(read), timeout=self._idle_limit())
                except TimeoutError:
                    read.cancel()
                    break
                if not line:
                    break  # the server closed the socket: "AGI Script ... completed"
                text = line.decode("utf-8", "replace").strip()
                if text:
                    await self.command(text)
                    await writer.drain()
        except (ConnectionError, OSError):
            pass  # a reset reads as the end of the script, as fgets() failing does
        finally:
            ok = not self.dead  # SUCCESS, unless the channel hung up (HANGUP)
            if self._next is not None:
                self._next.cancel()
            writer.close()
            self._finish(ok)

    def _read_line(self) -> asyncio.Future[bytes]:
        assert self._reader is not None
        return asyncio.ensure_future(self._reader.readline())

    def _watch_socket(self) -> None:
        """An interruptible command starts: the next line (or EOF) cuts it."""
        if self._next is None:
            self._next = self._read_line()
            self._next.add_done_callback(lambda _: self._wake("command"))

    def _idle_limit(self) -> float | None:
        # a script that ignores HANGUP is cut after 30 virtual seconds, like a stuck channel
        return 30.0 / self.pbx.sched.speed if self.dead else None

    def _finish(self, ok: bool) -> None:
        self._now()
        self.pbx.agi_finished(self.call, ok)

    def environment(self) -> str:
        call, cfg = self.call, self.pbx.cfg
        chan = call.chan
        t = self.target
        lines = [
            ("agi_network", "yes"),
            ("agi_network_script", t.script),
            ("agi_request", f"agi://{t.host}:{t.port}/{t.script}"),
            ("agi_channel", chan.name),
            ("agi_language", "en"),
            ("agi_type", chan.tech),
            ("agi_uniqueid", chan.uniqueid),
            ("agi_version", cfg.asterisk_version),
            ("agi_callerid", chan.caller_num),
            ("agi_calleridname", chan.caller_name),
            ("agi_callingpres", "0"),
            ("agi_callingani2", "0"),
            ("agi_callington", "0"),
            ("agi_callingtns", "0"),
            ("agi_dnid", chan.exten),
            ("agi_rdnis", "unknown"),
            ("agi_context", chan.context),
            ("agi_extension", chan.exten),
            ("agi_priority", str(chan.priority)),
            ("agi_enhanced", "0.0"),
            ("agi_accountcode", ""),
            ("agi_threadid", str(140042284701376 + call.plan.index * 1024)),
            ("agi_arg_1", call.plan.hotline),
            ("agi_arg_2", call.plan.caller),
        ]
        return "".join(f"{k}: {v}\n" for k, v in lines) + "\n"

    async def command(self, text: str) -> None:
        pbx, chan = self.pbx, self.call.chan
        command_id = str(pbx.command_id())
        self._now()
        pbx.emit(chan.event("AGIExecStart", pbx.now, CommandId=command_id, Command=text))
        args = parse_args(text)
        name = command_name(args)
        if name is None:
            reply, code, result = UNKNOWN_TEXT, "510", "Invalid or unknown command"
        elif self.dead and name not in DEAD_OK:
            reply, code = DEAD_TEXT, "511"
            result = "Command Not Permitted on a dead channel or intercept routine"
        else:
            if name in INTERRUPTIBLE:
                self._watch_socket()
            self.running = name
            reply = await self.run_command(name, args)
            self.running = ""
            code, result = "200", "Success"
        self._now()
        if reply:  # "": cut by the next line, no reply (res_agi.c "New command")
            self._send(reply)
        pbx.emit(
            chan.event(
                "AGIExecEnd", pbx.now, CommandId=command_id, Command=text,
                ResultCode=code, Result=result,
            )
        )  # fmt: skip
        if self.dead and not self.hangup_sent:
            self._send_hangup()

    async def run_command(self, name: str, args: list[str]) -> str:
        pbx, chan = self.pbx, self.call.chan
        rest = args[len(name.split()) :]
        if name in ("answer", "noop", "set context", "set extension", "set priority",
                    "set music", "set autohangup", "tdd mode", "database get"):  # fmt: skip
            return "200 result=0"
        if name in ("verbose", "set callerid", "database put", "database del"):
            return "200 result=1"
        if name == "set variable":
            if len(rest) != 2:
                return "520 Invalid command syntax.  Proper usage not available."
            self._now()
            pbx.varset(chan, rest[0], rest[1])
            return "200 result=1"
        if name == "get variable":
            value = self.lookup(rest[0]) if rest else None
            return "200 result=0" if value is None else f"200 result=1 ({value})"
        if name == "get full variable":
            expr = rest[0] if rest else ""
            return f"200 result=1 ({self.substitute(expr)})"
        if name == "channel status":
            if rest and rest[0] != chan.name:
                other = pbx.channels.get(rest[0])
                return f"200 result={other.state}" if other else "200 result=-1"
            return f"200 result={chan.state}"
        if name == "hangup":
            if rest and rest[0] != chan.name:
                return "200 result=1" if pbx.hangup_by_name(rest[0], 16) else "200 result=-1"
            self.call.hangup_requested = True
            self.dead = True
            return "200 result=1"
        if name in ("stream file", "control stream file"):
            return await self.stream(name, rest)
        if name == "get data":
            return await self.get_data(rest)
        if name == "wait for digit":
            return await self.wait_for_digit(rest)
        if name.startswith("say "):
            spoken = rest[0] if rest else ""
            why = await self._wait(0.5 * max(1, len(spoken)))
            if why == "command":
                return ""
            return "200 result=-1" if why == "hangup" else "200 result=0"
        if name == "exec":
            if self.dead:
                return "200 result=-1"
            return await self.exec(rest[0] if rest else "", rest[1] if len(rest) > 1 else "")
        if name == "record file":
            return "200 result=0 (timeout) endpos=0"
        return "200 result=0"

    async def stream(self, name: str, rest: list[str]) -> str:
        """STREAM FILE: ``200 result=<ASCII code of the escape digit> endpos=<samples played>``
        when a key in the escape digits stops it, ``result=0`` with the file's length when it
        played through, ``result=-1`` when the caller hung up (res_agi.c handle_streamfile).
        A caller who knows the menu presses their key BARGE_IN_S into the prompt."""
        filename = rest[0] if rest else ""
        escape = rest[1] if len(rest) > 1 else ""
        length = prompt_seconds(filename)
        started = self._now()
        barge = self.barge_in_key(escape)
        press_at = min(BARGE_IN_S, length / 2) if barge else None
        while True:
            elapsed = self._now() - started
            played = elapsed
            if barge and press_at is not None and elapsed >= press_at:
                self.pbx.dtmf(self.call.chan, barge)
                self.call.truth.dtmf += barge
                self.digits.insert(0, barge)
                barge, played = "", press_at  # the playback stopped where the key came
            if self.digits and self.digits[0] in escape:
                key = self.digits.pop(0)
                pos = int(min(played, length) * SAMPLES_PER_S)
                return f"200 result={ord(key)}" + (
                    "" if name.startswith("control") else f" endpos={pos}"
                )
            until = length if not barge or press_at is None else min(length, press_at)
            why = await self._wait(max(0.0, until - elapsed))
            if why == "time" and barge and self._now() - started < length:
                continue  # the caller presses now
            if why == "command":
                return ""
            if why == "hangup":
                pos = int((self._now() - started) * SAMPLES_PER_S)
                return "200 result=-1" + ("" if name.startswith("control") else f" endpos={pos}")
            if why == "time":
                end = int(length * SAMPLES_PER_S)
                return "200 result=0" + ("" if name.startswith("control") else f" endpos={end}")
            if self.digits and self.digits[0] not in escape:
                self.digits.pop(0)  # a key that does not interrupt this prompt is lost

    async def exec(self, app: str, data: str) -> str:
        """``EXEC app data``: Queue, VoiceMail and Dial run as in the dialplan, with the
        channel inside the AGI (Dial: ``sim/dial.py``)."""
        pbx, call = self.pbx, self.call
        self._now()
        if app.lower() == "queue":
            name, _, rest = data.partition(",")
            rule = rule_argument(data, pbx.cfg.asterisk_version)
            pbx.agi_exec_queue(call, name, rest.split(",", 1)[0], rule)
            why = await self._wait_app()
        elif app.lower() == "voicemail":
            pbx.agi_exec_voicemail(call, data)
            why = await self._wait_app()  # the caller hangs up after the message
        elif app.lower() == "dial":
            why = await self._wait_app() if pbx.dialer.start(call, data) else "returned"
        else:
            why = await self._wait(2.0 if app.lower() == "playback" else 0.0)
        return "200 result=-1" if why == "hangup" else "200 result=0"

    async def _wait_app(self) -> str:
        """Until the application returns (``app_returned``) or the caller hangs up."""
        if self.dead:
            return "hangup"
        waiter: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._waiter = waiter
        try:
            return await waiter
        finally:
            self._waiter = None

    def barge_in_key(self, escape: str) -> str:
        """The menu key of a caller who knows the menu, once, at the first prompt that
        takes it (``AgiTarget.barge_in`` of the callers, the same ones on every run)."""
        digit = self.call.plan.menu_digit[:1]
        if self.menu_asked or not digit or digit not in escape:
            return ""
        if self.call.truth.outcome == "answered":  # back after the agent: the survey
            return ""
        if random.Random(f"barge:{self.call.plan.index}").random() >= self.target.barge_in:
            return ""
        self.menu_asked = True
        return digit

    def planned_keys(self) -> str:
        """What the simulated caller types at the first menu prompt, and at the first
        prompt after a talk that the agent ended (the survey)."""
        if self.call.stage == "agi" and self.call.truth.outcome == "answered":
            if self.survey_asked:
                return ""
            self.survey_asked = True
            rng = random.Random(f"survey:{self.call.plan.index}")
            return rng.choices(list(SURVEY_SCORES), weights=list(SURVEY_SCORES.values()))[0]
        if self.menu_asked:
            return ""
        self.menu_asked = True
        return self.call.plan.menu_digit

    async def get_data(self, rest: list[str]) -> str:
        filename = rest[0] if rest else ""
        timeout = (int(rest[1]) if len(rest) > 1 and rest[1].lstrip("-").isdigit() else 0) / 1000
        timeout = timeout if timeout > 0 else 5.0
        max_digits = int(rest[2]) if len(rest) > 2 and rest[2].isdigit() else 1024
        planned = list(self.planned_keys())
        typed = ""
        why = await self._wait(prompt_seconds(filename) if not self.digits else 0.0)
        while why not in ("hangup", "command"):
            if self.digits:
                key = self.digits.pop(0)
            elif planned:
                why = await self._wait(KEY_GAP_S)
                if why != "time":
                    continue
                key = planned.pop(0)
                self._now()
                self.pbx.dtmf(self.call.chan, key)
                self.call.truth.dtmf += key
            else:
                why = await self._wait(timeout)
                if why == "time":
                    return f"200 result={typed} (timeout)"
                continue
            if key == "#":
                return f"200 result={typed}"
            typed += key
            if len(typed) >= max_digits:
                return f"200 result={typed}"
        return "" if why == "command" else "200 result=-1"

    async def wait_for_digit(self, rest: list[str]) -> str:
        timeout_ms = int(rest[0]) if rest and rest[0].lstrip("-").isdigit() else -1
        timeout = timeout_ms / 1000 if timeout_ms > 0 else 30.0
        planned = self.planned_keys()
        if planned and not self.digits:
            why = await self._wait(KEY_GAP_S)
            if why == "hangup":
                return "200 result=-1"
            if why == "command":
                return "200 result=1"  # ast_waitfordigit_full: "the FD ... has something waiting"
            self._now()
            self.pbx.dtmf(self.call.chan, planned[0])
            self.call.truth.dtmf += planned[0]
            return f"200 result={ord(planned[0])}"
        if not self.digits:
            why = await self._wait(timeout)
            if why == "hangup":
                return "200 result=-1"
            if why == "command":
                return "200 result=1"
        if self.digits:
            return f"200 result={ord(self.digits.pop(0))}"
        return "200 result=0"

    # -- channel variables ------------------------------------------------------------
    def lookup(self, name: str) -> str | None:
        chan = self.call.chan
        builtins = {
            "CHANNEL": chan.name,
            "UNIQUEID": chan.uniqueid,
            "EXTEN": chan.exten,
            "CONTEXT": chan.context,
            "PRIORITY": str(chan.priority),
            "CALLERID(num)": chan.caller_num,
            "CALLERID(name)": chan.caller_name,
            "CALLERID(all)": f'"{chan.caller_name}" <{chan.caller_num}>',
            "CALLERID(dnid)": chan.exten,
            "LINKEDID": chan.linkedid,
            "CHANNEL(linkedid)": chan.linkedid,
        }
        if name in builtins:
            return builtins[name]
        return chan.variables.get(name)

    def substitute(self, expr: str) -> str:
        return re.sub(r"\$\{([^}]*)\}", lambda m: self.lookup(m.group(1)) or "", expr)
