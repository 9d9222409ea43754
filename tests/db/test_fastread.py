"""db/fastread.py: plain SELECTs run by asyncpg give the rows SQLAlchemy would give."""

from typing import Any, cast

import pytest
from sqlalchemy import any_, bindparam, func, select
from sqlalchemy.exc import DBAPIError

from db import fastread
from db.engine import RequestDb
from db.merged_reads import MAX_MERGED_COLUMNS, MAX_MERGED_READS, merge_groups
from db.queries.lookups import rows_by_ids
from db.sql import any_of, array_param
from db.tables.api import api_keys
from db.tables.expense import expenses
from db.tables.org import members, teams
from db.visibility import Visibility


def _statements(world: Any) -> dict[str, Any]:
    a = world.a
    return {
        # bigint, text, numeric (fx_rate), date (fx_rate_day), timestamptz, nulls
        "every expense column": select(expenses)
        .where(expenses.c.business_id == a.id)
        .order_by(expenses.c.id),
        "one id (equality)": select(members).where(any_of(members.c.id, [a.members["admin"]])),
        "many ids (an array)": select(members).where(
            members.c.business_id == a.id, any_of(members.c.id, list(a.members.values()))
        ),
        "a join with labels": select(
            teams.c.name.label("team_name"), members.c.name, members.c.role
        )
        .join(members, members.c.team_id == teams.c.id)
        .where(teams.c.business_id == a.id)
        .order_by(members.c.id),
        "an aggregate": select(
            expenses.c.currency, func.sum(expenses.c.home_amount_minor).label("total")
        )
        .where(expenses.c.business_id == a.id)
        .group_by(expenses.c.currency)
        .order_by(expenses.c.currency),
    }


async def _both(engine: Any, statement: Any) -> tuple[list[Any], list[Any]]:
    db = RequestDb(engine)
    try:
        fast = list(await db.rows(statement))
    finally:
        await db.close()
    async with engine.connect() as conn:
        reference = list((await conn.execute(statement)).all())
    return fast, reference


async def test_rows_equal_sqlalchemys(engine, world) -> None:
    for name, statement in _statements(world).items():
        fast, reference = await _both(engine, statement)
        assert fast, name
        assert type(fast[0]).__name__ == "FastRow", name  # the fast path was taken
        assert [tuple(row) for row in fast] == [tuple(row) for row in reference], name
        for got, expected in zip(fast, reference, strict=True):
            assert got._mapping == dict(expected._mapping), name
            assert [type(v) for v in got] == [type(v) for v in expected], name


async def test_prebuilt_statements_take_their_values_as_parameters(engine, world) -> None:
    a, b = world.a, world.b
    ids = [*a.members.values(), *b.members.values()]
    for business in (a, b):
        db = RequestDb(engine)
        try:
            fast = await rows_by_ids(db=db, visibility=Visibility(business_id=business.id),
                                     table="members", ids=ids, visible_only=False)  # fmt: skip
        finally:
            await db.close()
        statement = select(members).where(
            members.c.business_id == business.id, any_of(members.c.id, ids)
        )
        async with engine.connect() as conn:
            reference = {row.id: row for row in (await conn.execute(statement)).all()}
        assert fast and sorted(fast) == sorted(reference) == sorted(business.members.values())
        assert all(type(row).__name__ == "FastRow" for row in fast.values())
        assert {k: tuple(cast("tuple[Any, ...]", v)) for k, v in fast.items()} == {
            k: tuple(v) for k, v in reference.items()
        }


def test_a_kept_statement_takes_new_values_as_sqlalchemy_gives_them(engine) -> None:
    # the second run of a kept statement fills its parameters into the first run's
    # arguments (fastread._Template): the same as SQLAlchemy's construct_params, arrays
    # processed, the statement's own values (the name, the limit) kept
    def built() -> Any:
        return (
            select(members.c.id)
            .where(
                members.c.business_id == bindparam("business_id"),
                members.c.id == any_(array_param("ids", members.c.id)),
                members.c.name != "nobody",
            )
            .limit(5)
        )

    sync = engine.sync_engine
    kept = fastread.keep(built())
    runs = [
        {"business_id": 1, "ids": [1, 2]},
        {"business_id": 2, "ids": [3]},
        {"business_id": 3, "ids": []},
    ]
    for params in runs:
        fresh = fastread.prepared(built(), sync.dialect, sync._compiled_cache, params)
        assert fastread.prepared(kept, sync.dialect, sync._compiled_cache, params) == fresh
        assert fresh is not None and params["business_id"] in fresh[1] and "nobody" in fresh[1]


