"""The queries the API runs use the indexes meant for them (EXPLAIN on a seeded database).

Each case sends a real GraphQL request, captures the SQL it produced, and EXPLAINs that
exact statement with its parameters. The database holds 100,000 expenses over skewed
tenants: enough that a sequential scan would win if an index were missing.
"""

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.auth import issue_token
from app.http import create_app
from db.connect import create_engine
from devdata.seed import seed
from resolvers.ids import encode_id
from tests.conftest import SETTINGS, fresh_database
from tests.rollup import rollup_drift


class Setup:
    def __init__(
        self, engine: AsyncEngine, client: httpx.AsyncClient, token: str, ids: dict[str, int]
    ) -> None:
        self.engine, self.client, self.token, self.ids = engine, client, token, ids
        self.captured: list[tuple[str, Any]] = []


@pytest.fixture(scope="module")
async def setup(server_url: str) -> AsyncIterator[Setup]:
    url = await asyncio.to_thread(fresh_database, server_url)
    report = await seed(url=url, businesses=20, expenses=100_000, seed=5, progress=False)
    engine = create_engine(url)
    business = report.business_ids[0]
    async with engine.connect() as conn:
        admin = await conn.scalar(
            text("SELECT id FROM members WHERE business_id = :b AND role = 'ADMIN' LIMIT 1"),
            {"b": business},
        )
        row = (await conn.execute(text(
            "SELECT member_id, team_id, card_id, id FROM expenses WHERE business_id = :b AND card_id IS NOT NULL"
            " AND team_id IS NOT NULL ORDER BY id LIMIT 1"), {"b": business})).one()  # fmt: skip
    app = create_app(SETTINGS, url, engine=engine)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        setup = Setup(engine, client, issue_token(SETTINGS, business_id=business, member_id=admin),
                      {"member": row[0], "team": row[1], "card": row[2], "expense": row[3]})  # fmt: skip

        def capture(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
            setup.captured.append((statement, parameters))

        event.listen(engine.sync_engine, "before_cursor_execute", capture)
        yield setup
        event.remove(engine.sync_engine, "before_cursor_execute", capture)
    await engine.dispose()


async def _plan_indexes(setup: Setup, query: str, marker: str) -> set[str]:
    """Run ``query``, find its statement containing ``marker``, return the indexes its plan uses."""
    return {
        node["Index Name"]
        for node in await _plan_nodes(setup, query, marker)
        if "Index Name" in node
    }


async def _plan_nodes(setup: Setup, query: str, marker: str) -> list[dict[str, Any]]:
    """Run ``query``, find its statement containing ``marker``, return its plan's nodes."""
    setup.captured.clear()
    response = await setup.client.post(
        "/graphql", json={"query": query}, headers={"Authorization": f"Bearer {setup.token}"}
    )
    assert "errors" not in response.json(), response.json()
    statement, parameters = next((s, p) for s, p in setup.captured if marker in s)
    async with setup.engine.connect() as conn:
        plan = (
            await conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, parameters)
        ).scalar_one()
    return _nodes(json.loads(plan) if isinstance(plan, str) else plan)


def _nodes(plan: Any) -> list[dict[str, Any]]:
    """Return every node of an ``EXPLAIN (FORMAT JSON)`` plan."""
    found: list[dict[str, Any]] = []

    def walk(node: dict[str, Any]) -> None:
        found.append(node)
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    return found


def _expenses(args: str) -> str:
    return f"{{ expenses(first: 20{', ' + args if args else ''}) {{ nodes {{ id }} }} }}"


CASES = [
    ("newest first", _expenses(""), "FROM expenses", "ix_expenses_spent"),
    ("oldest first", _expenses("orderBy: {field: SPENT_AT, direction: ASC}"), "FROM expenses", "ix_expenses_spent"),
    ("by amount", _expenses("orderBy: {field: AMOUNT}"), "FROM expenses", "ix_expenses_amount"),
    ("by creation", _expenses("orderBy: {field: CREATED_AT}"), "FROM expenses", "ix_expenses_created"),
    ("sync", _expenses('filter: {updatedSince: "2026-10-01T00:00:00Z"}, orderBy: {field: UPDATED_AT, direction: ASC}'),
     "FROM expenses", "ix_expenses_updated"),
    ("status queue", _expenses("filter: {statuses: [SUBMITTED]}"), "FROM expenses", "ix_expenses_status_spent"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "query", "marker", "index"), CASES, ids=[c[0] for c in CASES])
async def test_expense_lists_use_their_index(
    setup: Setup, name: str, query: str, marker: str, index: str
) -> None:
    assert index in await _plan_indexes(setup, query, marker)


