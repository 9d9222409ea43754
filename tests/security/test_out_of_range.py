"""Out-of-range input (issue 11, defects 8 and 9): huge or malformed amounts, instants
outside the supported range, malformed cursors, ids beyond bigint, lone surrogates and
token claims that do not fit a bigint are the client's error on the argument at fault,
never INTERNAL or HTTP 500. Refused mutations are checked in SQL to have written nothing.
"""

import base64
import json
import random
import time
from decimal import Decimal
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.money import to_minor
from resolvers.errors import DomainError
from resolvers.expense_args import expense_spec
from resolvers.ids import encode_id
from resolvers.mutations import rules
from resolvers.mutations.rules import RuleError
from tests import world as world_module
from tests.conftest import SETTINGS, codes, gql, gql_raw, token
from tests.world import Biz, World

EXPENSES = (
    "query($f: ExpenseFilter, $after: String, $before: String, $last: Int, $o: ExpenseOrder)"
    " { expenses(filter: $f, after: $after, before: $before, last: $last, orderBy: $o)"
    " { nodes { id } } }"
)
SUMMARY = (
    "query($f: ExpenseFilter) { spendSummary(filter: $f, groupBy: [TEAM], interval: MONTH)"
    " { count } }"
)
CREATE = (
    "mutation($input: CreateExpenseInput!) { p: createExpense(input: $input)"
    " { expense { id } userErrors { field code message } } }"
)
UPDATE = (
    "mutation($id: ID!, $input: UpdateExpenseInput!) { p: updateExpense(id: $id, input: $input)"
    " { expense { id } userErrors { field code message } } }"
)


async def post_ascii(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any], *, as_: str
) -> httpx.Response:
    """Send a request whose JSON body escapes every non-ASCII character (httpx's would not,
    and cannot encode a lone surrogate at all)."""
    body = json.dumps({"query": query, "variables": variables}).encode()
    headers = {"Authorization": f"Bearer {as_}", "Content-Type": "application/json"}
    return await client.post("/graphql", content=body, headers=headers)


def assert_bad_input(response: httpx.Response, field: str) -> None:
    """Assert one top-level BAD_USER_INPUT on ``field`` (HTTP 200, as other bad arguments)."""
    body = response.json()
    assert response.status_code == 200, body
    assert codes(body) == ["BAD_USER_INPUT"], body
    assert body["errors"][0]["extensions"].get("field") == field, body


# --- a business of our own for the writes: refusals must leave it unchanged ---


@pytest.fixture(scope="module")
async def shop(engine: AsyncEngine) -> Biz:
    async with engine.begin() as conn:
        return await world_module._business(conn, "Outofrange Ltd", "GBP", 3, random.Random(8))


async def ledger(engine: AsyncEngine, biz: Biz) -> tuple[Any, ...]:
    """Return the business's expenses (every column) and event count: a refusal changes none."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT * FROM expenses WHERE business_id = :b ORDER BY id"), {"b": biz.id}
        )
        events = await conn.execute(
            text("SELECT count(*) FROM expense_events WHERE business_id = :b"), {"b": biz.id}
        )
        return tuple(tuple(r) for r in rows), events.scalar_one()


def created(**changes: Any) -> dict[str, Any]:
    """Return a valid CreateExpenseInput in GBP with ``changes``."""
    return {
        "amount": {"amount": "12.34", "currency": "GBP"},
        "spentAt": "2026-05-01T12:00:00Z",
        "merchantName": "Out of range",
        **changes,
    }


def user_errors(response: httpx.Response) -> list[tuple[str, str]]:
    """Return (field, code) of a mutation's userErrors; no top-level error, no expense."""
    body = response.json()
    assert response.status_code == 200, body
    assert "errors" not in body, body
    payload = body["data"]["p"]
    assert payload["expense"] is None, payload
    return [(e["field"], e["code"]) for e in payload["userErrors"]]


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


# --- 4. malformed cursors ---


def cursor(value: Any) -> str:
    """Return a cursor: URL-safe base64 of ``value``'s JSON, without padding."""
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


