"""loaders/rows.py: rows by id and child lists by parent id, one statement per loader and level.

Each loader of a request's set (loaders/registry.py) on the test database, its answers
compared with the rows read plainly: values in key order, a duplicate key answered
twice, another business's keys answered as missing (None, or an empty list).
"""

import asyncio
from collections import defaultdict
from collections.abc import Iterable
from typing import Any, cast

import pytest
from sqlalchemy import Row, Table

from db.engine import RequestDb
from db.nodes import EXPENSE, MEMBER
from db.tables.expense import expense_events, expenses
from db.tables.org import businesses, cards, categories, members, policies, teams
from db.tables.receipt import receipts
from db.visibility import Visibility
from loaders.registry import make_loaders
from tests.conftest import StatementCounter
from tests.loaders.conftest import Committed
from tests.loaders.rows_read import UNKNOWN, ids_of, nested_ids
from tests.world import Biz, World


def values(row: object) -> tuple[Any, ...]:
    """Return a row's values (typed rows are protocols: mypy does not know they iterate)."""
    return tuple(cast("Iterable[Any]", row))


def whole(biz: Biz) -> Visibility:
    return Visibility(business_id=biz.id)


def employee(biz: Biz) -> Visibility:
    """Return the visibility of ``biz``'s employee in sales: their own rows only."""
    return Visibility(
        business_id=biz.id, member_id=biz.members["employee"], own_team_id=biz.teams["sales"]
    )


def keys_with_strangers(mine: list[int], theirs: int) -> list[int]:
    """Return ``mine`` reversed, one of them twice, another business's key and an unknown one."""
    return [*mine[::-1], theirs, mine[0], UNKNOWN]


@pytest.mark.parametrize("table", [expenses, members, cards, teams, receipts, categories])
async def test_rows_by_id_come_in_key_order_and_only_of_the_business(
    db: RequestDb, committed: Committed, world: World, counted: StatementCounter, table: Table
) -> None:
    rows = committed[table.name]
    mine = {row.id: row for row in rows if row.business_id == world.a.id}
    theirs = next(row.id for row in rows if row.business_id == world.b.id)
    keys = keys_with_strangers(sorted(mine)[:6], theirs)
    found = await make_loaders(db, whole(world.a)).ref(table.name).load_all(keys)
    assert [None if row is None else values(row) for row in found] == [
        values(mine[key]) if key in mine else None for key in keys
    ]
    assert counted.count == 1


async def test_rows_by_a_client_supplied_id_follow_visibility(
    db: RequestDb, committed: Committed, world: World, counted: StatementCounter
) -> None:
    rows = committed[expenses.name]
    keys = sorted(row.id for row in rows if row.business_id == world.a.id)
    own = {row.id for row in rows if row.member_id == world.a.members["employee"]}
    assert own and own != set(keys)
    loaders = make_loaders(db, employee(world.a))
    visible, referenced = await asyncio.gather(
        loaders.visible(EXPENSE).load_all(keys), loaders.ref(EXPENSE).load_all(keys)
    )
    assert ids_of(visible) == [key if key in own else None for key in keys]
    assert ids_of(referenced) == keys  # a reference from a visible object: tenant only
    assert counted.count == 2  # one per loader, sent together


async def test_a_narrowed_loader_reads_its_columns_and_hears_of_changes(
    db: RequestDb, committed: Committed, world: World, counted: StatementCounter
) -> None:
    mine = [row for row in committed[members.name] if row.business_id == world.a.id]
    loaders = make_loaders(db, whole(world.a))
    narrowed = loaders.ref(MEMBER, ("name",))
    found = await narrowed.load_all([row.id for row in mine])
    assert [(row.id, row.name) for row in found if row is not None] == [
        (row.id, row.name) for row in mine
    ]
    assert all(not hasattr(row, "email") for row in found)  # the id and name only
    assert counted.count == 1
    # a write in the same request: every loader of the table hears of the new (whole) row
    whole_row = await loaders.ref(MEMBER).load(mine[0].id)
    assert whole_row is not None and counted.count == 2
    renamed = whole_row._replace(name="Renamed")  # type: ignore[attr-defined]
    loaders.changed(MEMBER, renamed.id, renamed)
    assert [await narrowed.load(renamed.id), await loaders.ref(MEMBER).load(renamed.id)] == [
        renamed,
        renamed,
    ]
    assert counted.count == 2


def grouped(rows: list[Row[Any]], biz: Biz, key: str, *order: str) -> dict[int, list[int]]:
    """Return the ids of ``biz``'s rows per value of ``key``, ordered by ``order`` then id."""
    by_parent: dict[int, list[Row[Any]]] = defaultdict(list)
    for row in rows:
        if row.business_id == biz.id:
            by_parent[getattr(row, key)].append(row)
    return {
        parent: [r.id for r in sorted(children, key=lambda r: tuple(getattr(r, o) for o in order))]
        for parent, children in by_parent.items()
    }


# loader attribute, child table, parent column, order, parent table
CHILDREN = [
    ("receipts_by_expense", receipts, "expense_id", ("uploaded_at", "id"), expenses),
    ("events_by_expense", expense_events, "expense_id", ("at", "id"), expenses),
    ("members_by_team", members, "team_id", ("name", "id"), teams),
    ("cards_by_holder", cards, "holder_id", ("created_at", "id"), members),
]


