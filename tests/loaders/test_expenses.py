"""loaders/expenses.py: expense pages and counts per parent (member, team, card).

One statement per distinct set of connection arguments, whatever the number of parents;
each parent's page and count checked against the expense rows worked out in Python.
"""

import asyncio
from typing import Any

from sqlalchemy import Row

from db.engine import RequestDb
from db.paging import Keyset
from db.queries.expenses import ExpenseParent, ExpenseSpec
from db.visibility import Visibility
from loaders.expenses import ParentCountKey, ParentPageKey
from loaders.registry import make_loaders
from tests.conftest import StatementCounter
from tests.loaders.conftest import Committed
from tests.loaders.rows_read import UNKNOWN
from tests.world import Biz, World

NEWEST_FIRST = Keyset(column="spent_at", descending=True, limit=3)
LIVE = ExpenseSpec()  # the default: deleted expenses left out
APPROVED = ExpenseSpec(statuses=("APPROVED",))
COLUMN = {"member": "member_id", "team": "team_id", "card": "card_id"}


def matching(
    committed: Committed, biz: Biz, parent: ExpenseParent, parent_id: int, spec: ExpenseSpec
) -> list[Row[Any]]:
    """Return ``biz``'s expenses of the parent that ``spec`` matches (live, and its statuses)."""
    return [
        e
        for e in committed["expenses"]
        if e.business_id == biz.id
        and getattr(e, COLUMN[parent]) == parent_id
        and e.deleted_at is None
        and (spec.statuses is None or e.status in spec.statuses)
    ]


def newest(rows: list[Row[Any]], limit: int) -> tuple[list[int], bool]:
    """Return the ids of the first ``limit`` rows newest first (ties by id), and whether more."""
    ordered = sorted(rows, key=lambda e: (e.spent_at, e.id), reverse=True)
    return [e.id for e in ordered[:limit]], len(ordered) > limit


def parents(biz: Biz, other: Biz) -> list[int]:
    """Return member ids: some with more than a page, one with none, one of ``other``, a duplicate."""
    m = biz.members
    return [m["engineer"], m["employee"], m["finance"], other.members["employee"], m["engineer"]]


async def test_a_page_per_member_in_one_statement(
    db: RequestDb, committed: Committed, world: World, counted: StatementCounter
) -> None:
    keys = [ParentPageKey("member", p, LIVE, NEWEST_FIRST) for p in parents(world.a, world.b)]
    pages = await make_loaders(db, Visibility(business_id=world.a.id)).expense_pages.load_all(keys)
    assert counted.count == 1
    expected = [newest(matching(committed, world.a, "member", k.parent_id, LIVE), 3) for k in keys]
    assert [([e.id for e in p.rows], p.has_more) for p in pages] == expected
    assert expected[0][1] and expected[2] == ([], False) and expected[3] == ([], False)


async def test_each_distinct_set_of_arguments_is_one_statement(
    db: RequestDb, committed: Committed, world: World, counted: StatementCounter
) -> None:
    loader = make_loaders(db, Visibility(business_id=world.a.id)).expense_pages
    two = Keyset(column="spent_at", descending=True, limit=2)
    teams = list(world.a.teams.values())
    keys = [
        ParentPageKey("team", t, spec, keyset)
        for t in teams
        for spec, keyset in ((LIVE, two), (APPROVED, NEWEST_FIRST), (LIVE, two))
    ]
    pages = await asyncio.gather(*(loader.load(key) for key in keys))
    assert counted.count == 2  # (LIVE, two) and (APPROVED, NEWEST_FIRST)
    assert [([e.id for e in p.rows], p.has_more) for p in pages] == [
        newest(matching(committed, world.a, "team", k.parent_id, k.spec), k.keyset.limit)
        for k in keys
    ]


async def test_pages_follow_the_viewers_visibility(
    db: RequestDb, committed: Committed, world: World, counted: StatementCounter
) -> None:
    a = world.a
    me = a.members["employee"]
    viewer = Visibility(business_id=a.id, member_id=me, own_team_id=a.teams["sales"])
    key = ParentPageKey("team", a.teams["sales"], LIVE, Keyset("spent_at", True, 100))
    (page,) = await make_loaders(db, viewer).expense_pages.load_all([key])
    team = matching(committed, a, "team", a.teams["sales"], LIVE)
    assert [e.id for e in page.rows] == newest([e for e in team if e.member_id == me], 100)[0]
    assert len(page.rows) < len(team)  # the teammates' expenses are not shown


async def test_counts_per_parent_in_one_statement_per_filter(
    db: RequestDb, committed: Committed, world: World, counted: StatementCounter
) -> None:
    a, b = world.a, world.b
    drafts = ExpenseSpec(statuses=("DRAFT",))
    teams = [a.teams["sales"], a.teams["eng"], b.teams["sales"], UNKNOWN]
    keys = [ParentCountKey("team", t, spec) for spec in (LIVE, drafts) for t in teams]
    keys.append(keys[0])
    counts = await make_loaders(db, Visibility(business_id=a.id)).expense_counts.load_all(keys)
    assert counted.count == 2
    assert counts == [len(matching(committed, a, "team", k.parent_id, k.spec)) for k in keys]
    assert counts[0] > counts[4] > 0 and counts[2] == counts[3] == 0
