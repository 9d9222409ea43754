"""Plain reads asked for in the same turn of the loop go to PostgreSQL as one statement.

Each read still gets exactly the rows (types, order) it would get alone, is counted as a
statement, and fails alone or together as one round trip must.
"""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import bindparam, func, insert, literal, select
from sqlalchemy.ext.asyncio import AsyncEngine

from db import merged_reads
from db.engine import RequestDb
from db.fastread import keep
from db.merged_reads import MAX_MERGED_READS, merged, unmerged
from db.sql import any_of
from db.tables.api import api_keys
from db.tables.expense import expenses
from db.tables.org import categories, members, teams
from db.tables.receipt import receipts
from tests.conftest import StatementCounter
from tests.world import World


@pytest.fixture
async def db(engine: AsyncEngine) -> AsyncIterator[RequestDb]:
    handle = RequestDb(engine)
    yield handle
    await handle.close()


def round_trips(db: RequestDb) -> list[str]:
    """Start listing what the request's asyncpg connection runs (after its first read)."""
    sent: list[str] = []
    lent = db._lent.conn  # plain reads run on the connection the read pool lent
    assert lent is not None
    lent.add_query_logger(lambda record: sent.append(record.query))
    return sent


def reads(world: World) -> list[Any]:
    a = world.a
    return [
        select(expenses).where(expenses.c.business_id == a.id).order_by(expenses.c.spent_at.desc(), expenses.c.id.desc()).limit(7),
        select(members).where(members.c.business_id == a.id, any_of(members.c.id, list(a.members.values()))),
        select(receipts).where(receipts.c.business_id == a.id).order_by(receipts.c.id),
        select(teams.c.name, func.count().label("n")).join(members, members.c.team_id == teams.c.id).where(teams.c.business_id == a.id).group_by(teams.c.name).order_by(teams.c.name),
        select(api_keys.c.name, api_keys.c.scopes).order_by(api_keys.c.id),  # arrays
        select(categories).where(categories.c.business_id == -1),  # no rows
    ]  # fmt: skip


async def test_reads_of_one_turn_share_a_round_trip_and_keep_their_rows(
    db: RequestDb, engine: AsyncEngine, world: World, statements: StatementCounter
) -> None:
    await db.rows(select(literal(1).label("one")))
    # the first time, asyncpg also asks the server about the record types: only once
    await asyncio.gather(*(db.rows(statement) for statement in reads(world)))
    sent = round_trips(db)
    statements.reset()
    before = db.statements
    together = await asyncio.gather(*(db.rows(statement) for statement in reads(world)))
    # one round trip for all but the read with an array column, which goes alone
    assert len(sent) == 2 and statements.count == len(reads(world)) == db.statements - before
    assert f"AS _m{len(reads(world)) - 2}" in sent[0] and "array_agg" not in sent[1]
    async with engine.connect() as conn:
        for statement, got in zip(reads(world), together, strict=True):
            expected = (await conn.execute(statement)).all()
            assert [tuple(row) for row in got] == [tuple(row) for row in expected]
            assert [[type(v) for v in row] for row in got] == [
                [type(v) for v in row] for row in expected
            ]
            assert all(row._mapping == dict(e._mapping) for row, e in zip(got, expected))  # noqa: B905
    assert sum(1 for rows in together if rows) == len(together) - 1