WHEN = "2026-06-01T12:00:00+00:00"
BAD_CURSORS = {
    "id-true": ["spent_at", WHEN, True],
    "id-false": ["spent_at", WHEN, False],
    "id-2**63": ["spent_at", WHEN, 2**63],
    "id-huge": ["spent_at", WHEN, 10**400],
    "id-negative": ["spent_at", WHEN, -1],
    "id-zero": ["spent_at", WHEN, 0],
    "id-float": ["spent_at", WHEN, 1.0],
    "id-string": ["spent_at", WHEN, "1"],
    "id-object": ["spent_at", WHEN, {"id": 1}],
    "id-list": ["spent_at", WHEN, [1]],
    "id-null": ["spent_at", WHEN, None],
    "when-far-future": ["spent_at", "9999-12-31T23:59:59.999999-23:59", 1],
    "when-far-past": ["spent_at", "0001-01-01T00:00:00+23:59", 1],
    "when-naive": ["spent_at", "2026-06-01T12:00:00", 1],
    "when-number": ["spent_at", 1, 1],
    "when-bool": ["spent_at", True, 1],
    "when-object": ["spent_at", {"at": WHEN}, 1],
    "when-surrogate": ["spent_at", "\ud800", 1],
    "column-object": [{"spent_at": 1}, WHEN, 1],
    "too-long": ["spent_at", WHEN, 1, 2],
    "too-short": ["spent_at", WHEN],
    "object": {"spent_at": WHEN, "id": 1, "x": 2},
    "three-keys": {"spent_at": 1, "b": 2, "c": 3},
    "string": "spent_at",
    "number": 1,
    "nan": b'["spent_at", "2026-06-01T12:00:00+00:00", NaN]',
    "infinity": b'["spent_at", "2026-06-01T12:00:00+00:00", Infinity]',
    "deep": b"[" * 100_000,
    "not-json": b"\xff\xfe",
    "other-column": ["home_amount_minor", 1, 1],
}
BAD_AMOUNT_CURSORS = {
    "amount-true": ["home_amount_minor", True, 1],
    "amount-float": ["home_amount_minor", 1.5, 1],
    "amount-string": ["home_amount_minor", "12", 1],
    "amount-2**63": ["home_amount_minor", 2**63, 1],
    "amount-huge-negative": ["home_amount_minor", -(2**63), 1],
    "amount-null": ["home_amount_minor", None, 1],
}


@pytest.mark.parametrize("value", list(BAD_CURSORS.values()), ids=list(BAD_CURSORS))
@pytest.mark.parametrize("field", ["after", "before"])
async def test_malformed_cursors(client, world: World, field, value):
    variables: dict[str, Any] = {field: cursor(value)}
    if field == "before":
        variables["last"] = 5
    response = await gql_raw(client, EXPENSES, variables, as_=token(world.a, "admin"))
    assert_bad_input(response, field)


@pytest.mark.parametrize("value", list(BAD_AMOUNT_CURSORS.values()), ids=list(BAD_AMOUNT_CURSORS))
async def test_malformed_amount_cursors(client, world: World, value):
    variables = {"after": cursor(value), "o": {"field": "AMOUNT", "direction": "DESC"}}
    response = await gql_raw(client, EXPENSES, variables, as_=token(world.a, "admin"))
    assert_bad_input(response, "after")


@pytest.mark.parametrize("garbage", ["\ud800", "%%%", "a", "=" * 8, "é"])
async def test_cursors_that_are_not_base64(client, world: World, garbage):
    response = await post_ascii(client, EXPENSES, {"after": garbage}, as_=token(world.a, "admin"))
    if response.status_code == 400:  # a lone surrogate: refused with the JSON body
        return
    assert_bad_input(response, "after")


async def test_cursors_at_the_edges_of_their_types_still_page(client, world: World):
    ok = [["spent_at", "1900-01-01T00:00:00+00:00", 2**63 - 1],
          ["spent_at", "9999-12-31T23:59:59.999999+00:00", 1]]  # fmt: skip
    for value in ok:
        await gql(client, EXPENSES, {"after": cursor(value)}, as_=token(world.a, "admin"))
    amount = {"after": cursor(["home_amount_minor", -(2**63) + 1, 1]),
              "o": {"field": "AMOUNT", "direction": "ASC"}}  # fmt: skip
    await gql(client, EXPENSES, amount, as_=token(world.a, "admin"))


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


# --- 5. lone surrogates in strings ---


async def test_a_lone_surrogate_in_a_string_literal_is_a_syntax_error(client, world: World):
    # graphql-core refuses "\ud800" (and the raw character) in the document itself
    query = '{ expenses(filter: {merchantSearch: "\\ud800"}) { nodes { id } } }'
    response = await gql_raw(client, query, as_=token(world.a, "admin"))
    body = response.json()
    assert response.status_code in (200, 400), body
    assert codes(body) == ["BAD_USER_INPUT"], body


async def test_a_lone_surrogate_in_a_search_variable(client, world: World):
    f = {"merchantSearch": "caf\ud800"}
    response = await post_ascii(client, EXPENSES, {"f": f}, as_=token(world.a, "admin"))
    if response.status_code == 400:  # the JSON body parser refuses it before the resolver
        return
    assert_bad_input(response, "merchantSearch")


