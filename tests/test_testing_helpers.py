"""The shipped test helpers: the simulator fixture gives a real AMI server to talk to."""

from pathlib import Path

from callcenter.telephony.ami import AmiClient
from callcenter.testing import running_simulator, simulator_fixture

pbx = simulator_fixture(seed=3, speed=500, secret="fixture-secret")


async def test_simulator_fixture_serves_ami(pbx) -> None:  # type: ignore[no-untyped-def]
    client = AmiClient(
        "127.0.0.1", pbx.ami_port, "callcenter", "fixture-secret", on_event=lambda m: None
    )
    await client.start()
    assert (await client.send_action({"Action": "Ping"}))["Ping"] == "Pong"
    await client.close()
    await pbx.run(5)
    assert pbx.generated == 5
    assert len(pbx.finished) == 5
    assert pbx.queue_log_path.exists()


async def test_running_simulator_writes_records_where_asked(tmp_path: Path) -> None:
    async with running_simulator(tmp_path / "records", seed=9, speed=500) as simulator:
        await simulator.run(3)
        assert (tmp_path / "records" / "Master.csv").exists()
    assert [o.call_id for o in simulator.finished]
