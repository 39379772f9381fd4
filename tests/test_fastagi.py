"""Our FastAGI server over real TCP, against Asterisk's side played here line by line."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from agi_fixtures import ivr_fastagi_server, ivr_of

from callcenter.core import events as ev
from callcenter.core.contracts import OwnerInfo, RouteStep
from callcenter.ivr.registry import FlowRegistry
from callcenter.telephony.agi_codec import HangupNotice, Reply, ReplyReader, parse_reply
from callcenter.telephony.fastagi import HAND_OVER_S, FastAgiServer

ROOT = Path(__file__).resolve().parent.parent
CAPTURES = ROOT / "tests" / "data"
DAY = 1795744800.0  # 2026-11-27 10:00 Asia/Shanghai, a Friday
ENV = (ROOT / "tests" / "data" / "fastagi_env.txt").read_text().split("\n\n")[0] + "\n\n"

Responder = Callable[[str], list[str] | None]  # AGI command -> reply lines (None: close)


def replies(digits: dict[str, str] | None = None) -> Responder:
    """Asterisk answering like the captures: keys by prompt name for GET DATA."""
    digits = digits or {}

    def answer(cmd: str) -> list[str] | None:
        if cmd.startswith("GET DATA"):
            prompt = cmd.split('"')[1].rsplit("/", 1)[-1]
            typed = digits.get(prompt, "")
            return [f"200 result={typed}" if typed else "200 result= (timeout)"]
        if cmd.startswith("STREAM FILE"):
            return ["200 result=0 endpos=3404"]
        if cmd.startswith("GET VARIABLE"):
            return ["200 result=0"]
        return ["200 result=1" if cmd.startswith("SET") else "200 result=0"]

    return answer


async def asterisk(port: int, respond: Responder, env: str = ENV) -> list[str]:
    """Play Asterisk's side of one session; returns the commands received."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(env.encode())
    seen: list[str] = []
    try:
        while True:
            line = await asyncio.wait_for(reader.readline(), 60)
            if not line:
                break
            cmd = line.decode().strip()
            seen.append(cmd)
            out = respond(cmd)
            if out is None:
                break
            writer.write("".join(f"{x}\n" for x in out).encode())
            await writer.drain()
    finally:
        writer.close()
    return seen


@pytest.fixture
async def server() -> FastAgiServer:
    registry = FlowRegistry(ROOT / "ivr_flows", hotlines={"5551234": "hotline"},
                            queues={"support", "repair", "complaint"})  # fmt: skip
    assert registry.reload() == []
    events: list[ev.Event] = []

    async def lookup(number: str) -> OwnerInfo | None:
        return OwnerInfo("o1", balances={"31201": 420}) if number == "5550001" else None

    srv = ivr_fastagi_server("127.0.0.1", 0, flows=registry, lookup=lookup, on_event=events.append,
                             clock=lambda: DAY, header_timeout_s=0.3)  # fmt: skip
    srv.events = events  # type: ignore[attr-defined]
    await srv.start()
    yield srv  # type: ignore[misc]
    await srv.close()


def events_of(server: FastAgiServer, kind: type[ev.Event]) -> list[ev.Event]:
    return [x for x in server.events if isinstance(x, kind)]  # type: ignore[attr-defined]


async def settle(server: FastAgiServer) -> None:
    """Until every session has ended (the deadline only bounds a hang)."""
    deadline = time.monotonic() + 60
    while server.sessions:
        assert time.monotonic() < deadline, "sessions still open"
        await asyncio.sleep(0.01)


# --- the codec -------------------------------------------------------------------------------
def test_replies_from_the_captures_and_res_agi() -> None:
    assert parse_reply("200 result=1 (5550001)") == Reply(
        200, "1", "5550001", None, "200 result=1 (5550001)"
    )
    assert parse_reply("200 result=0 endpos=3404").endpos == 3404
    timeout = parse_reply("200 result= (timeout)")
    assert timeout.result == "" and timeout.timed_out
    assert parse_reply("200 result=42 (timeout)").result == "42"
    assert parse_reply("200 result=-1").hung_up
    dead = parse_reply("511 Command Not Permitted on a dead channel or intercept routine")
    assert dead.code == 511 and dead.hung_up
    assert parse_reply("510 Invalid or unknown command").code == 510
    reader = ReplyReader()
    assert isinstance(reader.feed(b"HANGUP\n"), HangupNotice)
    assert reader.feed(b"520-Invalid command syntax.  Proper usage follows:\n") is None
    assert reader.feed(b" Usage: GET DATA <file to be streamed> [timeout] [max digits]\n") is None
    usage = reader.feed(b"520 End of proper usage.\n")
    assert isinstance(usage, Reply) and usage.code == 520 and "GET DATA" in usage.text
    assert reader.feed(b"200 result=0\n") == parse_reply("200 result=0")


