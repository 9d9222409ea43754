"""db/visibility.py: each predicate, for each member of both businesses, selects what its rule says.

The expectations are plain Python over every row of the tables, read without any
predicate: the whole business for admins and finance, the managed teams' rows and one's
own for managers, one's own for employees; nothing of another business, ever.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import ColumnElement, Row, Table, select
from sqlalchemy.ext.asyncio import AsyncEngine

from db import visibility as rules
from db.tables.expense import expenses
from db.tables.org import cards, members, teams
from db.tables.receipt import receipts
from db.visibility import Visibility
from resolvers.context import Principal
from tests.world import Biz, World

# the members tests/world.py gives each business, and their roles
ROLES = {
    "admin": "ADMIN",
    "finance": "FINANCE",
    "manager": "MANAGER",  # of sales
    "manager2": "MANAGER",  # of eng
    "employee": "EMPLOYEE",  # in sales; uploaded every receipt
    "employee2": "EMPLOYEE",  # in sales
    "engineer": "EMPLOYEE",  # in eng
}
WHOLE_BUSINESS = {"ADMIN", "FINANCE"}
# each table and the predicate under test
TABLES: dict[str, tuple[Table, Callable[[Visibility], ColumnElement[bool]]]] = {
    "expenses": (expenses, rules.expense_visible),
    "members": (members, rules.member_visible),
    "cards": (cards, rules.card_visible),
    "teams": (teams, rules.team_visible),
    "receipts": (receipts, rules.receipt_visible),
}

Rows = dict[str, list[Row[Any]]]


@pytest.fixture(scope="module")
async def rows(engine: AsyncEngine, world: World) -> Rows:
    """Return every row of the five tables, of every business, read without a predicate."""
    async with engine.connect() as conn:
        return {name: list(await conn.execute(select(t))) for name, (t, _) in TABLES.items()}


@dataclass(frozen=True)
class Viewer:
    """A member as the rules see them: who, in which business, managing which teams."""

    id: int
    business_id: int
    role: str
    team_id: int | None
    managed: frozenset[int]

    @property
    def visibility(self) -> Visibility:
        """Return the visibility the app derives for this member (resolvers/context.py)."""
        principal = Principal(
            kind="member",
            id=self.id,
            business_id=self.business_id,
            home_currency="GBP",
            permissions=frozenset(),
            role=self.role,
            team_id=self.team_id,
            managed_team_ids=tuple(sorted(self.managed)),
        )
        return principal.visibility


def viewer(rows: Rows, member_id: int) -> Viewer:
    (member,) = [m for m in rows["members"] if m.id == member_id]
    managed = frozenset(
        t.id
        for t in rows["teams"]
        if t.business_id == member.business_id and t.manager_id == member.id
    )
    return Viewer(member.id, member.business_id, member.role, member.team_id, managed)


def expected(rows: Rows, table: str, who: Viewer) -> set[int]:
    """Return the ids of ``table`` the rules let ``who`` see, worked out row by row."""
    mine = [row for row in rows[table] if row.business_id == who.business_id]
    if who.role in WHOLE_BUSINESS:
        return {row.id for row in mine}
    if table == "expenses":
        return {e.id for e in mine if e.member_id == who.id or e.team_id in who.managed}
    if table == "members":
        return {m.id for m in mine if m.id == who.id or m.team_id in who.managed}
    if table == "cards":
        return {c.id for c in mine if c.holder_id == who.id or c.team_id in who.managed}
    if table == "teams":
        return {t.id for t in mine if t.id in who.managed or t.id == who.team_id}
    on_visible_expense = expected(rows, "expenses", who)
    team_members = {
        m.id
        for m in rows["members"]
        if m.business_id == who.business_id and m.team_id in who.managed
    }
    return {
        r.id
        for r in mine
        if r.uploaded_by == who.id
        or r.expense_id in on_visible_expense
        or r.uploaded_by in team_members
    }


async def selected(engine: AsyncEngine, table: str, seen_by: Visibility) -> set[int]:
    rows_of, visible = TABLES[table]
    statement = select(rows_of.c.id).where(visible(seen_by))
    async with engine.connect() as conn:
        return set((await conn.execute(statement)).scalars())


def business(world: World, name: str) -> Biz:
    return {"a": world.a, "b": world.b}[name]


@pytest.mark.parametrize("table", sorted(TABLES))
@pytest.mark.parametrize("member", sorted(ROLES))
@pytest.mark.parametrize("biz", ["a", "b"])
async def test_a_predicate_selects_what_the_rule_says(
    engine: AsyncEngine, world: World, rows: Rows, biz: str, member: str, table: str
) -> None:
    who = viewer(rows, business(world, biz).members[member])
    assert who.role == ROLES[member]
    seen = await selected(engine, table, who.visibility)
    assert seen == expected(rows, table, who)
    others = {row.id for row in rows[table] if row.business_id != who.business_id}
    assert seen and not seen & others


def test_the_world_tells_the_rules_apart(world: World, rows: Rows) -> None:
    # were these equal, a predicate ignoring the role or the teams would pass the test above
    biz = world.a

    def count(table: str, member: str) -> int:
        return len(expected(rows, table, viewer(rows, biz.members[member])))

    for table in ("expenses", "members", "cards"):
        assert count(table, "employee2") < count(table, "manager") < count(table, "admin"), table
    assert count("teams", "employee") == count("teams", "manager") == 1 < count("teams", "admin")
    # receipts: the uploader sees them all, a teammate only those on their own expenses,
    # their manager those of the team's uploads
    assert count("receipts", "employee2") < count("receipts", "employee")
    assert (
        count("receipts", "employee") == count("receipts", "manager") == count("receipts", "admin")
    )
    assert count("receipts", "manager2") < count("receipts", "manager")


def test_sees_all_is_the_whole_business() -> None:
    assert Visibility(business_id=1).sees_all
    assert not Visibility(business_id=1, member_id=2).sees_all
    assert not Visibility(business_id=1, member_id=2, team_ids=(3,)).sees_all


async def test_a_member_of_another_business_sees_nothing_here(
    engine: AsyncEngine, world: World
) -> None:
    # the business id bounds every predicate: B's employee, asked about with A's id
    stranger = Visibility(business_id=world.a.id, member_id=world.b.members["employee"])
    for table in sorted(TABLES):
        assert await selected(engine, table, stranger) == set(), table
