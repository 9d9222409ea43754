"""Card mutations (freezeCard, unfreezeCard, setCardSpendLimit) and Card.spentThisPeriod.

Built on a business of this module's own (tests.world._business) plus a second one for
cross-tenant checks; every test that changes a card inserts a fresh card first, so the
tests do not depend on each other's order. Denied calls also check the row is unchanged.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.tables.expense import expenses
from db.tables.org import cards, teams
from resolvers.ids import encode_id
from tests.conftest import codes, gql, gql_raw
from tests.graphql.mutations_catalog.org import (
    ERRORS,
    UNKNOWN,
    Org,
    build_org,
    call,
    call_unknown,
    inserted,
)
from tests.world import Biz

CARD = "id status currency spendLimit { amount currency } limitPeriod spentThisPeriod { amount currency }"
FREEZE = f"mutation($id: ID!) {{ p: freezeCard(id: $id) {{ card {{ {CARD} }} {ERRORS} }} }}"
UNFREEZE = f"mutation($id: ID!) {{ p: unfreezeCard(id: $id) {{ card {{ {CARD} }} {ERRORS} }} }}"
SET_LIMIT = (
    "mutation($id: ID!, $limit: MoneyInput, $period: LimitPeriod) {"
    f" p: setCardSpendLimit(id: $id, limit: $limit, period: $period) {{ card {{ {CARD} }} {ERRORS} }} }}"
)
FLEET = 25  # cards of the statement-count test, all with a limit


@dataclass
class Cardco(Org):
    """The module's business, another one, their API keys, and the fleet team."""

    fleet_team: int = 0


@pytest.fixture(scope="module")
async def co(engine: AsyncEngine) -> Cardco:
    keys = {"write": ["cards:read", "cards:write"], "read": ["cards:read"], "admin": ["admin"]}
    org = await build_org(engine, "Cardco", 23, rival="Cardother", keys=keys)
    co = Cardco(biz=org.biz, other=org.other, keys=org.keys)
    async with engine.begin() as conn:
        result = await conn.execute(
            insert(teams).values(business_id=co.biz.id, name="Fleet").returning(teams.c.id)
        )
        co.fleet_team = result.scalar_one()
        await conn.execute(
            insert(cards),
            [
                dict(business_id=co.biz.id, holder_id=co.biz.members["admin"],
                     team_id=co.fleet_team, last4=f"{n:04d}", kind="VIRTUAL", currency="GBP",
                     spend_limit_minor=10_000, limit_period=("DAY", "WEEK", "MONTH")[n % 3])
                for n in range(FLEET)
            ],
        )  # fmt: skip
    return co


async def new_card(
    engine: AsyncEngine, biz: Biz, *, holder: str = "employee", team: str | None = "sales",
    status: str = "ACTIVE", currency: str = "GBP", limit: int | None = None,
    period: str | None = None,
) -> int:  # fmt: skip
    """Insert a card and return its row id."""
    return await inserted(
        engine, cards, business_id=biz.id, holder_id=biz.members[holder],
        team_id=biz.teams[team] if team else None, last4="4242", kind="PHYSICAL",
        status=status, currency=currency, spend_limit_minor=limit, limit_period=period,
    )  # fmt: skip


async def stored(engine: AsyncEngine, card_id: int) -> tuple[str, int | None, str | None]:
    """Return (status, spend_limit_minor, limit_period) of a card as stored."""
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT status, spend_limit_minor, limit_period FROM cards WHERE id = :i"),
                {"i": card_id},
            )
        ).one()
    return row.status, row.spend_limit_minor, row.limit_period


def cgid(card_id: int) -> str:
    return encode_id("Card", card_id)


def errors(payload: dict[str, Any]) -> list[tuple[str | None, str]]:
    """Return (field, code) of every userError, checking that no card came back."""
    assert payload["card"] is None, payload
    return [(e["field"], e["code"]) for e in payload["userErrors"]]


# --- freezeCard / unfreezeCard ---


async def test_freeze_then_unfreeze(client, engine, co):
    card = await new_card(engine, co.biz)
    payload = await call(client, FREEZE, co.credential("admin"), id=cgid(card))
    assert payload["userErrors"] == []
    assert payload["card"]["id"] == cgid(card)
    assert payload["card"]["status"] == "FROZEN"
    assert (await stored(engine, card))[0] == "FROZEN"
    payload = await call(client, UNFREEZE, co.credential("admin"), id=cgid(card))
    assert payload["userErrors"] == []
    assert payload["card"]["status"] == "ACTIVE"
    assert (await stored(engine, card))[0] == "ACTIVE"


