"""Card.spentThisPeriod: exact in each period, null without a limit, one statement a page."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.tables.expense import expenses
from resolvers.ids import encode_id
from tests.conftest import gql
from tests.graphql.mutations_cards.helpers_cards import Cardco, cgid, new_card

# --- Card.spentThisPeriod ---


def bounds(period: str, now: datetime) -> tuple[datetime, datetime]:
    """Return the UTC period holding ``now``, written out independently of the API."""
    midnight = datetime(now.year, now.month, now.day, tzinfo=UTC)
    if period == "DAY":
        return midnight, midnight + timedelta(days=1)
    if period == "WEEK":
        start = midnight - timedelta(days=midnight.isoweekday() - 1)
        return start, start + timedelta(weeks=1)
    start = midnight.replace(day=1)
    year, month = divmod(start.month, 12)
    return start, start.replace(year=start.year + year, month=month + 1)


# Independent statement of the rule, in SQL: Postgres's own date_trunc, week from Monday.
SPENT_SQL = """
SELECT c.id, COALESCE(SUM(CASE WHEN e.currency = c.currency THEN e.amount_minor
                               WHEN e.home_currency = c.currency THEN e.home_amount_minor END), 0)
FROM cards c
LEFT JOIN expenses e ON e.business_id = c.business_id AND e.card_id = c.id
  AND e.deleted_at IS NULL AND e.status <> 'REJECTED'
  AND e.spent_at >= date_trunc(lower(c.limit_period), now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
  AND e.spent_at < (date_trunc(lower(c.limit_period), now() AT TIME ZONE 'UTC')
                    + ('1 ' || lower(c.limit_period))::interval) AT TIME ZONE 'UTC'
WHERE c.id = ANY(:ids) AND c.limit_period IS NOT NULL
GROUP BY c.id
"""


async def _spend(engine: AsyncEngine, co: Cardco, card: int, rows: list[dict[str, Any]]) -> None:
    biz = co.biz
    async with engine.begin() as conn:
        await conn.execute(insert(expenses), [
            {**dict(business_id=biz.id, member_id=biz.members["employee"],
                    team_id=biz.teams["sales"], card_id=card, merchant_name="Spend",
                    home_currency="GBP", fx_rate=Decimal(1), status="SUBMITTED", deleted_at=None),
             **row}
            for row in rows
        ])  # fmt: skip


@pytest.mark.parametrize("period", ["DAY", "WEEK", "MONTH"])
async def test_spent_this_period_is_exact(client, engine, co, period):
    now = datetime.now(UTC)
    start, end = bounds(period, now)
    tick = timedelta(microseconds=1)
    home_card = await new_card(engine, co.biz, limit=100_000, period=period)
    usd_card = await new_card(engine, co.biz, currency="USD", limit=100_000, period=period)
    gbp = dict(currency="GBP")
    counted = [
        dict(spent_at=start, amount_minor=101, home_amount_minor=101, **gbp),
        dict(spent_at=end - tick, amount_minor=202, home_amount_minor=202, **gbp),
        dict(spent_at=start, amount_minor=303, home_amount_minor=303, status="DRAFT", **gbp),
        dict(spent_at=start, amount_minor=404, home_amount_minor=404, status="APPROVED", **gbp),
        # foreign currency on a home-currency card: its home amount
        dict(spent_at=start, amount_minor=1000, home_amount_minor=792, currency="USD",
             fx_rate=Decimal("0.792")),
        dict(spent_at=start, amount_minor=7, home_amount_minor=1, currency="JPY", fx_rate=Decimal("0.2")),
    ]  # fmt: skip
    left_out = [
        dict(spent_at=start - tick, amount_minor=10_000, home_amount_minor=10_000, **gbp),
        dict(spent_at=end, amount_minor=20_000, home_amount_minor=20_000, **gbp),
        dict(spent_at=start, amount_minor=30_000, home_amount_minor=30_000, status="REJECTED", **gbp),
        dict(spent_at=start, amount_minor=40_000, home_amount_minor=40_000, deleted_at=now, **gbp),
    ]  # fmt: skip
    await _spend(engine, co, home_card, counted + left_out)
    # a USD card in a GBP business: only USD expenses count, at their USD amount
    await _spend(engine, co, usd_card, [
        dict(spent_at=start, amount_minor=1250, home_amount_minor=990, currency="USD", fx_rate=Decimal("0.792")),
        dict(spent_at=end - tick, amount_minor=1, home_amount_minor=1, currency="USD", fx_rate=Decimal("0.792")),
        dict(spent_at=start, amount_minor=5000, home_amount_minor=5000, **gbp),
        dict(spent_at=end, amount_minor=99, home_amount_minor=78, currency="USD", fx_rate=Decimal("0.792")),
    ])  # fmt: skip

    query = (
        "query($ids: [ID!]!) { nodes(ids: $ids) { ... on Card { id spentThisPeriod"
        " { amount currency } } } }"
    )
    data = await gql(
        client, query, {"ids": [cgid(home_card), cgid(usd_card)]}, as_=co.credential("admin")
    )
    got = [n["spentThisPeriod"] for n in data["nodes"]]
    assert got == [
        {"amount": "18.03", "currency": "GBP"},  # 101 + 202 + 303 + 404 + 792 + 1
        {"amount": "12.51", "currency": "USD"},
    ]
    async with engine.connect() as conn:
        rows = await conn.execute(text(SPENT_SQL), {"ids": [home_card, usd_card]})
        by_sql = dict(rows.all())
    assert by_sql == {home_card: 1803, usd_card: 1251}


async def test_spent_this_period_is_null_without_a_limit(client, engine, co):
    card = await new_card(engine, co.biz)
    data = await gql(
        client, "query($id: ID!) { node(id: $id) { ... on Card { spentThisPeriod { amount } } } }",
        {"id": cgid(card)}, as_=co.credential("admin"),
    )  # fmt: skip
    assert data["node"] == {"spentThisPeriod": None}


async def test_spent_this_period_follows_the_limit_in_the_same_request(client, engine, co):
    card = await new_card(engine, co.biz, limit=100, period="MONTH")
    start, _ = bounds("DAY", datetime.now(UTC))
    await _spend(engine, co, card, [
        dict(spent_at=start, amount_minor=555, home_amount_minor=555, currency="GBP")
    ])  # fmt: skip
    query = (
        "mutation($id: ID!, $limit: MoneyInput) {"
        " a: setCardSpendLimit(id: $id) { card { spentThisPeriod { amount } } }"
        " b: setCardSpendLimit(id: $id, limit: $limit, period: DAY)"
        " { card { spentThisPeriod { amount } } } }"
    )
    data = await gql(client, query, {"id": cgid(card), "limit": {"amount": "9", "currency": "GBP"}},
                     as_=co.credential("admin"))  # fmt: skip
    assert data == {
        "a": {"card": {"spentThisPeriod": None}},
        "b": {"card": {"spentThisPeriod": {"amount": "5.55"}}},
    }


async def test_spent_this_period_costs_one_statement_whatever_the_page(client, statements, co):
    query = (
        "query($n: Int!, $team: ID!) { cards(first: $n, filter: {teamIds: [$team]})"
        " { nodes { id spendLimit { amount } spentThisPeriod { amount currency } } } }"
    )
    counts = []
    for n in (1, 20):
        statements.reset()
        data = await gql(client, query, {"n": n, "team": encode_id("Team", co.fleet_team)},
                         as_=co.credential("admin"))  # fmt: skip
        nodes = data["cards"]["nodes"]
        assert len(nodes) == n
        assert all(
            node["spentThisPeriod"] == {"amount": "0.00", "currency": "GBP"} for node in nodes
        )
        counts.append(len(statements.statements))
        sums = [s for s in statements.statements if "sum(" in s.lower()]
        assert len(sums) == 1, sums
    # authenticate, the page, the grouped spend
    assert counts == [3, 3]