@pytest.mark.parametrize(
    ("parent", "index"),
    [
        ("member", "ix_expenses_member_spent"),
        ("team", "ix_expenses_team_spent"),
        ("card", "ix_expenses_card_spent"),
    ],
)
async def test_nested_expense_pages_use_the_parent_index(
    setup: Setup, parent: str, index: str
) -> None:
    type_name = parent.title()
    global_id = encode_id(type_name, setup.ids[parent])
    query = f'{{ node(id: "{global_id}") {{ ... on {type_name} {{ expenses(first: 5) {{ nodes {{ id }} }} }} }} }}'
    assert index in await _plan_indexes(setup, query, "LATERAL")


# a business of 3,000 more members with a card each: the seeded ones are small enough for
# the planner to sort them all, as it would not in a business of thousands
_LARGE = (
    "INSERT INTO members (business_id, team_id, name, email, role, created_at)"
    " SELECT :b, (SELECT min(id) FROM teams WHERE business_id = :b), 'Bulk ' || g,"
    " 'bulk' || g || '@bulk.example', 'EMPLOYEE', now() - g * interval '1 minute'"
    " FROM generate_series(1, 3000) AS g",
    "INSERT INTO cards (business_id, holder_id, last4, kind, currency, created_at)"
    " SELECT :b, id, '0000', 'VIRTUAL', 'USD', created_at FROM members"
    " WHERE business_id = :b AND email LIKE 'bulk%'",
)


@pytest.fixture(scope="module")
async def large(setup: Setup) -> Setup:
    """The setup's business with thousands of members and cards, vacuumed as in service."""
    async with setup.engine.begin() as conn:
        business = await conn.scalar(text("SELECT business_id FROM members WHERE id = :m"),
                                     {"m": setup.ids["member"]})  # fmt: skip
        for sql in _LARGE:
            await conn.execute(text(sql), {"b": business})
    async with setup.engine.connect() as conn:
        autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(text("VACUUM ANALYZE members, cards"))
    return setup


@pytest.mark.parametrize(
    ("field", "index"),
    [
        ("members", "ix_members_business_id_created_at_id"),
        ("cards", "ix_cards_business_id_created_at_id"),
    ],
)
async def test_member_and_card_lists_read_their_order_from_an_index(
    large: Setup, field: str, index: str
) -> None:
    query = f"{{ {field}(first: 20) {{ nodes {{ id }} }} }}"
    nodes = await _plan_nodes(large, query, f"ORDER BY {field}.created_at")
    assert index in {node.get("Index Name") for node in nodes}
    assert not [node for node in nodes if node["Node Type"] in ("Sort", "Incremental Sort")]


async def test_team_member_counts_read_only_the_active_members_index(large: Setup) -> None:
    query = "{ teams(first: 20) { nodes { memberCount } } }"
    nodes = await _plan_nodes(large, query, "count(*)")
    counted = [node for node in nodes if node.get("Relation Name") == "members"]
    assert [node.get("Index Name") for node in counted] == ["ix_members_active_business_id_team_id"]


async def test_receipts_of_expenses_use_their_index(setup: Setup) -> None:
    query = "{ expenses(first: 50) { nodes { receipts { id } } } }"
    assert "ix_receipts_expense" in await _plan_indexes(setup, query, "FROM receipts")


async def test_rare_merchant_search_uses_the_trigram_index(setup: Setup) -> None:
    # a frequent term is found fastest by walking the newest rows; a rare one needs the index
    async with setup.engine.connect() as conn:
        rare = await conn.scalar(text(
            "SELECT merchant_name FROM expenses GROUP BY merchant_name ORDER BY count(*), merchant_name LIMIT 1"))  # fmt: skip
    term = rare[1:-1].lower()
    query = _expenses(f'filter: {{merchantSearch: "{term}"}}')
    assert "ix_expenses_merchant_trgm" in await _plan_indexes(setup, query, "FROM expenses")


async def test_spend_summary_reads_the_rollups_and_only_boundary_days_of_expenses(
    setup: Setup,
) -> None:
    # a year of UTC midnights: not local midnights unless the business is on UTC
    query = (
        "{ spendSummary(groupBy: [TEAM], interval: MONTH, maxBuckets: 5000, filter: {"
        'spentAfter: "2025-11-01T00:00:00Z", spentBefore: "2026-11-01T00:00:00Z"}) { count } }'
    )
    nodes = await _plan_nodes(setup, query, "expense_month_totals")
    indexes = {node.get("Index Name") for node in nodes}
    assert {"uq_expense_month_totals_key", "uq_expense_day_totals_key"} <= indexes
    assert "ix_expenses_spent" in indexes  # the two boundary days, by a short range each
    scanned = {node.get("Relation Name") for node in nodes if node["Node Type"] == "Seq Scan"}
    assert not scanned & {"expenses", "expense_month_totals", "expense_day_totals"}


async def test_seeded_rollups_equal_the_expenses(setup: Setup) -> None:
    # the seed COPYs 50,000 expenses per statement: the triggers keep up with bulk loads
    async with setup.engine.connect() as conn:
        assert await rollup_drift(conn) == []
