"""The service stopped with callers inside its IVR: killed (SIGKILL, a crash) or stopped
(SIGTERM). Either way those callers go on to their hotline's own queue and are answered or
give up there, as Asterisk and the shipped dialplan do it (the simulator plays both); no
one is hung up. After the restart every call is stored as the PBX's queue_log and CDR say.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from zoneinfo import ZoneInfo

from fault_fixtures import (
    PBX_NAME,
    ServiceProcess,
    assert_exact,
    reconcile,
    until,
    wait_stored,
    write_settings,
)
from store_fixtures import free_port

from callcenter.calls.reconcile import expected_records
from callcenter.calls.store import CallStore
from callcenter.db import create_engine_for
from callcenter.sim import AgiTarget, PbxSimulator, TrafficParams, default_queues
from callcenter.testing import running_simulator

# A menu nobody answers: each caller spends about 45 virtual seconds in prompts and GET
# DATA (welcome, the menu twice) before the flow queues them in repair, long enough to be
# caught. The hotline's own queue, where the dialplan sends a caller without a route, is
# complaint (HOTLINES): where each caller went tells who sent them.
FLOW = """\
flow: hotline
languages: [zh]
start: welcome
nodes:
  welcome: {kind: play, prompt: welcome, next: main}
  main:
    kind: menu
    prompt: main_menu
    options: {1: repair, 2: complaint, 3: agent}
    timeout: 20s
    retries: 1
    on_timeout: agent
  repair: {kind: queue, queue: repair}
  complaint: {kind: queue, queue: complaint}
  agent: {kind: queue, queue: repair}
