"""The change feed never skips a committed event, whatever order transactions commit in.

Ids are taken at insert; transactions commit in another order. A reader paging by id
would move past an event whose transaction commits later, and never see it. db/writes/events.py
pages by (transaction, id) below the oldest running transaction: these tests force the
commit order to differ from the insert order and check that a reader following its
cursor sees every committed event exactly once, and no rolled-back one.
"""

import asyncio
import random
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db.engine import RequestDb
from db.tables.feed import events as events_table
from db.visibility import Visibility
from db.writes import events
from tests.world import World

BASE = 10**12  # object ids no other test uses (events.object_id has no foreign key)


async def _insert(conn: AsyncConnection, business_id: int, object_id: int) -> int:
    row = await conn.execute(
        insert(events_table)
        .values(business_id=business_id, type="expense.updated", object_type="Expense",
                object_id=object_id)
        .returning(events_table.c.id)
    )  # fmt: skip
    return int(row.scalar_one())


async def _read(engine: AsyncEngine, business_id: int, after: Any, objects: list[int]) -> list[Any]:
    db = RequestDb(engine)
    try:
        return await events.feed(
            db=db, visibility=Visibility(business_id=business_id), object_types=["Expense"], after=after,
            limit=1000, filter_=events.FeedFilter(objects=[("Expense", i) for i in objects]),
        )  # fmt: skip
    finally:
        await db.close()


async def test_a_transaction_that_commits_later_is_not_skipped(engine: AsyncEngine, world: World) -> None:  # fmt: skip
    business, first, second = world.a.id, BASE + 1, BASE + 2
    async with engine.connect() as early, engine.connect() as late:
        await early.begin()
        await early.execute(text("SELECT pg_current_xact_id()"))  # it starts writing first
        await late.begin()
        late_id = await _insert(late, business, second)
        await late.commit()
        # the late transaction has committed, but the early one may still write below it
        assert await _read(engine, business, None, [first, second]) == []
        early_id = await _insert(early, business, first)
        await early.commit()
    assert early_id > late_id  # id order and commit order differ
    read = await _read(engine, business, None, [first, second])
    assert [row.id for row in read] == [early_id, late_id]  # the early transaction's first
    assert await _read(engine, business, (read[-1].tx, read[-1].id), [first, second]) == []


async def test_a_reader_following_its_cursor_sees_every_committed_event_once(
    engine: AsyncEngine, world: World
) -> None:
    business, rng = world.a.id, random.Random(13)
    objects = [BASE + 100 + i for i in range(10)]
    committed: list[int] = []
    writing = True

    async def writer(n: int) -> None:
        async with engine.connect() as conn:
            for round_ in range(4):
                await conn.begin()
                await conn.execute(text("SELECT pg_current_xact_id()"))
                await asyncio.sleep(rng.random() * 0.02)
                ids = [await _insert(conn, business, objects[n]) for _ in range(rng.randint(1, 3))]
                await asyncio.sleep(rng.random() * 0.02)
                if (n + round_) % 5 == 4:
                    await conn.rollback()  # never in the feed
                else:
                    await conn.commit()
                    committed.extend(ids)

    seen: list[int] = []
    cursor: Any = None

    async def reader() -> None:
        nonlocal cursor
        while writing:
            for row in await _read(engine, business, cursor, objects):
                seen.append(row.id)
                cursor = (row.tx, row.id)
            await asyncio.sleep(0.003)

    reading = asyncio.create_task(reader())
    await asyncio.gather(*(writer(n) for n in range(len(objects))))
    writing = False
    await reading
    seen.extend(row.id for row in await _read(engine, business, cursor, objects))
    assert len(seen) == len(set(seen)), "an event was read twice"
    assert sorted(seen) == sorted(committed), "an event was skipped, or a rolled-back one read"
    assert len(committed) > 20


async def test_events_older_than_the_keeping_time_are_pruned(
    engine: AsyncEngine, world: World
) -> None:
    from datetime import UTC, datetime, timedelta

    from app.worker import keep_days, prune_feed

    business, old, recent = world.a.id, BASE + 501, BASE + 502
    async with engine.begin() as conn:
        for object_id, age in ((old, 40), (recent, 29)):
            await conn.execute(
                insert(events_table).values(
                    business_id=business, type="expense.updated", object_type="Expense",
                    object_id=object_id, occurred_at=datetime.now(UTC) - timedelta(days=age),
                )
            )  # fmt: skip
    assert keep_days({}) == 30 and keep_days({"EXPENSEGRAPH_EVENTS_KEEP_DAYS": "7"}) == 30
    assert keep_days({"EXPENSEGRAPH_EVENTS_KEEP_DAYS": "90"}) == 90
    assert await prune_feed(engine, 30) >= 1
    left = {row.object_id for row in await _read(engine, business, None, [old, recent])}
    assert left == {recent}
