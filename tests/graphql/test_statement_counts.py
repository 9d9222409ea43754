"""SQL statements per GraphQL request do not depend on page size or the number of parents.

Counted on a business of its own (20 teams of a manager and two employees, each team
with 6 expenses on cards, with receipts and events), so every reference exists on every
row and the exact count is known: each request costs 1 statement to authenticate, then
one per loader level.
"""

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from app.auth import hash_secret, issue_token, new_api_key
from db.tables.api import api_keys
from db.tables.expense import expense_events, expenses
from db.tables.org import businesses, cards, categories, members, policies, teams
from db.tables.receipt import receipts
from tests.conftest import SETTINGS, gql
from tests.graphql.helpers_paging import gid, insert_id, insert_ids
from tests.world import ANCHOR

TEAMS = 20


@dataclass
class Gamma:
    """Ids of the counting business and its credentials."""

    id: int
    admin: int
    key: str = ""
    ids: dict[str, list[int]] = field(default_factory=dict)

    def token(self) -> str:
        return issue_token(SETTINGS, business_id=self.id, member_id=self.admin)


async def _team(conn: Any, b: int, n: int, category_ids: list[int]) -> dict[str, list[int]]:
    team = await insert_id(conn, teams, business_id=b, name=f"Team {n:02d}")
    people = [
        dict(business_id=b, team_id=team, name=f"{key} {n}", email=f"{key}{n}@gamma.test", role=role)
        for key, role in (("manager", "MANAGER"), ("employee", "EMPLOYEE"), ("staff", "EMPLOYEE"))
    ]  # fmt: skip
    manager, *spenders = await insert_ids(conn, members, people)
    await conn.execute(teams.update().where(teams.c.id == team).values(manager_id=manager))
    card_ids = await insert_ids(conn, cards, [
        dict(business_id=b, holder_id=m, team_id=team, last4=f"{m % 10000:04d}", kind="VIRTUAL", currency="GBP")
        for m in spenders
    ])  # fmt: skip
    rows = []
    for k in range(6):
        at = ANCHOR - timedelta(hours=n * 6 + k)
        rows.append(dict(
            business_id=b, member_id=spenders[k % 2], team_id=team, card_id=card_ids[k % 2],
            category_id=category_ids[k % 3], merchant_name="Shop", amount_minor=1000 * (k + 1),
            currency="GBP", home_amount_minor=1000 * (k + 1), home_currency="GBP", fx_rate=1,
            spent_at=at, status="SUBMITTED", created_at=at, updated_at=at,
        ))  # fmt: skip
    expense_ids = await insert_ids(conn, expenses, rows)
    receipt_ids = await insert_ids(conn, receipts, [
        dict(business_id=b, expense_id=e, uploaded_by=rows[k]["member_id"], file_name=f"r{e}.pdf",
             content_type="application/pdf", size_bytes=100, sha256=f"{e:064x}",
             storage_key=f"gamma/{e}", uploaded_at=rows[k]["spent_at"])
        for k, e in enumerate(expense_ids) if k % 3
    ])  # fmt: skip
    await conn.execute(expense_events.insert(), [
        dict(business_id=b, expense_id=e, actor_id=rows[k]["member_id"], action="CREATED", at=ANCHOR)
        for k, e in enumerate(expense_ids)
    ])  # fmt: skip
    return {"teams": [team], "members": [manager, *spenders], "cards": card_ids,
            "expenses": expense_ids, "receipts": receipt_ids}  # fmt: skip


@pytest.fixture(scope="module")
async def gamma(engine: Any) -> Gamma:
    async with engine.begin() as conn:
        b = await insert_id(conn, businesses, name="Gamma Counts", home_currency="GBP")
        admin = await insert_id(
            conn, members, business_id=b, name="Admin", email="admin@gamma.test", role="ADMIN"
        )
        category_ids = await insert_ids(
            conn, categories, [dict(business_id=b, name=f"Cat {n}") for n in range(3)]
        )
        await conn.execute(
            policies.insert().values(business_id=b, name="Receipts", receipt_required_above_minor=0)
        )
        gamma = Gamma(id=b, admin=admin, ids={"categories": category_ids})
        for n in range(TEAMS):
            for table, ids in (await _team(conn, b, n, category_ids)).items():
                gamma.ids.setdefault(table, []).extend(ids)
        prefix, gamma.key = new_api_key()
        await conn.execute(
            api_keys.insert().values(
                business_id=b, name="all", prefix=prefix, secret_hash=hash_secret(gamma.key),
                scopes=["admin"],
            )
        )  # fmt: skip
    return gamma


