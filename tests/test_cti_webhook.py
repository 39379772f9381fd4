"""Work-order webhooks against a real HTTP receiver: signature, retries, order, secrecy."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from cti_fixtures import add_users, client_for, serving, sqlite_engine

from callcenter.core.signing import verify
from callcenter.core.webhook import RetryPolicy, SignedPost, WebhookQueue, backoff_s
from callcenter.cti.feature import CtiFeature
from callcenter.cti.settings import CtiSettings
from callcenter.log import configure_logging
from callcenter.log_settings import LoggingSettings

SECRET = "hook-secret-不要外传"


class Receiver:
    def __init__(self, answers: list[int]) -> None:
        self.answers = answers
        self.seen: list[tuple[dict[str, str], bytes]] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.seen.append((dict(request.headers), await request.read()))
        status = self.answers.pop(0) if self.answers else 200
        return web.Response(status=status)


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[str, Receiver]]:
    target = Receiver([])
    app = web.Application()
    app.router.add_post("/hook", target.handle)
    async with serving(app) as base:
        yield f"{base}/hook", target


def test_backoff_doubles_and_is_capped() -> None:
    assert [backoff_s(n, 1.0, 10.0) for n in range(1, 6)] == [1.0, 2.0, 4.0, 8.0, 10.0]


async def test_signed_retried_in_order_and_the_secret_stays_out_of_logs(
    receiver: tuple[str, Receiver],
) -> None:
    url, target = receiver
    target.answers = [503, 500, 200, 200]
    stream = io.StringIO()
    configure_logging(LoggingSettings(format="json", level="debug"), stream=stream)
    sender = WebhookQueue(SignedPost(url, SECRET, RetryPolicy(4, 0.01)))
    await sender.start()
    try:
        sender.send("work_order.created", {"id": 1, "state": "new"})
        sender.send("work_order.changed", {"id": 1, "state": "dispatched"})
        await sender.drain()
    finally:
        await sender.close()
        logging.getLogger().handlers.clear()
    assert (sender.delivered, sender.failed) == (2, 0)
    assert len(target.seen) == 4
    ids = [h["X-Callcenter-Delivery"] for h, _ in target.seen]
    assert ids[0] == ids[1] == ids[2] != ids[3]  # a retry keeps its delivery id
    for headers, body in target.seen:
        assert verify(
            SECRET, headers["X-Callcenter-Timestamp"], body, headers["X-Callcenter-Signature"]
        )
        assert not verify("other", headers["X-Callcenter-Timestamp"], body, headers["X-Callcenter-Signature"])  # fmt: skip
    states = [json.loads(body)["data"]["state"] for _, body in target.seen]
    assert states == ["new", "new", "new", "dispatched"]
    assert "webhook failed, retrying" in stream.getvalue()
    assert SECRET not in stream.getvalue() and SECRET not in repr(sender)


async def test_a_client_error_is_final(receiver: tuple[str, Receiver]) -> None:
    url, target = receiver
    target.answers = [400]
    sender = WebhookQueue(SignedPost(url, SECRET, RetryPolicy(initial_backoff_s=0.01)))
    await sender.start()
    sender.send("work_order.created", {"id": 2})
    await sender.drain()
    await sender.close()
    assert (sender.delivered, sender.failed, len(target.seen)) == (0, 1, 1)


async def test_an_unreachable_receiver_is_given_up_after_max_attempts() -> None:
    sender = WebhookQueue(SignedPost("http://127.0.0.1:9/hook", SECRET, RetryPolicy(3, 0.01)))
    await sender.start()
    sender.send("work_order.created", {"id": 3})
    await sender.drain()
    await sender.close()
    assert (sender.delivered, sender.failed) == (0, 1)


async def test_raising_and_moving_a_work_order_reaches_the_business_system(
    receiver: tuple[str, Receiver], tmp_path: Path
) -> None:
    url, target = receiver
    settings = CtiSettings(webhook_url=url, webhook_secret=SECRET)
    cti = CtiFeature(sqlite_engine(tmp_path), settings)
    add_users(cti.accounts)
    await cti.start()
    app = web.Application()
    cti.routes(app)
    async with serving(app) as base, client_for(base, "alice") as alice:
        status, order = await alice.post_json("/api/workorders", {"kind": "repair"})
        assert status == 201 and isinstance(order, dict)
        status, _ = await alice.post_json(
            f"/api/workorders/{order['id']}/actions", {"action": "dispatch", "assignee": "bob"}
        )
        assert status == 200
        assert cti.webhook is not None
        await cti.webhook.drain()
    await cti.stop()
    kinds = [(h["X-Callcenter-Event"], json.loads(b)["data"]["state"]) for h, b in target.seen]
    assert kinds == [("work_order.created", "new"), ("work_order.changed", "dispatched")]
