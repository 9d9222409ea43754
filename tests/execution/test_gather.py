"""execution/gather.py: many awaitables stepped inside one task, as asyncio.gather would run them."""

import asyncio

import pytest
from aiodataloader import DataLoader

from execution.gather import gather


async def test_results_come_back_in_order() -> None:
    async def later(value: int, delay: float) -> int:
        await asyncio.sleep(delay)
        return value

    assert await gather([later(1, 0.02), later(2, 0), later(3, 0.01)]) == [1, 2, 3]
    assert await gather([]) == []


async def test_a_dataloader_sees_every_key_in_one_batch() -> None:
    batches: list[list[int]] = []

    async def load(keys: list[int]) -> list[int]:
        batches.append(keys)
        return [key * 10 for key in keys]

    loader = DataLoader(load)

    async def resolve(key: int) -> int:
        await asyncio.sleep(0)  # a bare yield first, as some resolvers do
        return await loader.load(key)

    assert await gather([resolve(k) for k in (3, 1, 2)]) == [30, 10, 20]
    assert batches == [[3, 1, 2]]


async def test_a_lock_held_by_one_is_handed_to_the_next() -> None:
    # the first version waited for every future of a round before resuming any: deadlock
    lock = asyncio.Lock()
    order: list[str] = []

    async def holder(name: str) -> str:
        async with lock:
            order.append(name)
            await asyncio.sleep(0.01)
        return name

    done = await asyncio.wait_for(gather([holder("a"), holder("b"), holder("c")]), 2)
    assert done == ["a", "b", "c"] and order == ["a", "b", "c"]


async def test_an_error_waits_for_the_others_then_raises_the_first() -> None:
    finished: list[str] = []

    async def fails(delay: float, message: str) -> None:
        await asyncio.sleep(delay)
        raise ValueError(message)

    async def slow() -> None:
        await asyncio.sleep(0.05)
        finished.append("slow")

    with pytest.raises(ValueError, match="first"):
        await gather([fails(0, "first"), slow(), fails(0.01, "second")])
    assert finished == ["slow"]  # it ran to its end: it may have held the connection


async def test_cancelling_the_caller_cancels_every_waiting_awaitable() -> None:
    cleaned: list[int] = []

    async def waits(i: int) -> None:
        try:
            await asyncio.sleep(10)
        finally:
            cleaned.append(i)

    task = asyncio.ensure_future(gather([waits(1), waits(2)]))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sorted(cleaned) == [1, 2]


async def test_context_variables_are_those_of_the_caller() -> None:
    import contextvars

    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")
    var.set("request")

    async def read() -> str:
        await asyncio.sleep(0)
        return var.get()

    assert await gather([read(), read()]) == ["request", "request"]
