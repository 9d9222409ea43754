"""db/sent_together.py: a level's loader batches sent with the read whose rows hold their keys.

What they prime must be what the loaders would have loaded themselves; the whole goes in
one round trip; a batch with no keys to read is not counted as a statement.
"""

from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from db import fastread, sent_together
from db.engine import RequestDb
from db.fastread import keep, keyed_sql, unkeyed_sql
from db.nodes import CARD, MEMBER
from db.paging import Keyset
from db.queries.expenses import ExpenseSpec
from db.tables.expense import expenses
from db.tables.org import teams
from db.visibility import Visibility
from loaders.expenses import ParentPageKey
from loaders.registry import Loaders, make_loaders
from tests.conftest import StatementCounter
from tests.db.test_merged_reads import round_trips
from tests.world import World


@pytest.fixture
async def db(engine: AsyncEngine) -> AsyncIterator[RequestDb]:
    handle = RequestDb(engine)
    yield handle
    await handle.close()


def test_the_keys_placeholder_takes_the_place_of_the_keys() -> None:
    sql = "SELECT a FROM t WHERE b = $1 AND c = ANY ($2::BIGINT[]) AND d = $3 AND e = $13"
    keyed = keyed_sql(sql, 2)
    assert keyed == "SELECT a FROM t WHERE b = $1 AND c = ANY ($0::BIGINT[]) AND d = $2 AND e = $12"
    assert unkeyed_sql(keyed, 2) == sql


def _page(business_id: int, limit: int) -> object:
    columns = [expenses.c.id, expenses.c.member_id, expenses.c.card_id]
    statement = select(*columns).where(expenses.c.business_id == business_id)
    return keep(statement.order_by(expenses.c.id).limit(limit))


def _followers(loaders: Loaders) -> list[object]:
    return [
        loaders.ref(MEMBER, ("name",)).following("expenses", "member_id"),
        loaders.ref(CARD, ("last4",)).following("expenses", "card_id"),  # some null
        loaders.narrowed(loaders.receipts_by_expense, ("file_name",)).following("expenses", "id"),
    ]


async def test_followers_prime_what_their_loaders_would_load_in_one_round_trip(
    db: RequestDb, engine: AsyncEngine, world: World, statements: StatementCounter
) -> None:
    loaders = make_loaders(db, Visibility(world.a.id))
    await db.rows(select(expenses.c.id).limit(1))  # the connection, lent
    sent = round_trips(db)
    statements.reset()
    db.follows.offer(_followers(loaders))  # type: ignore[arg-type]
    rows = await db.rows(_page(world.a.id, 12))  # type: ignore[arg-type]
    ours = [q for q in sent if "expenses" in q]  # asyncpg also asks about the record types
    assert len(ours) == 1 and all(t in ours[0] for t in ("members", "cards", "receipts"))
    # keys matched by = ANY: repeated (a member of several expenses) and null (no card) alike
    assert ours[0].count("= ANY (ARRAY(SELECT _c") == 3 and "DISTINCT" not in ours[0]
    assert len(statements.statements) == 4
    assert db.follows.claim() is None  # taken
    assert None in [r.card_id for r in rows] and any(r.card_id for r in rows)  # the world has both
    statements.reset()
    primed = await _loaded(loaders, rows)
    assert statements.count == 0  # all there
    assert primed == await _loaded_afresh(engine, world, rows)
    assert any(primed[2]) and not all(primed[2])  # expenses with receipts, and without


@pytest.mark.parametrize("card", [True, False])
async def test_a_one_row_reads_followers_take_its_keys_by_equality(
    db: RequestDb, engine: AsyncEngine, world: World, statements: StatementCounter, card: bool
) -> None:
    """A read of at most one row gives at most one key: PostgreSQL plans an equality as a
    lookup by primary key, where against an array it may scan the business's index."""
    a = world.a
    found = await db.rows(
        select(expenses.c.id)
        .where(expenses.c.business_id == a.id, expenses.c.card_id.is_not(None) == card)
        .limit(1)
    )
    sent = round_trips(db)
    loaders = make_loaders(db, Visibility(a.id))
    db.follows.offer(_followers(loaders))  # type: ignore[arg-type]
    one = select(expenses.c.id, expenses.c.member_id, expenses.c.card_id)
    one = one.where(expenses.c.business_id == a.id, expenses.c.id == found[0].id)
    statements.reset()
    rows = await db.rows(keep(one, one_row=True))
    [ours] = [q for q in sent if "expenses" in q]
    # joined before them, no CTE: they take the key from its columns
    assert ours.count("= _m0._c") == 3 and "ARRAY(" not in ours and "WITH" not in ours
    # by their ids, a member and a card are one row at most: joined as the expense is, where
    # receipts (several an expense) are aggregated into arrays
    assert all(f"true AS _p{k}," in ours for k in (0, 1, 2)) and "_a1_" not in ours
    assert "_a2_" not in ours and "array_agg(_c0) AS _a3_0" in ours
    assert (rows[0].card_id is not None) == card
    assert len(statements.statements) == (4 if card else 3)  # no card id: nothing read
    statements.reset()
    primed = await _loaded(loaders, rows)
    assert statements.count == 0
    assert primed == await _loaded_afresh(engine, world, rows)


