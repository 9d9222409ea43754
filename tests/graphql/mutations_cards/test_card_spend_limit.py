"""setCardSpendLimit: setting and clearing a limit, its rules, the card currency's decimals."""

import pytest

from tests.graphql.mutations_cards.helpers_cards import SET_LIMIT, cgid, errors, new_card, stored
from tests.graphql.mutations_catalog.helpers_calls import call

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
