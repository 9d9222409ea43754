"""Expense page statements are kept by their inputs: equal inputs share one, others never.

The statement of one business or member must never answer for another, whatever order
their requests come in.
"""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from db.engine import RequestDb
from db.paging import Keyset, Page
from db.queries import expenses as expense_reads
from db.queries.expenses import ExpenseSpec, expense_page, expense_pages_by_parent
from db.sql import PAGE_INFO, Columns
from db.tables.expense import ExpenseRow, expenses
from db.visibility import Visibility
from tests.world import World

PAGE = Keyset(column="spent_at", descending=True, limit=100)


async def test_each_scope_gets_its_own_rows_in_any_order(engine: AsyncEngine, world: World) -> None:
    member_id = world.a.members["employee"]
    whole_a, whole_b = Visibility(business_id=world.a.id), Visibility(business_id=world.b.id)
    own = Visibility(business_id=world.a.id, member_id=member_id)
    db = RequestDb(engine)
    try:
        expected = {
            scope: [
                row.id
                for row in await db.rows(
                    select(expenses.c.id)
                    .where(
                        expenses.c.business_id == scope.business_id,
                        expenses.c.deleted_at.is_(None),
                        *([expenses.c.member_id == member_id] if scope is own else []),
                    )
                    .order_by(expenses.c.spent_at.desc(), expenses.c.id.desc())
                    .limit(100)
                )
            ]
            for scope in (whole_a, whole_b, own)
        }
        assert len({tuple(ids) for ids in expected.values()}) == 3
        for scope in (whole_a, own, whole_b, own, whole_a, whole_b):  # kept statements reused
            page = await expense_page(db=db, visibility=scope, spec=ExpenseSpec(), keyset=PAGE)
            assert [row.id for row in page.rows] == expected[scope]
    finally:
        await db.close()
    # kept_by_inputs returns the builder as typed; it is an lru_cache wrapper
    assert expense_reads._page_statement.cache_info().hits >= 3  # type: ignore[attr-defined]


async def test_pages_by_parent_take_the_parent_ids_of_each_call(
    engine: AsyncEngine, world: World
) -> None:
    scope, keyset = Visibility(business_id=world.a.id), Keyset("spent_at", True, 2)
    teams = sorted(world.a.teams.values())
    db = RequestDb(engine)
    try:
        both = await _team_pages(db, scope, teams, keyset)
        for team in teams:  # the same statement, other ids: each answer its own
            alone = await _team_pages(db, scope, [team], keyset)
            assert list(alone) == [team]
            assert [r.id for r in alone[team].rows] == [r.id for r in both[team].rows]
            assert all(r.team_id == team for r in alone[team].rows)
    finally:
        await db.close()


async def test_a_page_peeks_past_its_end_only_when_its_page_info_is_read(
    engine: AsyncEngine, world: World
) -> None:
    # whole rows, or narrowed ones whose page info is read: a row more, which says whether
    # more follow; narrowed ones without: exactly the page, and "more" is not known
    scope, keyset = Visibility(business_id=world.a.id), Keyset("spent_at", True, 2)
    team = sorted(world.a.teams.values())[0]
    db = RequestDb(engine)
    try:
        pages = {}
        for columns in (None, ("id", PAGE_INFO), ("id",)):
            page = await expense_page(
                db=db, visibility=scope, spec=ExpenseSpec(), keyset=keyset, columns=columns
            )
            nested = await _team_pages(db, scope, [team], keyset, columns)
            pages[columns] = (page, nested[team])
        for peeked in pages[None], pages[("id", PAGE_INFO)]:
            assert [p.has_more for p in peeked] == [True, True]  # world.a has more
        ids = [[row.id for row in page.rows] for page in pages[None]]
        for page, expected in zip(pages[("id",)], ids, strict=True):
            assert page.has_more is None and [row.id for row in page.rows] == expected
    finally:
        await db.close()


async def _team_pages(
    db: RequestDb, scope: Visibility, teams: list[int], keyset: Keyset, columns: Columns = None
) -> dict[int, Page[ExpenseRow]]:
    """Return the pages of ``teams``' expenses (all of them, newest first)."""
    return await expense_pages_by_parent(
        db=db,
        visibility=scope,
        parent="team",
        parent_ids=teams,
        spec=ExpenseSpec(),
        keyset=keyset,
        columns=columns,
    )