@pytest.mark.parametrize("field", ["merchantName", "description"])
async def test_a_lone_surrogate_in_a_create_variable(client, engine, shop, field):
    before = await ledger(engine, shop)
    input_ = created(**{field: "caf\udfff"})
    response = await post_ascii(client, CREATE, {"input": input_}, as_=token(shop, "employee"))
    if response.status_code != 400:  # else: the JSON body parser refused it
        assert user_errors(response) == [(field, "INVALID_VALUE")]
    assert await ledger(engine, shop) == before


# Not here: a DateTime, Decimal or enum variable holding one fails coercion with a message
# that quotes it raw, which the response encoder cannot encode; the HTTP layer refuses
# such bodies before that.
@pytest.mark.parametrize(
    "filter_",
    [{"memberIds": ["\ud800"]}, {"currencies": ["\ud800"]}, {"merchantSearch": "\udc00" * 101}],
)
async def test_lone_surrogates_in_other_filter_variables(client, world: World, filter_):
    # the error message may quote the value: it must not make the response unencodable
    response = await post_ascii(client, EXPENSES, {"f": filter_}, as_=token(world.a, "admin"))
    body = response.json()
    assert response.status_code in (200, 400), body
    assert codes(body) == ["BAD_USER_INPUT"], body


async def test_a_lone_surrogate_in_a_money_currency(client, engine, shop):
    before = await ledger(engine, shop)
    input_ = created(amount={"amount": "1", "currency": "\ud800"})
    response = await post_ascii(client, CREATE, {"input": input_}, as_=token(shop, "employee"))
    if response.status_code != 400:  # else: the JSON body parser refused it
        assert user_errors(response) == [("amount.currency", "UNKNOWN_CURRENCY")]
    assert await ledger(engine, shop) == before


def test_filter_strings_with_lone_surrogates_are_bad_user_input():
    class Filter:
        def __getattr__(self, name: str) -> Any:
            return "caf\ud800" if name == "merchant_search" else None

    with pytest.raises(DomainError) as raised:
        expense_spec(Filter(), None)  # type: ignore[arg-type]
    assert (raised.value.code, raised.value.field) == ("BAD_USER_INPUT", "merchantSearch")


@pytest.mark.parametrize("value", ["\ud800", "a\udc00b", " \udbff "])
def test_mutation_texts_with_lone_surrogates_are_invalid_values(value):
    with pytest.raises(RuleError) as raised:
        rules.clean_text(value, "reason", max_length=100)
    assert [(e.field, e.code) for e in raised.value.errors] == [("reason", "INVALID_VALUE")]


def test_mutation_texts_keep_valid_unicode():
    assert (
        rules.clean_text("  caf\u00e9 \U0001f600 ", "reason", max_length=100)
        == "caf\u00e9 \U0001f600"
    )


# --- 6. token claims that do not fit a bigint: 401 like any invalid token ---


def signed(**claims: Any) -> str:
    now = int(time.time())
    base = {"iss": SETTINGS.jwt_issuer, "aud": SETTINGS.jwt_audience, "iat": now, "exp": now + 600}
    return jwt.encode({**base, **claims}, SETTINGS.jwt_secret, algorithm="HS256")


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": str(2**63)},
        {"sub": str(10**30)},
        {"sub": "-1"},
        {"sub": "0"},
        {"sub": "1.5"},
        {"sub": " 1"},
        {"sub": "1_0"},
        {"sub": "\u0661"},  # an Arabic-Indic one: int() takes it
        {"sub": "true"},
        {"bid": 2**63},
        {"bid": 10**30},
        {"bid": -1},
        {"bid": 0},
        {"bid": 1.0},
        {"bid": True},
        {"bid": "1"},
        {"bid": None},
        {"bid": [1]},
        {"sub": 1},  # "sub" is a string
        {"exp": float("inf")},  # int() of it is an OverflowError
        {"iat": float("inf")},
        {"nbf": float("-inf")},
        {"exp": float("nan")},
    ],
    ids=lambda claims: repr(claims),
)
async def test_token_claims_out_of_range_are_unauthenticated(client, world: World, claims):
    good = {"sub": str(world.a.members["admin"]), "bid": world.a.id}
    response = await gql_raw(client, "{ viewer { credential } }", as_=signed(**{**good, **claims}))
    body = response.json()
    assert response.status_code == 401, body
    assert codes(body) == ["UNAUTHENTICATED"], body


async def test_a_well_formed_signed_token_still_works(client, world: World):
    claims = {"sub": str(world.a.members["admin"]), "bid": world.a.id}
    data = await gql(client, "{ viewer { credential } }", as_=signed(**claims))
    assert data == {"viewer": {"credential": "MEMBER"}}