@pytest.mark.parametrize(
    ("loader", "table", "key", "order", "parents"), CHILDREN, ids=[c[0] for c in CHILDREN]
)
async def test_children_come_per_parent_in_key_order(
    db: RequestDb,
    committed: Committed,
    world: World,
    counted: StatementCounter,
    loader: str,
    table: Table,
    key: str,
    order: tuple[str, ...],
    parents: Table,
) -> None:
    expected = grouped(committed[table.name], world.a, key, *order)
    parent_rows = committed[parents.name]
    mine = sorted(row.id for row in parent_rows if row.business_id == world.a.id)[:12]
    theirs = next(row.id for row in parent_rows if row.business_id == world.b.id)
    assert any(expected.get(p) for p in mine)
    keys = keys_with_strangers(mine, theirs)
    found = await getattr(make_loaders(db, whole(world.a)), loader).load_all(keys)
    assert nested_ids(found) == [expected.get(k, []) for k in keys]
    assert counted.count == 1


async def test_one_level_of_child_lists_is_one_statement_per_loader(
    db: RequestDb, world: World, counted: StatementCounter
) -> None:
    loaders = make_loaders(db, whole(world.a))
    expense_ids, team_ids = world.a.expense_ids[:20], list(world.a.teams.values())
    member_ids = list(world.a.members.values())
    results = await asyncio.gather(
        *(loaders.receipts_by_expense.load(e) for e in expense_ids),
        *(loaders.events_by_expense.load(e) for e in expense_ids),
        loaders.members_by_team.load_all(team_ids),
        *(loaders.cards_by_holder.load(m) for m in member_ids),
    )
    assert len(results) == 2 * len(expense_ids) + 1 + len(member_ids)
    assert counted.count == 4


async def test_children_follow_the_viewers_visibility(
    db: RequestDb, world: World, counted: StatementCounter
) -> None:
    a = world.a
    loaders = make_loaders(db, employee(a))
    sales, eng = a.teams["sales"], a.teams["eng"]
    me, teammate = a.members["employee"], a.members["employee2"]
    assert nested_ids(await loaders.members_by_team.load_all([sales, eng])) == [[me], []]
    assert nested_ids(await loaders.cards_by_holder.load_all([me, teammate])) == [
        [a.cards["employee"]],
        [],
    ]
    assert counted.count == 2


@pytest.mark.parametrize("visibility", [whole, employee])
async def test_narrowed_children_are_the_same_rows_with_fewer_columns(
    db: RequestDb, world: World, counted: StatementCounter, visibility: Any
) -> None:
    a = world.a
    loaders = make_loaders(db, visibility(a))
    team_ids, member_ids = list(a.teams.values()), list(a.members.values())
    narrow_members = loaders.narrowed(loaders.members_by_team, ("id", "name"))
    narrow_cards = loaders.narrowed(loaders.cards_by_holder, ("id", "last4"))
    assert loaders.narrowed(loaders.members_by_team, None) is loaders.members_by_team
    found = await asyncio.gather(
        narrow_members.load_all(team_ids),
        loaders.members_by_team.load_all(team_ids),
        narrow_cards.load_all(member_ids),
        loaders.cards_by_holder.load_all(member_ids),
    )
    assert nested_ids(found[0]) == nested_ids(found[1]) and any(found[1])
    assert nested_ids(found[2]) == nested_ids(found[3]) and any(found[3])
    narrowed_members = [m for ms in found[0] for m in ms]
    assert all(not hasattr(m, "email") and m.name for m in narrowed_members)
    assert all(not hasattr(c, "status") and c.last4 for cs in found[2] for c in cs)
    assert counted.count == 4


async def test_a_narrowed_lookup_by_id_hears_of_changes(
    db: RequestDb, world: World, counted: StatementCounter
) -> None:
    loaders = make_loaders(db, employee(world.a))
    mine = world.a.expense_ids[5]  # the employee's own
    narrowed = loaders.visible(EXPENSE, ("merchant_name",))
    [row] = await narrowed.load_all([mine])
    assert row is not None and not hasattr(row, "description") and counted.count == 1
    [whole_row] = await loaders.visible(EXPENSE).load_all([mine])
    assert whole_row is not None
    renamed = whole_row._replace(merchant_name="Renamed")  # type: ignore[attr-defined]
    loaders.changed(EXPENSE, mine, renamed)
    assert await narrowed.load(mine) == renamed
    assert counted.count == 2


async def test_policies_and_the_business_are_the_requests_own(
    db: RequestDb, committed: Committed, world: World, counted: StatementCounter
) -> None:
    active = [
        row.id
        for row in sorted(committed[policies.name], key=lambda r: r.id)
        if row.business_id == world.a.id and row.active
    ]
    assert active
    loaders = make_loaders(db, whole(world.a))
    found_policies, found_businesses = await asyncio.gather(
        loaders.policies.load_all([world.a.id, world.a.id]),
        loaders.business.load_all([world.b.id, world.a.id]),
    )
    assert nested_ids(found_policies) == [active, active]
    (row,) = [r for r in committed[businesses.name] if r.id == world.a.id]
    assert [None if b is None else values(b) for b in found_businesses] == [None, values(row)]
    assert counted.count == 2
