"""createExpense: drafts of one's own, home amounts converted half-even at the UTC day's
rate, money and ownership refusals (checked in SQL to change nothing), credentials.
"""

from decimal import Decimal

import pytest

from tests.conftest import codes, gql_raw
from tests.graphql.mutations.conftest import (
    MUTATIONS,
    call,
    created,
    error_codes,
    ledger,
    row_id,
    snapshot,
)


async def test_create_records_a_draft_of_ones_own(client, engine, shops):
    s = shops.gbp
    payload = await call(
        client, "create", s.token("employee"),
        input=created(s, cardId=s.gid("Card", "employee"), categoryId=s.gid("Category", "Meals")),
    )  # fmt: skip
    assert payload["userErrors"] == []
    e = payload["expense"]
    assert (e["status"], e["member"]["id"], e["card"]["id"], e["category"]["id"]) == (
        "DRAFT", s.gid("Member", "employee"), s.gid("Card", "employee"), s.gid("Category", "Meals"),
    )  # fmt: skip
    assert e["amount"] == e["homeAmount"] == {"amount": "12.34", "currency": "GBP"}
    assert Decimal(e["fxRate"]) == 1
    assert e["events"] == [{"action": "CREATED", "comment": None, "actor": e["member"]}]
    row, events = await snapshot(engine, row_id(e["id"]))
    assert (row["status"], row["team_id"], row["amount_minor"], row["home_amount_minor"]) == (
        "DRAFT", s.biz.teams["sales"], 1234, 1234,
    )  # fmt: skip
    assert events == [("CREATED", s.biz.members["employee"], None)]


# shop, amount, currency -> home amount (exact value ends in half a minor unit: half-even)
CONVERSIONS = [
    ("gbp", "5", "JPY", "0.02", "0.005"),  # 2.5p
    ("gbp", "7", "JPY", "0.04", "0.005"),  # 3.5p
    ("gbp", "10.00", "USD", "7.92", "0.7921"),
    ("gbp", "1.234", "BHD", "2.60", "2.1034"),
    ("jpy", "1.00", "USD", "150", "150.5"),  # 150.5 yen
    ("jpy", "3.00", "USD", "452", "150.5"),  # 451.5 yen
    ("bhd", "1.00", "GBP", "0.474", "0.4745"),  # 474.5 fils
    ("bhd", "3.00", "GBP", "1.424", "0.4745"),  # 1423.5 fils
]


@pytest.mark.parametrize(("shop", "amount", "currency", "home", "rate"), CONVERSIONS)
async def test_home_amount_is_converted_half_even(
    client, shops, shop, amount, currency, home, rate
):
    s = getattr(shops, shop)
    payload = await call(
        client, "create", s.token("admin"), input=created(s, amount=amount, currency=currency)
    )
    e = payload["expense"]
    assert e["amount"] == {"amount": amount, "currency": currency}
    assert e["homeAmount"] == {"amount": home, "currency": s.biz.home}
    assert (Decimal(e["fxRate"]), e["fxRateDate"]) == (Decimal(rate), "2031-03-10")


@pytest.mark.parametrize(
    ("spent", "home", "day"),
    [("2031-03-10T22:30:00-05:00", "8.00", "2031-03-11"),
     ("2031-03-11T01:00:00+02:00", "7.92", "2031-03-10")],
)  # fmt: skip
async def test_rate_is_the_one_of_the_utc_day(client, shops, spent, home, day):
    s = shops.gbp
    i = created(s, "admin", amount="10.00", currency="USD", spent=spent)
    e = (await call(client, "create", s.token("admin"), input=i))["expense"]
    assert (e["homeAmount"]["amount"], e["fxRateDate"]) == (home, day)