EXPENSE_FIELDS = (
    "id member { name } team { name } card { last4 } category { name } receipts { fileName }"
    " events { action at } policyViolations { code } receiptMissing"
)
# name -> (query of $n parents, statements: auth + one per loader level, the large $n)
CASES: dict[str, tuple[str, int, int]] = {
    # page, member, team, card, category, receipts, events, policies
    "expenses": (f"expenses(first: $n) {{ nodes {{ {EXPENSE_FIELDS} }} }}", 9, 50),
    # page, manager, members by team, expense pages (LATERAL), expense members
    "teams": (
        "teams(first: $n) { nodes { name manager { name } members { name }"
        " expenses(first: 5) { nodes { id member { name } } } } }",
        6,
        TEAMS,
    ),
    # page, cards by holder, expense pages
    "members": (
        "members(first: $n) { nodes { name cards { last4 } expenses(first: 3) { nodes { id } } } }",
        4,
        50,
    ),
    # page, holder, expense pages
    "cards": (
        "cards(first: $n) { nodes { last4 holder { name } expenses(first: 2) { nodes { id } } } }",
        4,
        40,
    ),
    # page, expense (visible), uploader
    "receipts": (
        "receipts(first: $n) { nodes { fileName expense { id } uploadedBy { name } } }",
        4,
        50,
    ),
    # page, expense pages, counts grouped by team
    "nested totalCount": (
        "teams(first: $n) { nodes { expenses(first: 5) { totalCount nodes { id } } } }",
        4,
        TEAMS,
    ),
    # page, count
    "root totalCount": ("expenses(first: $n) { totalCount nodes { id } }", 3, 50),
}


async def _count(
    client: Any, statements: Any, query: str, variables: dict[str, Any], as_: str
) -> tuple[dict[str, Any], list[str]]:
    statements.reset()
    data = await gql(client, query, variables, as_=as_)
    return data, list(statements.statements)


@pytest.mark.parametrize("credential", ["token", "key"])
@pytest.mark.parametrize("name", CASES)
async def test_statements_do_not_grow_with_parents(client, statements, gamma, name, credential):
    selection, expected, large = CASES[name]
    root = selection.split("(")[0]
    as_ = gamma.token() if credential == "token" else gamma.key
    for n in (1, large):
        data, sql = await _count(
            client, statements, f"query($n: Int!) {{ {selection} }}", {"n": n}, as_
        )
        nodes = data[root]["nodes"]
        assert len(nodes) == n
        connections = [v for node in nodes for v in node.values() if isinstance(v, dict)]
        connections = [c for c in connections if "nodes" in c]
        if root != "members":  # nested lists really hold rows, so no loader was skipped
            assert all(c["nodes"] for c in connections)
        elif n > 1:  # the admin and managers spend nothing; the employees do
            assert any(c["nodes"] for c in connections)
        assert all(c.get("totalCount", 6) == 6 for c in connections)
        assert data[root].get("totalCount", len(gamma.ids["expenses"])) == len(
            gamma.ids["expenses"]
        )
        assert len(sql) == expected, (n, sql)
        counts = [s for s in sql if "count(" in s.lower()]
        assert len(counts) == ("totalCount" in selection), counts


@pytest.mark.parametrize(
    ("types", "sizes"),
    [
        (("Expense",), (1, 40)),
        (("Expense", "Member", "Team", "Card", "Category", "Receipt"), (6, 40)),
    ],
)
async def test_nodes_cost_one_statement_per_type(client, statements, gamma, types, sizes):
    query = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"
    tables = {"Expense": "expenses", "Member": "members", "Team": "teams", "Card": "cards",
              "Category": "categories", "Receipt": "receipts"}  # fmt: skip
    for size in sizes:
        ids: list[str] = []
        while len(ids) < size:
            type_ = types[len(ids) % len(types)]
            pool = gamma.ids[tables[type_]]
            ids.append(gid(type_, pool[(len(ids) // len(types)) % len(pool)]))
        data, sql = await _count(client, statements, query, {"ids": ids}, gamma.token())
        assert [node["id"] for node in data["nodes"]] == ids
        assert len(sql) == 1 + len(types), sql