async def test_a_turns_plan_is_kept_by_its_shape_and_the_plans_kept_are_few(
    db: RequestDb, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """How to send a turn's reads is worked out once per shape (their SQL, row types and
    followers): the same reads in another order or fewer of them get a plan of their own."""
    monkeypatch.setattr(merged_reads, "MAX_PLANS", 2)
    monkeypatch.setattr(merged_reads, "_plans", {})
    statements = reads(world)[:3]
    alone = [[tuple(row) for row in await db.rows(statement)] for statement in statements]
    sent = round_trips(db)
    for order in ([0, 1, 2], [2, 0, 1], [1, 2], [0, 1, 2], [2, 0, 1]):
        together = await asyncio.gather(*(db.rows(statements[k]) for k in order))
        assert [[tuple(row) for row in rows] for rows in together] == [alone[k] for k in order]
        assert len(merged_reads._plans) <= merged_reads.MAX_PLANS
    # asyncpg also asks about the arrays' types, the first time
    assert [sql.count(") AS _m") for sql in sent if "_m0" in sql] == [3, 3, 2, 3, 3]


async def test_reads_one_after_another_go_alone(db: RequestDb, world: World) -> None:
    await db.rows(select(literal(1).label("one")))
    sent = round_trips(db)
    for statement in reads(world)[:3]:
        await db.rows(statement)
    assert len(sent) == 3 and not any("array_agg" in sql for sql in sent)


async def test_a_failing_read_fails_its_round_trip_and_the_next_one_works(
    db: RequestDb, world: World
) -> None:
    broken = select(func.sqrt(members.c.id - 2**40).label("x")).where(
        members.c.business_id == world.a.id
    )
    results = await asyncio.gather(
        db.rows(reads(world)[1]), db.rows(broken), return_exceptions=True
    )
    assert all(
        isinstance(r, Exception) and "square root of a negative number" in str(r) for r in results
    ), results
    assert len(await db.rows(reads(world)[1])) == len(world.a.members)


async def test_reads_after_a_write_see_it(db: RequestDb, world: World) -> None:
    await db.begin_write()
    await db.rows(
        insert(categories)
        .values(business_id=world.a.id, name="Merged reads", gl_code="9999")
        .returning(categories.c.id)
    )
    named = select(categories.c.name).where(
        categories.c.business_id == world.a.id, categories.c.name == "Merged reads"
    )
    seen = await asyncio.gather(db.rows(named), db.rows(named))
    assert [[row.name for row in rows] for rows in seen] == [["Merged reads"]] * 2
    # db.close() rolls the write back


async def test_many_reads_of_one_turn_go_in_several_merged_round_trips(
    db: RequestDb, world: World
) -> None:
    # 80 whole expense pages: 2,080 columns, more than a SELECT list holds (1,664)
    page = select(expenses).where(expenses.c.business_id == world.a.id).order_by(expenses.c.id)
    alone = [tuple(row) for row in await db.rows(page)]
    pages = [page.limit(n) for n in range(1, 81)]
    # the first time, asyncpg also asks the server about the arrays' types: only once
    await asyncio.gather(*(db.rows(statement) for statement in pages))
    sent = round_trips(db)
    together = await asyncio.gather(*(db.rows(statement) for statement in pages))
    assert [[tuple(row) for row in rows] for rows in together] == [alone[:n] for n in range(1, 81)]
    assert len(sent) == 80 // MAX_MERGED_READS and all("array_agg" in sql for sql in sent)


async def test_reads_of_one_row_at_most_are_joined_and_keep_their_rows(
    db: RequestDb, engine: AsyncEngine, world: World
) -> None:
    a = world.a
    by_id = keep(
        select(members).where(members.c.business_id == a.id, members.c.id == bindparam("id")),
        one_row=True,
    )
    mixed: list[tuple[Any, dict[str, Any] | None]] = [
        (by_id, {"id": a.members["admin"]}),
        (reads(world)[0], None),  # seven expenses
        (by_id, {"id": -1}),  # none
        (reads(world)[5], None),  # none, by column
        (by_id, {"id": a.members["employee"]}),
    ]
    await db.rows(select(literal(1).label("one")))
    await asyncio.gather(*(db.rows(s, p) for s, p in mixed))  # asyncpg learns the types
    sent = round_trips(db)
    together = await asyncio.gather(*(db.rows(s, p) for s, p in mixed))
    assert len(sent) == 1 and sent[0].count("LEFT JOIN LATERAL") == len(mixed)
    assert sent[0].count("array_agg(_c0)") == 2  # the expense page and the empty read
    async with engine.connect() as conn:
        for (statement, params), got in zip(mixed, together, strict=True):
            expected = (await conn.execute(statement, params or {})).all()
            assert [tuple(row) for row in got] == [tuple(row) for row in expected]
    assert [len(rows) for rows in together] == [1, 7, 0, 0, 1]


async def test_a_read_said_to_give_one_row_that_gives_more_fails(
    db: RequestDb, world: World
) -> None:
    # a wrong promise must not drop rows (or repeat the others'): the round trip fails
    every = keep(select(members.c.id).where(members.c.business_id == world.a.id), one_row=True)
    with pytest.raises(RuntimeError, match=r"merged as one_row gave \d+ rows"):
        await asyncio.gather(db.rows(every), db.rows(reads(world)[1]))


async def test_a_lateral_over_a_reads_keys_takes_a_key_per_row_from_a_subquery(
    engine: AsyncEngine,
) -> None:
    """A read following another's rows with a LATERAL over its keys (the nested pages of a
    team list) takes them as a subquery of the CTE, not ``unnest(ARRAY(...))``: PostgreSQL
    counts an unnested array as ten rows, and kept no plan of the teams page it made. It
    takes each row's, no DISTINCT to hash: a key held twice is read twice (what
    db/sent_together.py answered then does: tests/db/test_sent_together.py)."""
    parent = "SELECT v.k FROM (VALUES ($1::BIGINT), ($2::BIGINT), (NULL), ($1::BIGINT)) AS v(k)"
    follower = (
        "SELECT p.parent_id, x.n FROM unnest($0::BIGINT[]) AS p(parent_id) JOIN LATERAL"
        " (SELECT g AS n FROM generate_series(1, p.parent_id + $1) AS g ORDER BY g DESC LIMIT 2)"
        " AS x ON true"
    )
    parts = [(parent, [2, 1], 1, False, None), (follower, [0], 2, False, (0, 0))]
    sql, args = merged(parts)
    assert "unnest(" not in sql
    assert "FROM (SELECT _c0 FROM _l0 WHERE _c0 IS NOT NULL) AS p(parent_id)" in sql
    assert "DISTINCT" not in sql
    async with engine.connect() as conn:
        driver = (await conn.get_raw_connection()).driver_connection
        assert driver is not None
        [record] = await driver.fetch(sql, *args)
    keys, pages = (list(rows) for rows in unmerged(record, parts))
    assert keys == [(2,), (1,), (None,), (2,)]
    by_parent: dict[int, list[int]] = {}
    for parent_id, n in pages:  # a key per row but null, its rows in the LATERAL's order
        by_parent.setdefault(parent_id, []).append(n)
    assert by_parent == {2: [2, 1, 2, 1], 1: [1]}