async def test_two_changes_in_one_request_see_each_other(client, engine, co):
    card = await new_card(engine, co.biz)
    query = (
        "mutation($id: ID!) { p: freezeCard(id: $id) { card { status } }"
        " q: unfreezeCard(id: $id) { card { status } } }"
    )
    data = await gql(client, query, {"id": cgid(card)}, as_=co.credential("finance"))
    assert data == {"p": {"card": {"status": "FROZEN"}}, "q": {"card": {"status": "ACTIVE"}}}
    node = await gql(
        client, "query($id: ID!) { node(id: $id) { ... on Card { status } } }",
        {"id": cgid(card)}, as_=co.credential("admin"),
    )  # fmt: skip
    assert node["node"]["status"] == "ACTIVE"


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [(FREEZE, "FROZEN", "freeze"), (UNFREEZE, "ACTIVE", "unfreeze")],
)
async def test_invalid_transitions(client, engine, co, query, status, message):
    card = await new_card(engine, co.biz, status=status)
    payload = await call(client, query, co.credential("admin"), id=cgid(card))
    assert errors(payload) == [("id", "INVALID_TRANSITION")]
    assert message in payload["userErrors"][0]["message"]
    assert (await stored(engine, card))[0] == status


@pytest.mark.parametrize("query", [FREEZE, UNFREEZE, SET_LIMIT])
async def test_cancelled_cards_do_not_change(client, engine, co, query):
    card = await new_card(engine, co.biz, status="CANCELLED")
    variables: dict[str, Any] = {"id": cgid(card)}
    if query is SET_LIMIT:
        variables |= {"limit": {"amount": "10", "currency": "GBP"}, "period": "DAY"}
    payload = await call(client, query, co.credential("admin"), **variables)
    assert errors(payload) == [("id", "CARD_CANCELLED")]
    assert await stored(engine, card) == ("CANCELLED", None, None)


@pytest.mark.parametrize("query", [FREEZE, SET_LIMIT])
@pytest.mark.parametrize("which", UNKNOWN)
async def test_unknown_cards_are_not_found(client, engine, co, query, which):
    payload = await call_unknown(
        client, co, query, which, "Card", another_type=encode_id("Expense", co.biz.expense_ids[0]),
        other_business=co.other.cards["employee"],
    )  # fmt: skip
    assert errors(payload) == [("id", "NOT_FOUND")]
    assert payload["userErrors"][0]["message"] == "No card with that id."
    assert await stored(engine, co.other.cards["employee"]) == ("ACTIVE", 100_000, "MONTH")


# --- who may: one fresh card of the sales team (held by the employee) per case ---

ALLOWED, NOT_FOUND, FORBIDDEN = "allowed", "NOT_FOUND", "FORBIDDEN"
MATRIX = {
    "admin": ALLOWED,
    "finance": ALLOWED,
    "manager": ALLOWED,  # manages sales
    "manager2": NOT_FOUND,  # manages eng: does not even see the card
    "employee": FORBIDDEN,  # the holder sees the card but may not manage it
    "employee2": NOT_FOUND,  # same team, another holder
    "engineer": NOT_FOUND,
    "key:write": ALLOWED,
    "key:admin": ALLOWED,
    "other_admin": NOT_FOUND,
}


@pytest.mark.parametrize("mutation", ["freeze", "limit"])
@pytest.mark.parametrize("who", list(MATRIX))
async def test_who_may_manage_a_card(client, engine, co, who, mutation):
    card = await new_card(engine, co.biz)
    changed: tuple[str, int | None, str | None]
    if mutation == "freeze":
        query, variables, changed = FREEZE, {}, ("FROZEN", None, None)
    else:
        query, changed = SET_LIMIT, ("ACTIVE", 5000, "WEEK")
        variables = {"limit": {"amount": "50", "currency": "GBP"}, "period": "WEEK"}
    payload = await call(client, query, co.credential(who), id=cgid(card), **variables)
    if MATRIX[who] == ALLOWED:
        assert payload["userErrors"] == []
        assert await stored(engine, card) == changed
    else:
        assert errors(payload) == [("id", MATRIX[who])]
        assert await stored(engine, card) == ("ACTIVE", None, None)


async def test_a_manager_may_not_manage_their_own_card_of_another_team(client, engine, co):
    card = await new_card(engine, co.biz, holder="manager", team="eng")
    payload = await call(client, FREEZE, co.credential("manager"), id=cgid(card))
    assert errors(payload) == [("id", "FORBIDDEN")]
    assert (await stored(engine, card))[0] == "ACTIVE"


async def test_a_key_without_cards_write_is_refused_at_the_top(client, engine, co):
    card = await new_card(engine, co.biz)
    body = (await gql_raw(client, FREEZE, {"id": cgid(card)}, as_=co.keys["read"])).json()
    assert codes(body) == ["FORBIDDEN"]
    assert body["data"] == {"p": None}  # mutation fields are nullable
    assert (await stored(engine, card))[0] == "ACTIVE"


