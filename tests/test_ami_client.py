"""AmiClient against a scripted AMI server over real TCP (127.0.0.1, ephemeral port).

One regression test per panoramisk 1.4 defect listed in issue 2, plus the client's own
guarantees (ordering, resync inside on_link_up, backoff, heartbeat, no secret in logs).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import structlog
from amiserver import AmiConnection, AmiServer, reply_to

from callcenter.telephony.ami import (
    AmiActionError,
    AmiActionTimeout,
    AmiClient,
    AmiConnectionError,
    AmiConnectionLost,
    AmiLoginError,
    AmiNotConnected,
    backoff_delay,
)
from callcenter.telephony.ami_codec import AmiParser, encode_action

SECRET = "s3cr3t-pass"
CAPTURE = next(
    (
        path
        for path in (
            Path(__file__).parent / "data" / "ami_events_queue_calls.txt",
            Path("/work/shared/asterisk-captures/ami_events_queue_calls.txt"),
        )
        if path.exists()
    ),
    Path("ami_events_queue_calls.txt"),
)


async def until(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    """Until ``condition()``; the deadline only bounds a hang (the machine may be busy)."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.005)


class Recorder:
    """The callbacks a service would pass in, writing down what they saw."""

    def __init__(self) -> None:
        self.events: list[dict[str, str]] = []
        self.ups: list[bool] = []
        self.downs: list[str] = []

    def on_event(self, message: dict[str, str]) -> None:
        self.events.append(message)

    async def on_link_up(self, reconnect: bool) -> None:
        self.ups.append(reconnect)

    def on_link_down(self, reason: str) -> None:
        self.downs.append(reason)

    def names(self) -> list[str]:
        return [e["Event"] for e in self.events]


@pytest.fixture
async def server() -> AsyncIterator[AmiServer]:
    async with AmiServer(secret=SECRET) as ami_server:
        yield ami_server


ClientFactory = Callable[..., AmiClient]


@pytest.fixture
async def make_client(server: AmiServer) -> AsyncIterator[ClientFactory]:
    made: list[AmiClient] = []

    def make(recorder: Recorder | None = None, **options: Any) -> AmiClient:
        rec = recorder or Recorder()
        settings: dict[str, Any] = {
            "on_event": rec.on_event,
            "on_link_up": rec.on_link_up,
            "on_link_down": rec.on_link_down,
            "action_timeout": 1.0,
            "ping_interval": 10.0,
            "ping_timeout": 1.0,
            "backoff_initial": 0.01,
            "backoff_max": 0.04,
            "rng": random.Random(7),
        }
        settings.update(options)
        secret = settings.pop("secret", SECRET)
        client = AmiClient("127.0.0.1", server.port, "callcenter", secret, **settings)
        made.append(client)
        return client

    yield make
    for client in made:
        await client.close()


def event(name: str, **fields: str) -> dict[str, str]:
    return {"Event": name, "Privilege": "call,all", **fields}


# --- 1. an exception in an event callback drops the connection -----------------------------


async def test_event_handler_exception_keeps_link_and_later_events_arrive(
    server: AmiServer, make_client: ClientFactory
) -> None:
    seen: list[str] = []

    def on_event(message: dict[str, str]) -> None:
        seen.append(message["Event"])
        if message["Event"] == "Boom":
            raise RuntimeError("handler bug")

    client = make_client(on_event=on_event)
    await client.start()
    await server.broadcast(event("Boom"), event("Hangup", Uniqueid="1.0"))
    await until(lambda: seen == ["Boom", "Hangup"])
    assert client.connected
    assert (await client.send_action({"Action": "Ping"}))["Ping"] == "Pong"
    assert server.connections_accepted == 1


# --- 2. Originate without Async ----------------------------------------------------------------


async def test_originate_without_async_returns_reply_and_link_stays_up(
    server: AmiServer, make_client: ClientFactory
) -> None:
    async def originate(conn: AmiConnection, action: dict[str, str]) -> None:
        await asyncio.sleep(0.02)  # Asterisk answers once the call is up
        await conn.send(reply_to(action, Message="Originate successfully queued"))

    server.on("Originate", originate)
    client = make_client()
    await client.start()
    reply = await client.send_action(
        {"Action": "Originate", "Channel": "PJSIP/1001", "Application": "Wait", "Data": "1"}
    )
    assert reply["Response"] == "Success"
    assert client.connected
    assert (await client.send_action({"Action": "Ping"}))["Ping"] == "Pong"