# --- sessions --------------------------------------------------------------------------------
async def test_a_repair_call_is_handed_to_the_repair_queue(server: FastAgiServer) -> None:
    seen = await asterisk(server.port, replies({"main_menu": "1"}))
    assert seen[:2] == ['GET VARIABLE "CHANNEL(linkedid)"', "ANSWER"]
    assert 'STREAM FILE "callcenter/zh/welcome" "123409"' in seen
    assert 'GET DATA "callcenter/zh/main_menu" "3000" "1"' in seen
    assert seen[-1] == 'SET VARIABLE "HOTLINE_ROUTE" "repair"'
    await settle(server)
    (left,) = events_of(server, ev.IvrLeft)
    assert (left.outcome, left.target) == ("queue", "repair")  # type: ignore[attr-defined]
    assert left.path[-2:] == ("main", "repair")  # type: ignore[attr-defined]
    assert [x.kind for x in server.events][:2] == ["ivr_entered", "caller_identified"]  # type: ignore[attr-defined]
    assert server.stats["completed"] == 1


async def test_fees_balance_is_read_back_with_say_number(server: FastAgiServer) -> None:
    seen = await asterisk(server.port, replies({"main_menu": "3", "enter_unit": "31201"}))
    assert 'SAY NUMBER "420" ""' in seen
    assert seen[-1] == "HANGUP"  # nothing pressed after the balance: goodbye


async def test_connection_closed_before_the_end_of_the_headers_costs_nothing(
    server: FastAgiServer,
) -> None:
    # The header timeout an hour away: a peer gone mid-headers is refused when it goes,
    # and the next session is served meanwhile, not after anyone's timeout.
    server.header_timeout_s = 3600.0
    for partial in (b"", b"agi_network: yes\nagi_chan", b"agi_network: yes\n"):
        _, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(partial)
        await writer.drain()
        writer.close()
    seen = await asterisk(server.port, replies({"main_menu": "2"}))
    assert seen[-1] == 'SET VARIABLE "QUEUE_PRIO" "2"'
    await settle(server)
    deadline = time.monotonic() + 60
    while server.stats["refused"] < 3:
        assert time.monotonic() < deadline, f"refused only {server.stats['refused']}"
        await asyncio.sleep(0.01)
    assert server.stats["refused"] == 3 and server.stats["completed"] == 1


async def test_silent_and_garbage_peers_are_cut_after_the_header_timeout(
    server: FastAgiServer,
) -> None:
    silent_r, silent_w = await asyncio.open_connection("127.0.0.1", server.port)
    junk_r, junk_w = await asyncio.open_connection("127.0.0.1", server.port)
    junk_w.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert await asyncio.wait_for(junk_r.read(), 60) == b""  # closed at once
    assert await asyncio.wait_for(silent_r.read(), 60) == b""  # closed after 0.3 s
    silent_w.close()
    junk_w.close()
    assert server.stats["refused"] == 2 and server.stats["sessions"] == 0


async def test_hangup_line_does_not_shift_later_replies(server: FastAgiServer) -> None:
    def respond(cmd: str) -> list[str] | None:
        if cmd.startswith("GET DATA"):
            # the caller hangs up while the prompt plays: HANGUP, then the reply
            return ["HANGUP", "200 result=-1"]
        return replies()(cmd)

    seen = await asterisk(server.port, respond)
    await settle(server)
    assert seen[-1].startswith("GET DATA")  # nothing sent after the hangup
    (left,) = events_of(server, ev.IvrLeft)
    assert left.outcome == "caller_hangup" and left.path[-1] == "main"  # type: ignore[attr-defined]
    assert server.stats["completed"] == 1 and server.stats["failed"] == 0


async def test_hangup_during_the_welcome_records_the_path_up_to_the_welcome(
    server: FastAgiServer,
) -> None:
    def respond(cmd: str) -> list[str] | None:
        if cmd.startswith("STREAM FILE"):  # the caller hangs up while welcome plays
            return ["HANGUP", "200 result=-1 endpos=1200"]
        return replies()(cmd)

    seen = await asterisk(server.port, respond)
    await settle(server)
    assert seen[-1].startswith("STREAM FILE") and "welcome" in seen[-1]
    (left,) = events_of(server, ev.IvrLeft)
    assert left.outcome == "caller_hangup"  # type: ignore[attr-defined]
    assert left.path == ("hours", "holiday_check", "welcome")  # type: ignore[attr-defined]


