"""The service killed with SIGKILL mid-traffic and started again: the calls open at the kill
are rebuilt from CoreShowChannels and QueueStatus, the calls that began and ended while it
was dead come back from queue_log and CDR, and every call is stored exactly once, as the
PBX's own records say."""

from __future__ import annotations

from pathlib import Path

import pytest
from fault_fixtures import (
    ServiceProcess,
    assert_exact,
    calls_in_progress,
    reconcile,
    until,
    wait_stored,
    write_settings,
)

from callcenter.sim import TrafficParams, default_queues
from callcenter.testing import running_simulator

SPEED = 100.0


@pytest.mark.parametrize(
    ("topology", "cdr_layout"),
    [("trunk", "linkedid"), ("local", "default")],
    ids=["trunk-linkedid", "local-default"],
)
async def test_service_killed_mid_traffic_loses_and_doubles_nothing(
    tmp_path: Path, topology: str, cdr_layout: str
) -> None:
    """Also as an ordinary install has it: callers and members on Local channels, and
    cdr_csv's default Master.csv, with no linkedid."""
    calls = 240
    async with running_simulator(
        tmp_path / "pbx",
        seed=21,
        speed=SPEED,
        secret="fault-secret",
        topology=topology,
        cdr_layout=cdr_layout,
        queues=default_queues(20, "agents" if topology == "local" else ""),
        # Talks of about ten minutes (six real seconds): some outlast a restart even on a
        # busy machine, none drags the run out.
        traffic=TrafficParams(peak_calls_per_hour=1800, handle_median_s=600, handle_sigma=0.3),
    ) as pbx:
        database = f"sqlite:///{tmp_path / 'callcenter.db'}"
        config = write_settings(
            tmp_path / "callcenter.yaml",
            pbx,
            database_url=database,
            recordings_root=tmp_path / "recordings",
        )
        service = ServiceProcess(config)
        await service.start()
        try:
            await service.wait_for("resync done")
            pbx.start_traffic(calls)
            # A link cut first: the resync after it saves the durable-record cursor while
            # calls are in progress, so after the kill their first queue_log lines lie
            # before the cursor and the process that read them is gone.
            await until(lambda: len(calls_in_progress(pbx)) >= 5)
            pbx.drop_ami_connections()
            await service.wait_for("resync done", 2)
            await until(lambda: pbx.generated >= calls // 3 and len(calls_in_progress(pbx)) >= 5)
            open_at_kill = calls_in_progress(pbx)
            known_at_kill = set(pbx.pbx.calls) | {o.call_id for o in pbx.finished}
            await service.kill()
            # Down for a while: calls begin and end unseen, others go on talking ...
            await until(lambda: any(o.call_id not in known_at_kill for o in pbx.finished))
            # ... and go on talking however long a busy machine takes to start the service
            # again: the simulated clock runs at 1x until it is back.
            clock = pbx.pbx.sched
            clock.speed = 1.0
            clock.rebase()
            await service.start()
            await service.wait_for("resync done", 3)
            open_across_restart = open_at_kill & set(pbx.pbx.calls)
            clock.speed = SPEED
            clock.rebase()
            await pbx.wait_finished(timeout=120)
            await wait_stored(database, calls)
            assert await service.stop() == 0, service.tail()
        finally:
            await service.stop()
        summary = await reconcile(database, pbx)
    print(summary)
    assert_exact(summary, calls)
    # The restarted service saw calls still up (rebuilt from the snapshots) and recovered
    # the ones that ended while it was dead.
    rebuilt = [e for e in service.logs if e.get("event") == "resync done"][2]
    assert rebuilt["channels"] > 0
    assert open_across_restart, "the kill must land while calls are in progress"
    assert summary["recovered"] > 0
