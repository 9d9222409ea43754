"""How loaders batch: one statement per loader and tick, whoever asks, and no key twice.

Real loaders on the test database: the members of business A by id, counted in SQL
statements and checked against the rows they should return.
"""

import asyncio
from typing import Any

import pytest

from db.engine import RequestDb
from db.visibility import Visibility
from loaders.registry import Loaders, make_loaders
from loaders.rows import RowByIdLoader
from tests.conftest import StatementCounter
from tests.loaders.rows_read import ids_of
from tests.world import World


def members(db: RequestDb, world: World) -> RowByIdLoader:
    return RowByIdLoader(
        db=db, visibility=Visibility(business_id=world.a.id), table="members", visible_only=False
    )


@pytest.fixture
def ids(world: World) -> list[int]:
    return sorted(world.a.members.values())


@pytest.fixture
async def loader(db: RequestDb, world: World, counted: StatementCounter) -> RowByIdLoader:
    return members(db, world)


async def test_two_fields_asking_in_one_tick_share_one_statement(
    loader: RowByIdLoader, ids: list[int], statements: StatementCounter
) -> None:
    first, second = await asyncio.gather(loader.load_all(ids[:3]), loader.load_all(ids[1:]))
    assert statements.count == 1
    assert ids_of(first) == ids[:3] and ids_of(second) == ids[1:]


async def test_load_and_load_all_in_one_tick_share_one_statement(
    loader: RowByIdLoader, ids: list[int], db: RequestDb, world: World, statements: StatementCounter
) -> None:
    # load() first (aiodataloader's queue), load_all joins it; then the other way round
    one, many = await asyncio.gather(loader.load(ids[0]), loader.load_all(ids))
    assert (one.id, ids_of(many)) == (ids[0], ids)
    other = members(db, world)
    many, one = await asyncio.gather(other.load_all(ids[:2]), other.load(ids[-1]))
    assert (ids_of(many), one.id) == (ids[:2], ids[-1])
    assert statements.count == 2


async def test_a_key_in_flight_or_loaded_is_not_read_again(
    loader: RowByIdLoader, ids: list[int], statements: StatementCounter
) -> None:
    first = asyncio.ensure_future(loader.load_all(ids))
    for _ in range(3):  # the batch is dispatched and its statement sent
        await asyncio.sleep(0)
    assert loader._loading  # still in flight
    again = await loader.load_all(ids[::-1])
    assert ids_of(await first) == ids and ids_of(again) == ids[::-1]
    assert statements.count == 1
    assert ids_of(await loader.load_all(ids)) == ids
    row = await loader.load(ids[0])
    assert row is not None and row.id == ids[0]
    assert statements.count == 1


async def test_unknown_and_other_business_ids_load_as_none(
    loader: RowByIdLoader, world: World, statements: StatementCounter
) -> None:
    theirs = next(iter(world.b.members.values()))
    mine = next(iter(world.a.members.values()))
    assert ids_of(await loader.load_all([theirs, mine, 2**62])) == [None, mine, None]
    assert statements.count == 1


async def test_a_big_batch_is_split_into_chunks(
    loader: RowByIdLoader, ids: list[int], statements: StatementCounter
) -> None:
    loader.max_batch_size = 2
    assert ids_of(await loader.load_all(ids)) == ids
    assert statements.count == (len(ids) + 1) // 2


async def test_a_failed_batch_fails_every_waiter_and_caches_nothing(
    loader: RowByIdLoader, ids: list[int], statements: StatementCounter
) -> None:
    real = loader.batch_load_fn
    calls = 0

    async def failing_once(keys: list[int]) -> list[Any]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("the statement failed")
        return await real(keys)

    loader.batch_load_fn = failing_once  # type: ignore[method-assign]
    results = await asyncio.gather(
        loader.load_all(ids[:2]), loader.load(ids[-1]), return_exceptions=True
    )
    assert [str(r) for r in results] == ["the statement failed"] * 2
    statements.reset()
    assert ids_of(await loader.load_all(ids)) == ids  # read again, not a cached failure
    assert statements.count == 1


def loader_named(loaders: Loaders, name: str) -> Any:
    """Return a loader of the set by attribute, or ``ref:<table>`` / ``visible:<table>``."""
    how, _, table = name.partition(":")
    return getattr(loaders, how)(table) if table else getattr(loaders, how)


EVERY_LOADER = [
    *("ref:members", "visible:cards", "business", "policies", "receipts_by_expense"),
    *("events_by_expense", "members_by_team", "cards_by_holder", "member_counts"),
    *("card_spend", "expense_pages", "expense_counts", "match_candidates_by_receipt"),
    "receipt_candidates_by_expense",
]


@pytest.mark.parametrize("name", EVERY_LOADER)
async def test_no_keys_no_statement(
    db: RequestDb, world: World, counted: StatementCounter, name: str
) -> None:
    visibility = Visibility(business_id=world.a.id, member_id=world.a.members["employee"])
    loader = loader_named(make_loaders(db, visibility), name)
    assert await loader.load_all([]) == []
    assert counted.count == 0