def pressing(key: str, during: str, digits: dict[str, str] | None = None) -> Responder:
    """Asterisk whose caller presses ``key`` 1 s into prompt ``during``: STREAM FILE stops
    there if the key is among its escape digits (res_agi.c handle_streamfile)."""

    def answer(cmd: str) -> list[str] | None:
        if cmd.startswith("STREAM FILE") and f'/{during}"' in cmd:
            escape = cmd.split('"')[3]
            if key in escape:
                return [f"200 result={ord(key)} endpos=8000"]
        return replies(digits)(cmd)

    return answer


async def test_a_key_during_the_welcome_goes_straight_where_it_leads(
    server: FastAgiServer,
) -> None:
    seen = await asterisk(server.port, pressing("2", "welcome"))
    prompts = [c for c in seen if c.startswith(("STREAM FILE", "GET DATA", "WAIT FOR DIGIT"))]
    assert prompts == [
        'STREAM FILE "callcenter/zh/welcome" "123409"',  # exactly the main menu's keys
        'STREAM FILE "callcenter/zh/connecting" ""',  # the menu was not played
    ]
    assert seen[-1] == 'SET VARIABLE "QUEUE_PRIO" "2"'
    assert 'SET VARIABLE "HOTLINE_ROUTE" "complaint"' in seen
    await settle(server)
    (choice,) = events_of(server, ev.IvrChoice)
    assert (choice.node, choice.digits, choice.target) == ("main", "2", "complaint")  # type: ignore[attr-defined]


async def test_a_key_the_welcome_does_not_take_is_not_a_choice(server: FastAgiServer) -> None:
    # 7 leads nowhere: the welcome plays through, and the menu is asked as usual
    seen = await asterisk(server.port, pressing("7", "welcome", {"main_menu": "1"}))
    assert 'GET DATA "callcenter/zh/main_menu" "3000" "1"' in seen
    assert 'SET VARIABLE "HOTLINE_ROUTE" "repair"' in seen


async def test_a_key_during_the_welcome_asks_for_the_unit_at_once(server: FastAgiServer) -> None:
    seen = await asterisk(server.port, pressing("3", "welcome", {"enter_unit": "31201"}))
    prompts = [c for c in seen if c.startswith(("STREAM FILE", "GET DATA"))]
    assert prompts[:2] == ['STREAM FILE "callcenter/zh/welcome" "123409"',
                           'GET DATA "callcenter/zh/enter_unit" "8000" "8"']  # fmt: skip
    assert 'SAY NUMBER "420" ""' in seen  # the owner's balance, read back
    await settle(server)
    choices = [(c.node, c.digits) for c in events_of(server, ev.IvrChoice)]  # type: ignore[attr-defined]
    assert choices[:2] == [("main", "3"), ("fees_unit", "31201")]


async def test_a_key_for_a_menu_the_call_does_not_reach_is_lost() -> None:
    registry = FlowRegistry(ROOT / "ivr_flows", hotlines={"5551234": "hotline"},
                            queues={"support", "repair", "complaint"})  # fmt: skip
    assert registry.reload() == []

    async def lookup(number: str) -> OwnerInfo | None:  # an owner with a housekeeper
        return OwnerInfo("o2", housekeeper_interface="PJSIP/1005")

    events: list[ev.Event] = []
    srv = ivr_fastagi_server("127.0.0.1", 0, flows=registry, lookup=lookup,
                             on_event=events.append, clock=lambda: DAY)  # fmt: skip
    await srv.start()
    try:
        seen = await asterisk(srv.port, pressing("1", "welcome"))
    finally:
        await srv.close()
    assert 'STREAM FILE "callcenter/zh/to_housekeeper" ""' in seen  # played, not skipped
    assert 'EXEC Dial "PJSIP/1005,20,g"' in seen
    assert not any(isinstance(x, ev.IvrChoice) for x in events)  # "1" chose nothing


async def test_hangup_notice_before_a_normal_reply_keeps_replies_in_step(
    server: FastAgiServer,
) -> None:
    def respond(cmd: str) -> list[str] | None:
        if cmd == "ANSWER":
            return ["HANGUP", "200 result=0"]  # notice first, then ANSWER's own reply
        if cmd.startswith("STREAM FILE"):
            return ["511 Command Not Permitted on a dead channel or intercept routine"]
        return replies()(cmd)

    seen = await asterisk(server.port, respond)
    await settle(server)
    assert seen == [
        'GET VARIABLE "CHANNEL(linkedid)"',
        "ANSWER",
        'STREAM FILE "callcenter/zh/welcome" "123409"',
    ]
    (left,) = events_of(server, ev.IvrLeft)
    assert left.outcome == "caller_hangup"  # type: ignore[attr-defined]
    # where it hung up
    assert left.path == ("hours", "holiday_check", "welcome")  # type: ignore[attr-defined]