async def test_originate_async_reply_then_originate_response_event(
    server: AmiServer, make_client: ClientFactory
) -> None:
    async def originate(conn: AmiConnection, action: dict[str, str]) -> None:
        await conn.send(reply_to(action, Message="Originate successfully queued"))
        await asyncio.sleep(0.01)
        await conn.send(
            event(
                "OriginateResponse",
                ActionID=action["ActionID"],
                Response="Success",
                Channel="PJSIP/1001-00000001",
                Uniqueid="1795731600.7",
            )
        )

    server.on("Originate", originate)
    rec = Recorder()
    client = make_client(rec)
    await client.start()
    reply = await client.send_action(
        {"Action": "Originate", "Channel": "PJSIP/1001", "Exten": "100", "Async": "true"}
    )
    assert reply["Message"] == "Originate successfully queued"
    await until(lambda: rec.names() == ["OriginateResponse"])
    assert rec.events[0]["ActionID"] == reply["ActionID"]
    assert client.connected


# --- 3. actions while disconnected; no replay after reconnect ----------------------------------


async def test_action_while_disconnected_raises_at_once(
    server: AmiServer, make_client: ClientFactory
) -> None:
    client = make_client()
    with pytest.raises(AmiNotConnected):
        await client.send_action({"Action": "Ping"})
    await client.start()
    await server.stop_listening()
    server.drop_all()
    await until(lambda: not client.connected)
    async with asyncio.timeout(0.1):
        with pytest.raises(AmiNotConnected):
            await client.send_action({"Action": "Originate", "Channel": "PJSIP/1001"})
    assert server.counts["originate"] == 0


async def test_action_in_flight_fails_on_drop_and_is_never_resent(
    server: AmiServer, make_client: ClientFactory
) -> None:
    async def originate(conn: AmiConnection, action: dict[str, str]) -> None:
        conn.drop()  # the link dies before Asterisk could answer

    server.on("Originate", originate)
    rec = Recorder()
    client = make_client(rec)
    await client.start()
    with pytest.raises((AmiConnectionLost, AmiNotConnected)):
        await client.send_action({"Action": "Originate", "Channel": "PJSIP/1001"})
    await server.wait_for_logins(2)
    await until(lambda: rec.ups == [False, True])
    await client.send_action({"Action": "Ping"})  # everything the client wrote has arrived
    assert server.counts["originate"] == 1
    assert len(rec.downs) == 1


# --- 4. "successfully queued" reply ------------------------------------------------------------


async def test_successfully_queued_reply_is_a_normal_reply(
    server: AmiServer, make_client: ClientFactory
) -> None:
    async def play_dtmf(conn: AmiConnection, action: dict[str, str]) -> None:
        await conn.send(reply_to(action, Message="DTMF successfully queued"))

    server.on("PlayDTMF", play_dtmf)
    client = make_client()
    await client.start()
    reply = await client.send_action(
        {"Action": "PlayDTMF", "Channel": "Local/5551234@from-pstn-00000000;1", "Digit": "4"}
    )
    assert reply == {
        "Response": "Success",
        "ActionID": reply["ActionID"],
        "Message": "DTMF successfully queued",
    }
    assert client.connected
    assert (await client.send_action({"Action": "Ping"}))["Ping"] == "Pong"
    assert server.connections_accepted == 1


# --- 5. close() stops reconnecting; wrong credentials ------------------------------------------


async def test_close_stops_reconnecting(server: AmiServer, make_client: ClientFactory) -> None:
    client = make_client()
    await client.start()
    await client.close()
    assert not client.connected
    await asyncio.sleep(0.15)  # several backoff periods
    assert server.connections_accepted == 1
    assert server.counts["logoff"] == 1
    with pytest.raises(AmiNotConnected):
        await client.send_action({"Action": "Ping"})


async def test_close_while_backing_off_stops_reconnecting(
    server: AmiServer, make_client: ClientFactory
) -> None:
    client = make_client(backoff_initial=0.05, backoff_max=0.05)
    await client.start()
    server.drop_all()
    await until(lambda: not client.connected)
    await client.close()
    before = server.connections_accepted
    await asyncio.sleep(0.15)
    assert server.connections_accepted == before == 1


