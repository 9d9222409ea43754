"""Money through the API: amounts in 0-, 2- and 3-decimal currencies as exact decimal
strings, home amounts in each kind of home currency, amount filters that must fit the home
currency's decimals; and the unit rules of db/money.py.
"""

from decimal import Decimal
from typing import Any

import pytest

from app.auth import issue_token
from db.money import UnknownCurrency, format_major, minor_units, to_major, to_minor
from db.tables.expense import expenses
from db.tables.org import businesses, cards, members
from tests.conftest import SETTINGS, codes, gql, gql_raw
from tests.graphql.helpers_paging import gid, insert_id, insert_ids
from tests.world import ANCHOR

# home currency -> label -> (amount_minor, currency, home_amount_minor)
LEDGERS: dict[str, dict[str, tuple[int, str, int]]] = {
    "GBP": {
        "yen": (1500, "JPY", 780),
        "pounds": (1234, "GBP", 1234),
        "pence": (5, "GBP", 5),
        "dinars": (1250, "BHD", 263),
        "round": (100, "GBP", 100),
        "zero home": (1, "JPY", 0),
        "large": (10**15, "GBP", 10**15),
    },
    "JPY": {
        "pounds": (1234, "GBP", 2400),
        "fils": (5, "BHD", 1),
        "yen": (123456789012, "JPY", 123456789012),
    },
    "BHD": {
        "pounds": (1234, "GBP", 4652),
        "yen": (1500, "JPY", 4),
        "dinars": (1, "BHD", 1),
    },
}
# home currency -> label -> (amount, homeAmount) as the API must print them
EXPECTED = {
    "GBP": {
        "yen": ("1500", "7.80"),
        "pounds": ("12.34", "12.34"),
        "pence": ("0.05", "0.05"),
        "dinars": ("1.250", "2.63"),
        "round": ("1.00", "1.00"),
        "zero home": ("1", "0.00"),
        "large": ("10000000000000.00", "10000000000000.00"),
    },
    "JPY": {"pounds": ("12.34", "2400"), "fils": ("0.005", "1"), "yen": ("123456789012",) * 2},
    "BHD": {"pounds": ("12.34", "4.652"), "yen": ("1500", "0.004"), "dinars": ("0.001", "0.001")},
}
CARD_LIMITS = {"GBP": (2500, "25.00"), "JPY": (100000, "100000"), "BHD": (1500, "1.500")}


async def _business(conn: Any, home: str) -> dict[str, Any]:
    b = await insert_id(conn, businesses, name=f"Money {home}", home_currency=home)
    admin = await insert_id(
        conn, members, business_id=b, name="Admin", email=f"admin@money-{home.lower()}.test",
        role="ADMIN",
    )  # fmt: skip
    card = await insert_id(
        conn, cards, business_id=b, holder_id=admin, last4="0001", kind="VIRTUAL", currency=home,
        spend_limit_minor=CARD_LIMITS[home][0], limit_period="MONTH",
    )  # fmt: skip
    labels = list(LEDGERS[home])
    rows = [
        dict(
            business_id=b, member_id=admin, merchant_name="Shop", amount_minor=amount,
            currency=currency, home_amount_minor=home_minor, home_currency=home,
            fx_rate=Decimal(1), spent_at=ANCHOR, status="SUBMITTED",
        )
        for amount, currency, home_minor in LEDGERS[home].values()
    ]  # fmt: skip
    ids = await insert_ids(conn, expenses, rows)
    token = issue_token(SETTINGS, business_id=b, member_id=admin)
    return {"token": token, "card": card, "ids": dict(zip(labels, ids, strict=True))}


@pytest.fixture(scope="module")
async def money(engine: Any) -> dict[str, dict[str, Any]]:
    async with engine.begin() as conn:
        return {home: await _business(conn, home) for home in LEDGERS}


MONEY = "amount { amount currency } homeAmount { amount currency }"
BY_IDS = f"query($ids: [ID!]!) {{ nodes(ids: $ids) {{ ... on Expense {{ {MONEY} }} }} }}"
EXPENSES = (
    f"query($f: ExpenseFilter) {{ expenses(first: 100, filter: $f) {{ nodes {{ id {MONEY} }} }} }}"
)


@pytest.mark.parametrize("home", LEDGERS)
async def test_amounts_print_with_their_currency_decimals(client, money, home):
    labels = list(LEDGERS[home])
    ids = [gid("Expense", money[home]["ids"][label]) for label in labels]
    data = await gql(client, BY_IDS, {"ids": ids}, as_=money[home]["token"])
    for label, node in zip(labels, data["nodes"], strict=True):
        amount, home_amount = EXPECTED[home][label]
        assert node["amount"] == {"amount": amount, "currency": LEDGERS[home][label][1]}, label
        assert node["homeAmount"] == {"amount": home_amount, "currency": home}, label