async def test_multiline_520_reply_is_read_whole(server: FastAgiServer) -> None:
    def respond(cmd: str) -> list[str] | None:
        if cmd.startswith("STREAM FILE") and "welcome" in cmd:
            return ["520-Invalid command syntax.  Proper usage follows:",
                    " Usage: STREAM FILE <filename> <escape digits> [sample offset]",
                    "520 End of proper usage."]  # fmt: skip
        return replies({"main_menu": "2"})(cmd)

    seen = await asterisk(server.port, respond)
    assert seen[-1] == 'SET VARIABLE "QUEUE_PRIO" "2"'


async def test_disconnect_mid_command_ends_the_session_with_its_path(server: FastAgiServer) -> None:
    def respond(cmd: str) -> list[str] | None:
        return None if cmd.startswith("GET DATA") else replies()(cmd)

    await asterisk(server.port, respond)
    await settle(server)
    (left,) = events_of(server, ev.IvrLeft)
    assert left.outcome == "caller_hangup" and left.path[-1] == "main"  # type: ignore[attr-defined]
    assert server.stats["failed"] == 0


async def test_sessions_are_isolated_from_each_other_and_from_bad_handlers(
    server: FastAgiServer,
) -> None:
    def boom(event: ev.Event) -> None:
        raise RuntimeError("handler bug")

    ivr_of(server).on_event = boom
    stalled_r, stalled_w = await asyncio.open_connection("127.0.0.1", server.port)
    stalled_w.write(ENV.encode())  # a session that never answers its first command
    await stalled_r.readline()
    results = await asyncio.gather(
        *(asterisk(server.port, replies({"main_menu": "1"})) for _ in range(20))
    )
    assert all(r[-1] == 'SET VARIABLE "HOTLINE_ROUTE" "repair"' for r in results)
    stalled_w.close()


# --- every end tells the dialplan how (HOTLINE_ROUTE) --------------------------------------
NIGHT = DAY + 12.5 * 3600  # 2026-11-27 22:30 Asia/Shanghai: the hotline is closed


async def test_the_goodbye_says_hangup_before_it_plays(server: FastAgiServer) -> None:
    seen = await asterisk(server.port, replies({"main_menu": "3", "enter_unit": "31201"}))
    route = seen.index('SET VARIABLE "HOTLINE_ROUTE" "hangup"')
    assert seen[route + 1] == 'STREAM FILE "callcenter/zh/goodbye" ""'
    assert seen[route + 2 :] == ["HANGUP"]


async def test_voicemail_is_handed_to_the_dialplan_with_its_mailbox(server: FastAgiServer) -> None:
    ivr_of(server).clock = lambda: NIGHT
    seen = await asterisk(server.port, replies())
    route = seen.index('SET VARIABLE "HOTLINE_ROUTE" "voicemail"')
    assert seen[route - 1] == 'SET VARIABLE "HOTLINE_MAILBOX" "100@default"'
    assert seen[route + 1 :] == ['STREAM FILE "callcenter/zh/leave_message" ""']  # then the end
    assert not any(c.startswith(("EXEC", "HANGUP")) for c in seen)
    await settle(server)
    (left,) = events_of(server, ev.IvrLeft)
    assert (left.outcome, left.target) == ("voicemail", "100@default")  # type: ignore[attr-defined]


async def test_a_number_without_a_flow_reaches_the_fallback_not_a_hangup(
    server: FastAgiServer,
) -> None:
    ivr_of(server).flows.default_flow = "no_such_flow"
    env = ENV.replace("agi_network_script: hotline", "agi_network_script: nothing")
    env = env.replace("agi_arg_1: 5551234", "agi_arg_1: 5550000")
    assert await asterisk(server.port, replies(), env) == [
        'SET VARIABLE "HOTLINE_ROUTE" "fallback"'
    ]


async def test_exec_mode_names_no_route_before_the_queue(server: FastAgiServer) -> None:
    ivr_of(server).queue_mode = "exec"

    def respond(cmd: str) -> list[str] | None:
        return None if cmd.startswith("EXEC") else replies({"main_menu": "2"})(cmd)

    seen = await asterisk(server.port, respond)
    assert seen[-1] == 'EXEC Queue "complaint,c,,,120"'
    # should the session end inside the queue, QUEUESTATUS decides, not a stale queue name
    assert not any(c.startswith('SET VARIABLE "HOTLINE_ROUTE"') for c in seen)