async def test_wrong_credentials_raise_login_error_from_start(
    server: AmiServer, make_client: ClientFactory
) -> None:
    client = make_client(secret="wrong")
    with pytest.raises(AmiLoginError, match="refused login for user 'callcenter'") as info:
        await client.start()
    assert "Authentication failed" in str(info.value)
    assert "wrong" not in str(info.value)
    await asyncio.sleep(0.1)
    assert server.connections_accepted == 1  # start() failed: nothing retries behind our back
    assert not client.connected


async def test_unreachable_server_raises_connection_error(
    server: AmiServer, make_client: ClientFactory
) -> None:
    await server.stop_listening()
    client = make_client()
    with pytest.raises(AmiConnectionError, match="cannot connect"):
        await client.start()


async def test_login_failure_after_reconnect_is_logged_and_backed_off(
    server: AmiServer, make_client: ClientFactory
) -> None:
    delays: list[float] = []

    async def sleep(delay: float) -> None:
        delays.append(delay)
        await asyncio.sleep(0.001)

    rec = Recorder()
    client = make_client(rec, sleep=sleep, backoff_initial=0.01, backoff_max=0.16)
    await client.start()
    server.secret = "rotated"
    with structlog.testing.capture_logs() as logs:
        server.drop_all()
        await until(lambda: server.login_failures >= 5)
        failures = [e for e in logs if e["event"] == "ami_login_failed"]
        assert len(failures) >= 4
        assert all(e["log_level"] == "error" for e in failures)
        assert "refused login" in failures[0]["error"]
        server.secret = SECRET
        await until(lambda: rec.ups == [False, True])
    for attempt, delay in enumerate(delays[:5]):  # backing off, not hammering
        ceiling = min(0.16, 0.01 * 2**attempt)
        assert ceiling / 2 <= delay <= ceiling


# --- 6. heartbeat ------------------------------------------------------------------------------


async def test_heartbeat_declares_a_silent_link_dead_and_reconnects(
    server: AmiServer, make_client: ClientFactory
) -> None:
    rec = Recorder()
    # A pong late by a second on a busy machine is not yet a dead link.
    client = make_client(rec, ping_interval=0.05, ping_timeout=1.0)
    await client.start()
    await until(lambda: server.counts["ping"] >= 1)  # pings flow and are answered
    assert client.connected
    server.silent = True  # the socket stays open, nothing comes back
    await until(lambda: len(rec.downs) == 1)
    assert "Ping" in rec.downs[0]
    server.silent = False
    await until(lambda: rec.ups == [False, True])
    assert client.connected
    assert server.connections_accepted == 2


# --- 7. UTF-8 split across reads ---------------------------------------------------------------


async def test_multibyte_character_split_across_reads_arrives_intact(
    server: AmiServer, make_client: ClientFactory
) -> None:
    rec = Recorder()
    client = make_client(rec)
    await client.start()
    data = encode_action(event("NewCallerid", CallerIDName="Zoë", Uniqueid="1.0"))
    cut = data.index("ë".encode()) + 1
    await server.broadcast_raw(data[:cut])
    await asyncio.sleep(0.02)  # the client reads the first half on its own
    await server.broadcast_raw(data[cut:])
    await until(lambda: len(rec.events) == 1)
    assert rec.events[0]["CallerIDName"] == "Zoë"


# --- 8. list actions and timeouts --------------------------------------------------------------


async def test_list_action_with_single_reply_returns_it_instead_of_hanging(
    server: AmiServer, make_client: ClientFactory
) -> None:
    client = make_client()
    await client.start()
    replies = await client.send_list_action({"Action": "Ping"})  # no AmiActionTimeout
    assert [r["Ping"] for r in replies] == ["Pong"]


async def test_list_action_collects_events_until_complete(
    server: AmiServer, make_client: ClientFactory
) -> None:
    async def core_show_channels(conn: AmiConnection, action: dict[str, str]) -> None:
        aid = action["ActionID"]
        await conn.send(
            reply_to(action, EventList="start", Message="Channels will follow"),
            event("CoreShowChannel", ActionID=aid, Channel="PJSIP/1001-0001", Uniqueid="1.0"),
            event("Hangup", Uniqueid="9.9"),  # a live event in between: not part of the list
            event("CoreShowChannel", ActionID=aid, Channel="PJSIP/1002-0002", Uniqueid="1.1"),
            event("CoreShowChannelsComplete", ActionID=aid, EventList="Complete", ListItems="2"),
        )

    server.on("CoreShowChannels", core_show_channels)
    rec = Recorder()
    client = make_client(rec)
    await client.start()
    replies = await client.send_list_action({"Action": "CoreShowChannels"})
    assert [r.get("Event", r.get("Response")) for r in replies] == [
        "Success",
        "CoreShowChannel",
        "CoreShowChannel",
        "CoreShowChannelsComplete",
    ]
    assert rec.names() == ["Hangup"]


