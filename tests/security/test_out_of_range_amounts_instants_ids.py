"""Out-of-range amounts (huge, NaN, Infinity, too many decimals), instants outside the
supported range and global ids beyond bigint, in filters and writes: BAD_USER_INPUT,
NOT_FOUND or a userError on the argument at fault, never INTERNAL; refusals write nothing.
"""

import base64
from decimal import Decimal

import pytest
from sqlalchemy import text

from db.money import to_minor
from resolvers.ids import encode_id
from tests.conftest import codes, gql, gql_raw, token
from tests.security.helpers_out_of_range import (
    CREATE,
    EXPENSES,
    UPDATE,
    assert_bad_input,
    created,
    ledger,
    user_errors,
)
from tests.world import World

SUMMARY = (
    "query($f: ExpenseFilter) { spendSummary(filter: $f, groupBy: [TEAM], interval: MONTH)"
    " { count } }"
)


# --- 1. amounts: huge exponents, NaN, Infinity, too many decimals ---

HUGE_AMOUNTS = [
    "1e999999999",
    "-1e999999999",
    "1E+999999",
    "92233720368547758.08",  # 2**63 pence
    "1e-999999999",  # rounded to zero by the decimal context: too many decimals
    "1e-30",
    "NaN",
    "Infinity",
    "-Infinity",
]


@pytest.mark.parametrize("amount", HUGE_AMOUNTS)
@pytest.mark.parametrize("field", ["minAmount", "maxAmount"])
async def test_amount_filters_out_of_range(client, world: World, amount, field):
    response = await gql_raw(client, EXPENSES, {"f": {field: amount}}, as_=token(world.a, "admin"))
    assert_bad_input(response, field)


async def test_amount_filter_of_spend_summary_out_of_range(client, world: World):
    response = await gql_raw(
        client, SUMMARY, {"f": {"minAmount": "1e999999999"}}, as_=token(world.a, "admin")
    )
    assert_bad_input(response, "minAmount")


@pytest.mark.parametrize(
    ("amount", "minor"),
    [("-0", 0), ("0E+5", 0), ("1E+3", 100000), ("12.340", 1234), ("92233720368547758.07", 2**63 - 1),
     ("-92233720368547758.07", -(2**63) + 1), ("0.10000000000000000000000000000000", 10)],
)  # fmt: skip
def test_to_minor_keeps_valid_amounts(amount, minor):
    assert to_minor(Decimal(amount), "GBP") == minor


@pytest.mark.parametrize(
    "amount",
    ["1e999999999", "1e-999999999", "92233720368547758.08", "-92233720368547758.08",
     "1" * 5000, "0." + "0" * 5000 + "1"],
)  # fmt: skip
def test_to_minor_refuses_out_of_range_with_value_error(amount):
    with pytest.raises(ValueError):
        to_minor(Decimal(amount), "GBP")


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        ("1e999999999", "INVALID_AMOUNT"),
        ("NaN", "INVALID_AMOUNT"),
        ("Infinity", "INVALID_AMOUNT"),
        ("-0", "INVALID_AMOUNT"),
        ("1e-999999999", "TOO_MANY_DECIMALS"),
        ("12.345", "TOO_MANY_DECIMALS"),
    ],
)
async def test_create_expense_amount_out_of_range(client, engine, shop, amount, code):
    before = await ledger(engine, shop)
    input_ = created(amount={"amount": amount, "currency": "GBP"})
    response = await gql_raw(client, CREATE, {"input": input_}, as_=token(shop, "employee"))
    assert user_errors(response) == [("amount.amount", code)]
    assert await ledger(engine, shop) == before


SET_LIMIT = (
    "mutation($id: ID!, $limit: MoneyInput, $period: LimitPeriod) {"
    " p: setCardSpendLimit(id: $id, limit: $limit, period: $period)"
    " { card { id } userErrors { field code message } } }"
)


@pytest.mark.parametrize(
    ("amount", "code"),
    [("1e-999999999", "TOO_MANY_DECIMALS"), ("1e999999999", "INVALID_AMOUNT"),
     ("NaN", "INVALID_AMOUNT")],
)  # fmt: skip
async def test_card_spend_limit_out_of_range(client, engine, shop, amount, code):
    card = shop.cards["employee"]  # 1000.00 a month
    variables = {"id": encode_id("Card", card), "period": "MONTH",
                 "limit": {"amount": amount, "currency": "GBP"}}  # fmt: skip
    response = await gql_raw(client, SET_LIMIT, variables, as_=token(shop, "admin"))
    body = response.json()
    assert "errors" not in body, body
    payload = body["data"]["p"]
    assert payload["card"] is None
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [("limit.amount", code)]
    sql = "SELECT spend_limit_minor, limit_period FROM cards WHERE id = :c"
    async with engine.connect() as conn:
        assert tuple((await conn.execute(text(sql), {"c": card})).one()) == (100_000, "MONTH")


