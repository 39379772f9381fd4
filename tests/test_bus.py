import asyncio

from callcenter.bus import InProcessBus


async def test_each_subscriber_gets_every_item_in_order() -> None:
    bus: InProcessBus[int] = InProcessBus()
    seen: dict[str, list[int]] = {"a": [], "b": []}

    async def slow(item: int) -> None:
        await asyncio.sleep(0.001 * (item % 3))
        seen["a"].append(item)

    async def fast(item: int) -> None:
        seen["b"].append(item)

    bus.subscribe("a", slow)
    bus.subscribe("b", fast)
    for i in range(50):
        bus.publish(i)
    await bus.drain()
    assert seen["a"] == list(range(50))
    assert seen["b"] == list(range(50))
    await bus.close()


async def test_a_failing_handler_neither_stops_the_bus_nor_others() -> None:
    bus: InProcessBus[int] = InProcessBus()
    ok: list[int] = []
    also: list[int] = []

    async def flaky(item: int) -> None:
        if item == 2:
            raise RuntimeError("boom")
        ok.append(item)

    async def other(item: int) -> None:
        also.append(item)

    bus.subscribe("flaky", flaky)
    bus.subscribe("other", other)
    for i in range(5):
        bus.publish(i)
    await bus.drain()
    assert ok == [0, 1, 3, 4]
    assert also == [0, 1, 2, 3, 4]
    await bus.close()