@pytest.mark.parametrize("home", LEDGERS)
async def test_card_spend_limit_prints_in_the_card_currency(client, money, home):
    query = "query($id: ID!) { node(id: $id) { ... on Card { spendLimit { amount currency } } } }"
    variables = {"id": gid("Card", money[home]["card"])}
    data = await gql(client, query, variables, as_=money[home]["token"])
    assert data["node"]["spendLimit"] == {"amount": CARD_LIMITS[home][1], "currency": home}


# (home currency, filter, labels it keeps): amounts are home-currency major units
AMOUNT_FILTERS = [
    ("GBP", {"minAmount": "12.340"}, {"pounds", "large"}),
    ("GBP", {"minAmount": "0.05", "maxAmount": "7.8"}, {"pence", "yen", "dinars", "round"}),
    ("JPY", {"minAmount": "2400"}, {"pounds", "yen"}),
    ("JPY", {"maxAmount": "1E+1"}, {"fils"}),
    ("BHD", {"minAmount": "0.004", "maxAmount": "4.651"}, {"yen"}),
]


@pytest.mark.parametrize(("home", "filter_", "kept"), AMOUNT_FILTERS)
async def test_amount_filters_in_home_major_units(client, money, home, filter_, kept):
    data = await gql(client, EXPENSES, {"f": filter_}, as_=money[home]["token"])
    got = {node["id"] for node in data["expenses"]["nodes"]}
    assert got == {gid("Expense", money[home]["ids"][label]) for label in kept}


@pytest.mark.parametrize(
    ("home", "filter_"),
    [
        ("GBP", {"minAmount": "1.234"}),
        ("GBP", {"maxAmount": "0.001"}),
        ("JPY", {"minAmount": "1.5"}),
        ("BHD", {"maxAmount": "1.2345"}),
        ("GBP", {"minAmount": "Infinity"}),
        ("GBP", {"maxAmount": "NaN"}),
        ("GBP", {"minAmount": "1E+30"}),  # beyond the bigint range of minor units
    ],
    ids=["gbp-3", "gbp-max-3", "jpy-1", "bhd-4", "infinity", "nan", "beyond-bigint"],
)
async def test_amount_filters_the_home_currency_cannot_hold_are_bad_user_input(
    client, money, home, filter_
):
    body = (await gql_raw(client, EXPENSES, {"f": filter_}, as_=money[home]["token"])).json()
    assert codes(body) == ["BAD_USER_INPUT"], body


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [
        (1500, "JPY", "1500"),
        (0, "JPY", "0"),
        (1234, "GBP", "12.34"),
        (5, "GBP", "0.05"),
        (0, "GBP", "0.00"),
        (100, "GBP", "1.00"),
        (-5, "GBP", "-0.05"),
        (-1500, "JPY", "-1500"),
        (1250, "BHD", "1.250"),
        (1, "BHD", "0.001"),
        (2**63 - 1, "BHD", "9223372036854775.807"),
        (2**63 - 1, "JPY", "9223372036854775807"),
    ],
)
def test_format_and_to_major(minor, currency, text):
    assert format_major(minor, currency) == text
    assert to_major(minor, currency) == Decimal(text)
    assert str(to_major(minor, currency)) == text
    assert to_minor(Decimal(text), currency) == minor


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        ("12.340", "GBP", 1234),
        ("1E+3", "JPY", 1000),
        ("1500.000", "JPY", 1500),
        ("1.25", "BHD", 1250),
    ],
)
def test_to_minor_accepts_equivalent_spellings(amount, currency, minor):
    assert to_minor(Decimal(amount), currency) == minor


@pytest.mark.parametrize(
    ("amount", "currency"),
    [("12.345", "GBP"), ("0.001", "GBP"), ("1.5", "JPY"), ("0.1", "JPY"), ("1.2345", "BHD")],
)
def test_to_minor_rejects_excess_decimals(amount, currency):
    with pytest.raises(ValueError, match="decimals"):
        to_minor(Decimal(amount), currency)


@pytest.mark.parametrize("amount", ["Infinity", "-Infinity", "NaN"])
def test_to_minor_rejects_non_finite_amounts(amount):
    with pytest.raises(ValueError):
        to_minor(Decimal(amount), "GBP")


@pytest.mark.parametrize("currency", ["XXX", "", "EURO"])
def test_unknown_currencies_are_rejected(currency):
    assert issubclass(UnknownCurrency, ValueError)
    for call in (
        lambda: minor_units(currency),
        lambda: to_major(1, currency),
        lambda: format_major(1, currency),
        lambda: to_minor(Decimal(1), currency),
    ):
        with pytest.raises(UnknownCurrency):
            call()