async def stopped_while(server: FastAgiServer, waits_at: str, answer_hand_over: bool = True,
                        ) -> tuple[list[str], float]:  # fmt: skip
    """Asterisk's side of a session that is at ``waits_at`` (no reply) when the server
    closes; the commands it got, and how long close() took."""
    at_it = asyncio.Event()
    route = ""

    def respond(cmd: str) -> list[str] | None:
        nonlocal route
        if cmd.startswith(waits_at):
            at_it.set()
            return []  # playing, ringing...: no reply yet
        if cmd.startswith('SET VARIABLE "HOTLINE_ROUTE"'):
            route = cmd.split('"')[3]
        if not answer_hand_over and at_it.is_set():
            return []
        if cmd == 'GET VARIABLE "HOTLINE_ROUTE"':
            return [f"200 result=1 ({route})"]
        return replies()(cmd)

    session = asyncio.ensure_future(asterisk(server.port, respond))
    await asyncio.wait_for(at_it.wait(), 5)
    started = time.perf_counter()
    await server.close()
    took = time.perf_counter() - started
    return await asyncio.wait_for(session, 10), took


@pytest.mark.parametrize("how", ["close", "abort"])
async def test_a_connection_still_sending_its_headers_is_closed_by_a_stop(
    server: FastAgiServer, how: str
) -> None:
    # Asterisk connected a moment before the stop: its socket must close (as a dying
    # process's would), or the caller would wait in the AGI until the process is gone.
    server.header_timeout_s = 3600.0
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"agi_network: yes\nagi_channel: PJSIP/trunk-00000001\n")
    await writer.drain()
    deadline = time.monotonic() + 60
    while not server.sessions:
        assert time.monotonic() < deadline, "the connection was not accepted"
        await asyncio.sleep(0.01)
    await (server.close() if how == "close" else server.abort())
    assert await asyncio.wait_for(reader.read(), 60) == b""  # the end of the socket
    assert not server.sessions
    writer.close()


async def test_stopping_hands_a_caller_in_the_menu_to_the_fallback_at_once(
    server: FastAgiServer,
) -> None:
    seen, took = await stopped_while(server, 'GET DATA "callcenter/zh/main_menu"')
    # written while GET DATA still plays: res_agi.c cuts it for the new command
    assert seen[-3:] == ['GET DATA "callcenter/zh/main_menu" "3000" "1"',
                         'SET VARIABLE "HOTLINE_ROUTE" "fallback"',
                         'GET VARIABLE "HOTLINE_ROUTE"']  # fmt: skip
    assert took < HAND_OVER_S and server.stats["handed_over"] == 1  # confirmed, not timed out
    (left,) = events_of(server, ev.IvrLeft)
    assert (left.outcome, left.path[-1]) == ("fallback", "main")  # type: ignore[attr-defined]


async def test_stopping_leaves_a_caller_inside_a_dial_to_the_dial(server: FastAgiServer) -> None:
    async def lookup(number: str) -> OwnerInfo | None:
        return OwnerInfo("o7", housekeeper_interface="PJSIP/1005")

    ivr_of(server).lookup = lookup
    seen, _ = await stopped_while(server, "EXEC Dial")
    assert seen[-1] == 'EXEC Dial "PJSIP/1005,20,g"'  # nothing after it: DIALSTATUS decides
    assert server.stats["handed_over"] == 0
    (left,) = events_of(server, ev.IvrLeft)
    assert (left.outcome, left.target) == ("dial", "PJSIP/1005")  # type: ignore[attr-defined]


async def test_an_unconfirmed_hand_over_does_not_hold_the_stop(server: FastAgiServer) -> None:
    seen, took = await stopped_while(server, 'GET DATA "callcenter/zh/main_menu"',
                                     answer_hand_over=False)  # fmt: skip
    assert seen[-1] == 'GET VARIABLE "HOTLINE_ROUTE"'
    assert took < 5.0


async def test_a_zone_queue_named_like_an_end_is_not_taken_for_one(server: FastAgiServer) -> None:
    async def lookup(number: str) -> OwnerInfo | None:
        return OwnerInfo("o7", housekeeper_interface="PJSIP/1005")

    ivr = ivr_of(server)
    ivr.lookup = lookup
    ivr.route_housekeeper = lambda owner, now: [RouteStep("zone_queue", "hangup", wait_s=60)]
    seen = await asterisk(server.port, replies())
    assert seen[-1] == 'SET VARIABLE "HOTLINE_ROUTE" "fallback"'  # not a hang-up