async def test_anonymous_callers_are_refused(client, engine, co):
    card = await new_card(engine, co.biz)
    body = (await gql_raw(client, FREEZE, {"id": cgid(card)}, as_=None)).json()
    assert codes(body) == ["UNAUTHENTICATED"]
    assert (await stored(engine, card))[0] == "ACTIVE"


# --- setCardSpendLimit ---


async def test_set_and_clear_a_spend_limit(client, engine, co):
    card = await new_card(engine, co.biz)
    limit = {"amount": "250.5", "currency": "gbp"}
    payload = await call(
        client, SET_LIMIT, co.credential("finance"), id=cgid(card), limit=limit, period="MONTH"
    )
    assert payload["userErrors"] == []
    assert payload["card"]["spendLimit"] == {"amount": "250.50", "currency": "GBP"}
    assert payload["card"]["limitPeriod"] == "MONTH"
    assert payload["card"]["spentThisPeriod"] == {"amount": "0.00", "currency": "GBP"}
    assert await stored(engine, card) == ("ACTIVE", 25050, "MONTH")
    payload = await call(client, SET_LIMIT, co.credential("finance"), id=cgid(card), period="DAY",
                         limit={"amount": "10", "currency": "GBP"})  # fmt: skip
    assert await stored(engine, card) == ("ACTIVE", 1000, "DAY")
    payload = await call(client, SET_LIMIT, co.credential("finance"), id=cgid(card))
    assert payload["userErrors"] == []
    card_out = payload["card"]
    assert (card_out["spendLimit"], card_out["limitPeriod"], card_out["spentThisPeriod"]) == (
        None, None, None,
    )  # fmt: skip
    assert await stored(engine, card) == ("ACTIVE", None, None)


async def test_a_frozen_card_can_get_a_limit(client, engine, co):
    card = await new_card(engine, co.biz, status="FROZEN")
    payload = await call(client, SET_LIMIT, co.credential("manager"), id=cgid(card),
                         limit={"amount": "1", "currency": "GBP"}, period="DAY")  # fmt: skip
    assert payload["userErrors"] == []
    assert await stored(engine, card) == ("FROZEN", 100, "DAY")


@pytest.mark.parametrize(
    ("currency", "limit", "period", "expected"),
    [
        ("GBP", {"amount": "10", "currency": "GBP"}, None, ("period", "INVALID_VALUE")),
        ("GBP", None, "WEEK", ("limit", "INVALID_VALUE")),
        ("GBP", {"amount": "10", "currency": "USD"}, "DAY", ("limit.currency", "CURRENCY_MISMATCH")),
        ("GBP", {"amount": "10", "currency": "XXX"}, "DAY", ("limit.currency", "UNKNOWN_CURRENCY")),
        ("GBP", {"amount": "0", "currency": "GBP"}, "DAY", ("limit.amount", "INVALID_AMOUNT")),
        ("GBP", {"amount": "-5", "currency": "GBP"}, "DAY", ("limit.amount", "INVALID_AMOUNT")),
        ("GBP", {"amount": "1000000000", "currency": "GBP"}, "DAY", ("limit.amount", "INVALID_AMOUNT")),
        ("GBP", {"amount": "1.234", "currency": "GBP"}, "DAY", ("limit.amount", "TOO_MANY_DECIMALS")),
        ("JPY", {"amount": "1500.5", "currency": "JPY"}, "DAY", ("limit.amount", "TOO_MANY_DECIMALS")),
        ("BHD", {"amount": "2.0001", "currency": "BHD"}, "DAY", ("limit.amount", "TOO_MANY_DECIMALS")),
    ],
)  # fmt: skip
async def test_invalid_limits_change_nothing(client, engine, co, currency, limit, period, expected):
    card = await new_card(engine, co.biz, currency=currency, limit=700, period="WEEK")
    payload = await call(
        client, SET_LIMIT, co.credential("admin"), id=cgid(card), limit=limit, period=period
    )
    assert errors(payload) == [expected]
    assert await stored(engine, card) == ("ACTIVE", 700, "WEEK")


@pytest.mark.parametrize(
    ("currency", "amount", "minor", "shown"),
    [("JPY", "1500", 1500, "1500"), ("BHD", "2.125", 2125, "2.125"), ("USD", "0.01", 1, "0.01")],
)
async def test_limits_follow_the_card_currency_decimals(
    client, engine, co, currency, amount, minor, shown
):
    card = await new_card(engine, co.biz, currency=currency)
    payload = await call(client, SET_LIMIT, co.credential("admin"), id=cgid(card),
                         limit={"amount": amount, "currency": currency}, period="WEEK")  # fmt: skip
    assert payload["card"]["spendLimit"] == {"amount": shown, "currency": currency}
    assert await stored(engine, card) == ("ACTIVE", minor, "WEEK")


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