# --- 2 and 3. instants outside the supported range ---

OUT_OF_RANGE_INSTANTS = [
    "9999-12-31T23:59:59+14:00",
    "9999-12-31T23:59:59-14:00",
    "9999-12-31T23:59:59.999999-23:59",
    "9999-01-01T00:00:00Z",
    "0001-01-01T00:00:00-14:00",
    "0001-01-01T00:00:00+14:00",
    "0001-01-01T00:00:00Z",
    "1899-12-31T23:59:59.999999Z",
    "1900-01-01T00:00:00+00:01",
]
IN_RANGE_INSTANTS = ["1900-01-01T00:00:00Z", "1900-01-01T00:00:00-14:00",
                     "9998-12-31T23:59:59.999999Z", "9999-01-01T09:59:59+10:00"]  # fmt: skip


@pytest.mark.parametrize("instant", OUT_OF_RANGE_INSTANTS)
@pytest.mark.parametrize("field", ["spentAfter", "spentBefore", "updatedSince"])
@pytest.mark.parametrize("query", [EXPENSES, SUMMARY], ids=["expenses", "spendSummary"])
async def test_filter_instants_out_of_range(client, world: World, query, field, instant):
    response = await gql_raw(client, query, {"f": {field: instant}}, as_=token(world.a, "admin"))
    assert_bad_input(response, field)


@pytest.mark.parametrize("instant", IN_RANGE_INSTANTS)
@pytest.mark.parametrize("field", ["spentAfter", "spentBefore"])
@pytest.mark.parametrize("query", [EXPENSES, SUMMARY], ids=["expenses", "spendSummary"])
async def test_filter_instants_at_the_ends_of_the_range(
    client, world: World, query, field, instant
):
    await gql(client, query, {"f": {field: instant}}, as_=token(world.a, "admin"))


async def test_both_ends_of_the_range_in_spend_summary(client, world: World):
    f = {"spentAfter": IN_RANGE_INSTANTS[0], "spentBefore": IN_RANGE_INSTANTS[2]}
    data = await gql(client, SUMMARY, {"f": f}, as_=token(world.a, "admin"))
    everything = await gql(client, SUMMARY, {"f": None}, as_=token(world.a, "admin"))
    assert data == everything


@pytest.mark.parametrize("instant", OUT_OF_RANGE_INSTANTS)
async def test_create_expense_spent_at_out_of_range(client, engine, shop, instant):
    before = await ledger(engine, shop)
    input_ = created(spentAt=instant)
    response = await gql_raw(client, CREATE, {"input": input_}, as_=token(shop, "employee"))
    assert user_errors(response) == [("spentAt", "INVALID_VALUE")]
    assert await ledger(engine, shop) == before


@pytest.mark.parametrize("instant", OUT_OF_RANGE_INSTANTS)
async def test_update_expense_spent_at_out_of_range(client, engine, shop, instant):
    employee = token(shop, "employee")
    made = await gql(client, CREATE, {"input": created()}, as_=employee)
    before = await ledger(engine, shop)
    variables = {"id": made["p"]["expense"]["id"], "input": {"spentAt": instant}}
    response = await gql_raw(client, UPDATE, variables, as_=employee)
    assert user_errors(response) == [("spentAt", "INVALID_VALUE")]
    assert await ledger(engine, shop) == before


# --- global ids beyond bigint: NOT_FOUND or BAD_USER_INPUT, never INTERNAL ---


def raw_id(text_: str) -> str:
    return base64.urlsafe_b64encode(text_.encode()).decode().rstrip("=")


BIG_IDS = [
    encode_id("Expense", 2**63),
    encode_id("Expense", 10**30),
    encode_id("Expense", -1),
    encode_id("Expense", 0),
    raw_id("Expense:1.5"),
    raw_id("Expense:" + "9" * 5000),
    raw_id("Expense:true"),
]


@pytest.mark.parametrize("global_id", BIG_IDS)
async def test_ids_out_of_range(client, world: World, engine, shop, global_id):
    admin = token(world.a, "admin")
    for query, variables in [
        ("query($id: ID!) { node(id: $id) { id } }", {"id": global_id}),
        ("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": [global_id]}),
        (EXPENSES, {"f": {"memberIds": [global_id]}}),
    ]:
        body = (await gql_raw(client, query, variables, as_=admin)).json()
        assert codes(body) in (["NOT_FOUND"], ["BAD_USER_INPUT"]), body
    before = await ledger(engine, shop)
    response = await gql_raw(
        client, UPDATE, {"id": global_id, "input": {"merchantName": "x"}}, as_=token(shop, "admin")
    )
    assert user_errors(response) == [("id", "NOT_FOUND")]
    member = created(memberId=global_id)
    response = await gql_raw(client, CREATE, {"input": member}, as_=token(shop, "admin"))
    assert user_errors(response) == [("memberId", "NOT_FOUND")]
    assert await ledger(engine, shop) == before