def test_a_kept_statement_keyed_again_gives_what_it_gave_for_its_parameters(engine) -> None:
    # keyed remembers what it made per parameters: each business gets its own arguments,
    # the same as a statement keyed for the first time, and a copy a caller may change
    def built(now: Any = None) -> Any:
        statement = select(members.c.id).where(
            members.c.business_id == bindparam("business_id"),
            members.c.id == any_(array_param("keys", members.c.id)),
        )
        if now is not None:  # a value computed at each run: never remembered
            statement = statement.where(members.c.created_at < bindparam("now", callable_=now))
        return statement

    sync = engine.sync_engine
    kept = fastread.keep(built())

    def keyed(statement: Any, business_id: int) -> Any:
        params = {"business_id": business_id}
        return fastread.keyed(statement, sync.dialect, sync._compiled_cache, params, "keys")

    for business_id in (1, 2, 1, 2):
        fresh = keyed(fastread.keep(built()), business_id)
        again = keyed(kept, business_id)
        assert again == fresh and again is not None and again[1] == [business_id]
        again[1].append("changed by a caller")
        assert keyed(kept, business_id)[1] == [business_id]

    times = iter(["2030-01-01T00:00:00Z", "2031-01-01T00:00:00Z"])
    computed = fastread.keep(built(now=lambda: next(times)))
    first, second = keyed(computed, 1), keyed(computed, 1)
    assert first is not None and second is not None
    assert first[1][-1] != second[1][-1]


async def test_arrays_get_sqlalchemys_processing(engine, world) -> None:
    for statement in (
        select(func.array_agg(members.c.id).label("ids")).where(
            members.c.business_id == world.a.id
        ),
        select(api_keys.c.name, api_keys.c.scopes).order_by(api_keys.c.id),
    ):
        fast, reference = await _both(engine, statement)
        assert type(fast[0]).__name__ == "FastRow"
        assert [tuple(row) for row in fast] == [tuple(row) for row in reference]
        assert all(isinstance(row[-1], list) for row in fast)


async def test_fast_statements_are_counted(engine, statements, world) -> None:
    statements.reset()
    db = RequestDb(engine)
    try:
        await db.rows(_statements(world)["many ids (an array)"])
        await db.rows(_statements(world)["every expense column"])
    finally:
        await db.close()
    assert statements.count == 2 == db.statements


async def test_the_switch_sends_everything_through_sqlalchemy(engine, world) -> None:
    fastread.ENABLED = False
    try:
        fast, reference = await _both(engine, _statements(world)["many ids (an array)"])
    finally:
        fastread.ENABLED = True
    assert type(fast[0]).__name__ == "Row" and fast == reference


async def test_a_locking_read_in_a_write_keeps_its_lock(engine, world) -> None:
    expense_id = world.a.expense_ids[0]
    mine = expenses.c.business_id == world.a.id, expenses.c.id == expense_id
    db = RequestDb(engine)
    try:
        await db.begin_write()  # no statement yet: the driver's transaction is not open
        locked = await db.rows(select(expenses.c.id).where(*mine).with_for_update())
        assert [row.id for row in locked] == [expense_id]
        async with engine.connect() as other:
            with pytest.raises(DBAPIError, match="could not obtain lock"):
                await other.execute(select(expenses.c.id).where(*mine).with_for_update(nowait=True))
    finally:
        await db.close()


def test_merge_groups_stay_under_the_column_and_argument_caps() -> None:
    # 3 reads of 700 columns: 1,400 fit, the third starts a group of its own (alone)
    assert merge_groups({0: (700, 1), 1: (700, 1), 2: (700, 1)}) == [{0: 700, 1: 700}]
    # arguments: 20,000 + 20,000 is over 30,000, so the second starts a new group
    assert merge_groups({0: (5, 20000), 1: (5, 20000), 2: (5, 1)}) == [{1: 5, 2: 5}]
    # a read that cannot merge (an array column) is left out and breaks nothing
    assert merge_groups({0: (3, 1), 1: (None, 1), 2: (4, 2)}) == [{0: 3, 2: 4}]
    assert merge_groups({0: (3, 1)}) == [] and merge_groups({}) == []
    assert MAX_MERGED_COLUMNS < 1664
    # at most MAX_MERGED_READS reads a statement (PostgreSQL plans a merged one each time)
    many = merge_groups({k: (1, 1) for k in range(MAX_MERGED_READS * 2 + 1)})
    assert [len(group) for group in many] == [MAX_MERGED_READS, MAX_MERGED_READS]