async def test_every_action_times_out(server: AmiServer, make_client: ClientFactory) -> None:
    async def never(conn: AmiConnection, action: dict[str, str]) -> None:
        return None

    server.on("QueueStatus", never)
    client = make_client(action_timeout=0.05)
    await client.start()
    with pytest.raises(AmiActionTimeout, match="QueueStatus"):
        await client.send_list_action({"Action": "QueueStatus"})
    with pytest.raises(AmiActionTimeout):
        await client.send_action({"Action": "QueueStatus"}, timeout=0.02)
    assert client.connected  # a slow action is not a dead link


async def test_rest_of_a_timed_out_list_is_not_taken_for_live_events(
    server: AmiServer, make_client: ClientFactory
) -> None:
    async def slow_list(conn: AmiConnection, action: dict[str, str]) -> None:
        aid = action["ActionID"]
        await conn.send(reply_to(action, EventList="start", Message="Channels will follow"))
        await asyncio.sleep(0.08)  # longer than the action's timeout
        await conn.send(
            event("CoreShowChannel", ActionID=aid, Uniqueid="1.0"),
            event("CoreShowChannelsComplete", ActionID=aid, EventList="Complete"),
            event("Hangup", Uniqueid="2.0"),
        )

    server.on("CoreShowChannels", slow_list)
    rec = Recorder()
    client = make_client(rec)
    await client.start()
    with pytest.raises(AmiActionTimeout):
        await client.send_list_action({"Action": "CoreShowChannels"}, timeout=0.03)
    await until(lambda: rec.names() == ["Hangup"])
    await server.broadcast(event("CoreShowChannel", ActionID="someone-else"))
    await until(lambda: len(rec.events) == 2)


async def test_error_response_raises_action_error(
    server: AmiServer, make_client: ClientFactory
) -> None:
    client = make_client()
    await client.start()
    with pytest.raises(AmiActionError, match="Invalid/unknown command") as info:
        await client.send_action({"Action": "NoSuchAction"})
    assert info.value.reply["Response"] == "Error"
    assert client.connected


# --- 9. events in wire order, synchronously ---------------------------------------------------


async def test_events_are_delivered_in_wire_order_across_split_writes(
    server: AmiServer, make_client: ClientFactory
) -> None:
    if not CAPTURE.exists():
        pytest.skip("capture not available")
    stream = CAPTURE.read_bytes().replace(b"\n", b"\r\n")
    expected = AmiParser().feed(stream)
    rec = Recorder()
    client = make_client(rec)
    await client.start()
    server.chunk_size = 1531  # odd size: cuts land inside lines and characters
    await server.broadcast_raw(stream)
    await until(lambda: len(rec.events) == len(expected))
    assert rec.events == expected


async def test_handler_runs_synchronously_before_the_next_read(
    server: AmiServer, make_client: ClientFactory
) -> None:
    order: list[str] = []

    def on_event(message: dict[str, str]) -> None:
        order.append(message["Event"])

    client = make_client(on_event=on_event)
    await client.start()
    await server.broadcast(event("Newchannel"), event("Newstate"), event("Hangup"))
    await client.send_action({"Action": "Ping"})  # its reply follows the events on the wire
    assert order == ["Newchannel", "Newstate", "Hangup"]


# --- on_link_up: resync with actions, live events held and delivered after ---------------------


async def test_actions_work_in_on_link_up_and_events_meanwhile_are_held_in_order(
    server: AmiServer, make_client: ClientFactory
) -> None:
    async def login_then_event(conn: AmiConnection, action: dict[str, str]) -> None:
        conn.logged_in = True
        server.logins += 1
        # Asterisk may send an event in the same write as the Login reply.
        await conn.send(
            reply_to(action, Message="Authentication accepted"), event("Newchannel", Uniqueid="1")
        )

    async def queue_status(conn: AmiConnection, action: dict[str, str]) -> None:
        await conn.send(
            reply_to(action, EventList="start", Message="Queue status will follow"),
            event("Newstate", Uniqueid="1"),
            event("QueueStatusComplete", ActionID=action["ActionID"], EventList="Complete"),
            event("Hangup", Uniqueid="1"),
        )

    server.on("Login", login_then_event)
    server.on("QueueStatus", queue_status)
    log: list[str] = []

    async def on_link_up(reconnect: bool) -> None:
        log.append(f"up reconnect={reconnect}")
        replies = await client.send_list_action({"Action": "QueueStatus"})
        log.append(f"resync {len(replies)}")
        await asyncio.sleep(0.01)  # events keep arriving meanwhile
        log.append("resync done")

    client = make_client(
        on_event=lambda m: log.append(m["Event"]), on_link_up=on_link_up, on_link_down=None
    )
    await client.start()
    await until(lambda: "Hangup" in log)
    assert log == [
        "up reconnect=False",
        "resync 2",
        "resync done",
        "Newchannel",
        "Newstate",
        "Hangup",
    ]