async def _loaded(loaders: Loaders, rows: Sequence[Any]) -> tuple[list[Any], ...]:
    """Return what the followers' loaders hold for ``rows``' keys."""
    return (
        await loaders.ref(MEMBER, ("name",)).load_all([r.member_id for r in rows]),
        await loaders.ref(CARD, ("last4",)).load_all([r.card_id for r in rows if r.card_id]),
        await loaders.narrowed(loaders.receipts_by_expense, ("file_name",)).load_all(
            [r.id for r in rows]
        ),
    )


async def _loaded_afresh(
    engine: AsyncEngine, world: World, rows: Sequence[Any], business_id: int | None = None
) -> Any:
    """Return :func:`_loaded` of loaders of a request of their own (nothing primed)."""
    fresh_db = RequestDb(engine)
    try:
        visibility = Visibility(world.a.id if business_id is None else business_id)
        return await _loaded(make_loaders(fresh_db, visibility), rows)
    finally:
        await fresh_db.close()


async def test_a_follower_with_no_keys_is_not_a_statement(
    db: RequestDb, world: World, statements: StatementCounter
) -> None:
    loaders = make_loaders(db, Visibility(world.a.id))
    statements.reset()
    db.follows.offer(_followers(loaders))  # type: ignore[arg-type]
    assert await db.rows(_page(-1, 5)) == []  # type: ignore[arg-type]
    assert statements.count == 1
    assert not loaders.ref(MEMBER, ("name",))._primed


async def test_all_or_none_go_with_a_read(
    db: RequestDb, world: World, statements: StatementCounter
) -> None:
    loaders = make_loaders(db, Visibility(world.a.id))
    followers = _followers(loaders)
    followers.append(loaders.member_counts.following("expenses", "team_id"))  # not read
    statements.reset()
    db.follows.offer(followers)  # type: ignore[arg-type]
    assert await db.rows(_page(world.a.id, 5))  # type: ignore[arg-type]
    assert statements.count == 1
    assert not loaders.ref(MEMBER, ("name",))._primed


@pytest.mark.parametrize("twice", [False, True])
async def test_pages_following_rows_that_repeat_a_key_prime_nothing(
    db: RequestDb, engine: AsyncEngine, world: World, statements: StatementCounter, twice: bool
) -> None:
    """A LATERAL takes a key per row of the read it follows (db/merged_reads.py): where
    a key repeats, it read that key's page twice, so nothing is primed; the loader reads."""
    a = world.a
    loaders = make_loaders(db, Visibility(a.id))
    key = ParentPageKey("team", 0, ExpenseSpec(), Keyset("spent_at", True, 2))
    teams_ = select(teams.c.id).where(teams.c.business_id == a.id).order_by(teams.c.id)
    if twice:  # each team's row twice
        series = func.generate_series(1, 2).table_valued("g").render_derived("s")
        teams_ = teams_.add_columns(series.c.g).select_from(teams, series)
    statements.reset()
    following = loaders.expense_pages.following("teams", "id", key)
    assert following is not None
    db.follows.offer([following])
    rows = await db.rows(keep(teams_))
    ids = [row.id for row in rows]
    assert len(ids) == len(a.teams) * (2 if twice else 1) and db.round_trips == 1
    assert statements.count == (1 if twice else 2)  # a follower that primes counts
    pages = await loaders.expense_pages.load_all([key._replace(parent_id=i) for i in ids])
    assert statements.count == 2 and db.round_trips == (2 if twice else 1)
    fresh_db = RequestDb(engine)
    try:
        fresh = make_loaders(fresh_db, Visibility(a.id)).expense_pages
        assert pages == await fresh.load_all([key._replace(parent_id=i) for i in ids])
    finally:
        await fresh_db.close()
    assert all(len(page.rows) == 2 for page in pages)  # world.a's teams have 2 at least


async def test_what_is_taken_is_kept_by_shape_and_parameters_and_the_kept_are_few(
    engine: AsyncEngine, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """How a read takes its followers is worked out once per shape (its row type, each
    follower's statement and parameters): another business, another page or other followers
    each prime what their loaders would load."""
    monkeypatch.setattr(sent_together, "MAX_TAKEN", 2)
    monkeypatch.setattr(sent_together, "_taken", {})
    for business, limit, some in [("a", 12, 3), ("b", 12, 3), ("a", 12, 2), ("b", 4, 3)] * 2:
        biz = getattr(world, business)
        db = RequestDb(engine)
        try:
            loaders = make_loaders(db, Visibility(biz.id))
            db.follows.offer(_followers(loaders)[:some])  # type: ignore[arg-type]
            rows = await db.rows(_page(biz.id, limit))  # type: ignore[arg-type]
            assert len(sent_together._taken) <= sent_together.MAX_TAKEN
            primed = await _loaded(loaders, rows)
            assert db.round_trips == 1 + (some < 3)  # receipts not taken: read now
        finally:
            await db.close()
        assert primed == await _loaded_afresh(engine, world, rows, biz.id)


def test_what_is_taken_is_forgotten_with_the_kept_statements(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(fastread, "_kept", dict.fromkeys(range(4001)))
    monkeypatch.setattr(fastread, "_memos", [])
    memo = fastread.kept_memo()
    memo["made"] = "of kept statements"
    keep(select(expenses.c.id))
    assert memo == {} and len(fastread._kept) == 1