"""
HOTLINES = {"4008001000": "complaint"}
CALLS = 40
IVR_COMMANDS = ("get data", "stream file")


def in_the_ivr(pbx: PbxSimulator) -> set[str]:
    """Calls whose FastAGI session is playing a prompt or reading keys right now."""
    return {cid for cid, call in pbx.pbx.calls.items()
            if call.agi is not None and call.agi.running in IVR_COMMANDS}  # fmt: skip


async def stop_with_callers_in_the_ivr(
    tmp_path: Path, stop: Callable[[ServiceProcess], Awaitable[object]]
) -> tuple[PbxSimulator, ServiceProcess, set[str], list[dict[str, str]], str]:
    """Run CALLS calls through the service's IVR; ``stop`` it while several callers are
    inside it, start it again, and let every call end."""
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "hotline.yaml").write_text(FLOW, encoding="utf-8")
    port = free_port()
    ami: list[dict[str, str]] = []
    traffic = TrafficParams(peak_calls_per_hour=1200, menu_choices={"": 1.0}, ivr_hangup_prob=0.0,
                            handle_median_s=40, patience_mean_s=600, no_answer_prob=0.0)  # fmt: skip
    async with running_simulator(
        tmp_path / "pbx", seed=31, speed=10, secret="fault-secret", queues=default_queues(12),
        agi_target=AgiTarget("127.0.0.1", port), traffic=traffic, hotlines=HOTLINES,
    ) as pbx:  # fmt: skip
        pbx.add_listener(ami.append)
        database = f"sqlite:///{tmp_path / 'callcenter.db'}"
        config = write_settings(tmp_path / "callcenter.yaml", pbx, database_url=database,
                                recordings_root=tmp_path / "recordings", fastagi_port=port,
                                ivr_dir=flows)  # fmt: skip
        service = ServiceProcess(config)
        await service.start()
        try:
            await service.wait_for("resync done")
            await service.wait_for("fastagi listening")
            pbx.start_traffic(CALLS)
            await until(lambda: len(in_the_ivr(pbx)) >= 4 and pbx.generated >= 8)
            # no await between: the signal leaves while these sessions wait for a reply
            caught = in_the_ivr(pbx)
            await stop(service)
            # Down until those calls are over (callers arriving meanwhile find no IVR): the
            # restarted service learns them from queue_log and CDR alone.
            await until(lambda: caught <= {t.call_id for t in pbx.finished}, timeout=120)
            await service.start()
            await service.wait_for("resync done", 2)
            await pbx.wait_finished(timeout=180)
            await wait_stored(database, CALLS)
            assert await service.stop() == 0, service.tail()
        finally:
            await service.stop()
    return pbx, service, caught, ami, database


def routes_of(ami: list[dict[str, str]], call_id: str) -> list[str]:
    return [m["Value"] for m in ami if m["Event"] == "VarSet"
            and m["Variable"] == "HOTLINE_ROUTE" and m["Linkedid"] == call_id]  # fmt: skip


def assert_everyone_was_queued(pbx: PbxSimulator, ami: list[dict[str, str]]) -> None:
    """Every caller reached a queue and was answered or gave up there: none was hung up."""
    assert len(pbx.finished) == CALLS
    for call in pbx.finished:
        assert call.queue in ("repair", "complaint"), call
        assert call.outcome in ("answered", "abandoned", "short_abandon", "voicemail"), call
        status = [m["Value"] for m in ami if m["Event"] == "VarSet"
                  and m["Variable"] == "AGISTATUS" and m["Linkedid"] == call.call_id]  # fmt: skip
        assert status in (["SUCCESS"], ["FAILURE"]), (call.call_id, status)


async def assert_records_are_right(database: str, pbx: PbxSimulator, caught: set[str]) -> None:
    summary = await reconcile(database, pbx)
    print(summary)
    assert_exact(summary, CALLS)
    engine = create_engine_for(database)
    try:
        stored = CallStore(engine).list_calls(since=None, until=None, outcome=None, queue=None,
                                              pbx=PBX_NAME, limit=10 * CALLS)  # fmt: skip
    finally:
        engine.dispose()
    records = {r.call_id: r for r in stored}
    durable = expected_records(queue_log=pbx.queue_log_path, cdr_csv=pbx.cdr_path, pbx=PBX_NAME,
                               zone=ZoneInfo(pbx.config.timezone),
                               short_abandon_s=pbx.config.short_abandon_s)  # fmt: skip
    for truth in pbx.finished:
        if truth.call_id not in caught:
            continue
        record, want = records[truth.call_id], durable[truth.call_id]
        assert (record.queue, record.outcome) == (truth.queue, truth.outcome), record
        assert truth.joined_at is not None and record.ivr_s is not None
        assert want.ivr_s is not None and abs(record.ivr_s - want.ivr_s) <= 1.0, (record, want)
        assert abs(record.ivr_s - (truth.joined_at - truth.started_at)) <= 1.0, record


async def test_killed_with_callers_in_the_ivr_they_reach_the_fallback_queue(
    tmp_path: Path,
) -> None:
    pbx, _, caught, ami, database = await stop_with_callers_in_the_ivr(
        tmp_path, ServiceProcess.kill
    )
    assert len(caught) >= 4
    assert_everyone_was_queued(pbx, ami)
    truth = {t.call_id: t for t in pbx.finished}
    for call_id in caught:
        # res_agi: the socket's end cut the prompt, AGISTATUS=SUCCESS, no route was set;
        # the dialplan treats that as FAILURE: the hotline's own queue
        assert routes_of(ami, call_id) == [], call_id
        assert truth[call_id].queue == HOTLINES[truth[call_id].hotline], truth[call_id]
    await assert_records_are_right(database, pbx, caught)


async def test_stopped_with_callers_in_the_ivr_each_is_handed_to_the_fallback(
    tmp_path: Path,
) -> None:
    async def terminate(service: ServiceProcess) -> None:
        assert await service.stop() == 0, service.tail()

    pbx, service, caught, ami, database = await stop_with_callers_in_the_ivr(tmp_path, terminate)
    assert len(caught) >= 4
    assert_everyone_was_queued(pbx, ami)
    truth = {t.call_id: t for t in pbx.finished}
    handed = set()
    for call_id in caught:
        # every session said how it ended: "fallback" from the stopping service, or the
        # flow's own queue for a caller whose menu ended while the service was stopping
        routes = routes_of(ami, call_id)
        assert routes in (["fallback"], ["repair"]), (call_id, routes)
        want = HOTLINES[truth[call_id].hotline] if routes == ["fallback"] else "repair"
        assert truth[call_id].queue == want, truth[call_id]
        if routes == ["fallback"]:
            handed.add(call_id)
    assert len(handed) >= len(caught) // 2, (handed, caught)
    ended = [e for e in service.logs if e.get("event") == "ivr session ended"]
    # (and callers who reached the service while it was stopping, not counted in caught)
    assert sum(1 for e in ended if e.get("outcome") == "fallback") >= len(handed)
    await assert_records_are_right(database, pbx, caught)