@pytest.mark.parametrize(
    ("amount", "currency", "spent", "field", "code"),
    [
        ("12.34", "XYZ", None, "amount.currency", "UNKNOWN_CURRENCY"),
        ("0", "GBP", None, "amount.amount", "INVALID_AMOUNT"),
        ("-1.00", "GBP", None, "amount.amount", "INVALID_AMOUNT"),
        ("1000000000", "GBP", None, "amount.amount", "INVALID_AMOUNT"),
        ("12.345", "GBP", None, "amount.amount", "TOO_MANY_DECIMALS"),
        ("1.5", "JPY", None, "amount.amount", "TOO_MANY_DECIMALS"),
        ("1.2345", "BHD", None, "amount.amount", "TOO_MANY_DECIMALS"),
        ("12.34", "EUR", None, "amount", "FX_RATE_MISSING"),  # no EUR rate at all
        ("12.34", "USD", "2031-03-12T10:00:00Z", "amount", "FX_RATE_MISSING"),  # not that day
    ],
)
async def test_bad_money_creates_nothing(client, engine, shops, amount, currency, spent, field, code):  # fmt: skip
    s = shops.gbp
    before = await ledger(engine, s)
    i = created(s, amount=amount, currency=currency, **({"spentAt": spent} if spent else {}))
    payload = await call(client, "create", s.token("employee"), input=i)
    assert error_codes(payload) == [(field, code)]
    assert await ledger(engine, s) == before


async def test_largest_amount_is_accepted(client, shops):
    s = shops.gbp
    i = created(s, "admin", amount="999999999.99")
    e = (await call(client, "create", s.token("admin"), input=i))["expense"]
    assert e["homeAmount"]["amount"] == "999999999.99"


@pytest.mark.parametrize(
    ("who", "whose", "field", "code"),
    [
        ("employee", ("gbp", "employee2"), "memberId", "FORBIDDEN"),
        ("manager", ("gbp", "employee"), "memberId", "FORBIDDEN"),
        ("finance", ("other", "employee"), "memberId", "NOT_FOUND"),
        ("key", None, "memberId", "INVALID_VALUE"),  # an API key must say whose it is
        ("employee", ("gbp", "employee2:card"), "cardId", "NOT_FOUND"),
        ("employee", ("gbp", "frozen:card"), "cardId", "CARD_NOT_USABLE"),
        ("employee", ("other", "employee:card"), "cardId", "NOT_FOUND"),
        ("employee", ("other", "Meals:category"), "categoryId", "NOT_FOUND"),
    ],
)
async def test_create_refusals_change_nothing(client, engine, shops, who, whose, field, code):
    s = shops.gbp
    extra = {}
    if whose is not None:
        shop, ref = getattr(shops, whose[0]), whose[1]
        name, _, kind = ref.partition(":")
        extra[field] = shop.gid(kind.title() or "Member", name)
    before = await ledger(engine, s)
    as_ = s.keys["write"] if who == "key" else s.token(who)
    assert error_codes(await call(client, "create", as_, input=created(s, **extra))) == [
        (field, code)
    ]
    assert await ledger(engine, s) == before


@pytest.mark.parametrize(("who", "actor"), [("finance", True), ("admin", True), ("key", False)])
async def test_finance_admins_and_keys_record_for_a_member(client, engine, shops, who, actor):
    s = shops.gbp
    as_ = s.keys["write"] if who == "key" else s.token(who)
    i = created(s, memberId=s.gid("Member", "employee"), cardId=s.gid("Card", "employee"))
    e = (await call(client, "create", as_, input=i))["expense"]
    assert e["member"]["id"] == s.gid("Member", "employee")
    _, events = await snapshot(engine, row_id(e["id"]))
    assert events == [("CREATED", s.biz.members[who] if actor else None, None)]


@pytest.mark.parametrize(("credential", "code"), [(None, "UNAUTHENTICATED"), ("read", "FORBIDDEN")])
async def test_create_without_the_right_credential_is_a_top_level_error(
    client, engine, shops, credential, code
):
    s = shops.gbp
    before = await ledger(engine, s)
    as_ = s.keys[credential] if credential else None
    body = (await gql_raw(client, MUTATIONS["create"], {"input": created(s)}, as_=as_)).json()
    assert codes(body) == [code] and not (body["data"] or {}).get("p")
    assert await ledger(engine, s) == before