async def test_failing_on_link_up_is_logged_and_events_still_flow(
    server: AmiServer, make_client: ClientFactory
) -> None:
    rec = Recorder()

    async def on_link_up(reconnect: bool) -> None:
        raise RuntimeError("resync bug")

    client = make_client(rec, on_link_up=on_link_up)
    with structlog.testing.capture_logs() as logs:
        await client.start()
    assert any(e["event"] == "ami_link_up_handler_failed" for e in logs)
    await server.broadcast(event("Hangup"))
    await until(lambda: rec.names() == ["Hangup"])


# --- reconnect, backoff, ids, logs -------------------------------------------------------------


async def test_link_down_is_reported_and_link_comes_back(
    server: AmiServer, make_client: ClientFactory
) -> None:
    rec = Recorder()
    client = make_client(rec)
    await client.start()
    server.drop_all()
    await until(lambda: rec.ups == [False, True])
    assert rec.downs == ["connection closed by the server"]
    await server.broadcast(event("Hangup"))
    await until(lambda: rec.names() == ["Hangup"])


async def test_reconnect_backoff_grows_with_jitter_and_is_capped(
    server: AmiServer, make_client: ClientFactory
) -> None:
    delays: list[float] = []

    async def sleep(delay: float) -> None:
        delays.append(delay)
        await asyncio.sleep(0)

    client = make_client(sleep=sleep, backoff_initial=0.5, backoff_max=4.0)
    await client.start()
    await server.stop_listening()
    server.drop_all()
    await until(lambda: len(delays) >= 8)
    await client.close()
    ceilings = [0.5, 1.0, 2.0, 4.0, 4.0, 4.0, 4.0, 4.0]
    for delay, ceiling in zip(delays, ceilings, strict=False):
        assert ceiling / 2 <= delay <= ceiling
    assert len(set(delays)) == len(delays)  # jittered


def test_backoff_delay_is_deterministic_for_a_seed() -> None:
    first = [backoff_delay(i, 0.5, 30.0, random.Random(1)) for i in range(12)]
    again = [backoff_delay(i, 0.5, 30.0, random.Random(1)) for i in range(12)]
    assert first == again
    assert max(first) <= 30.0
    assert backoff_delay(10_000, 0.5, 30.0, random.Random(1)) <= 30.0


async def test_action_ids_are_unique_with_a_prefix(
    server: AmiServer, make_client: ClientFactory
) -> None:
    client = make_client(action_id_prefix="pbx1-")
    await client.start()
    await asyncio.gather(*(client.send_action({"Action": "Ping"}) for _ in range(20)))
    ids = [a["ActionID"] for a in server.received]
    assert len(set(ids)) == len(ids) == 21  # Login + 20 pings
    assert all(i.startswith("pbx1-") for i in ids)


async def test_login_sends_only_what_asterisk_needs(
    server: AmiServer, make_client: ClientFactory
) -> None:
    client = make_client()
    await client.start()
    login = server.received[0]
    assert set(login) == {"Action", "Username", "Secret", "ActionID"}
    assert client.banner == "Asterisk Call Manager/11.0.0"
    assert SECRET not in repr(client)


async def test_secret_never_appears_in_logs(server: AmiServer, make_client: ClientFactory) -> None:
    with structlog.testing.capture_logs() as logs:
        bad = make_client(secret="wrong-" + SECRET)
        with pytest.raises(AmiLoginError):
            await bad.start()
        rec = Recorder()
        client = make_client(rec)
        await client.start()
        server.secret = "changed"
        server.drop_all()
        await until(lambda: server.login_failures >= 3)
        server.secret = SECRET
        await until(lambda: rec.ups == [False, True])
        await client.close()
    assert logs, "the client logs its link changes"
    assert SECRET not in repr(logs)
