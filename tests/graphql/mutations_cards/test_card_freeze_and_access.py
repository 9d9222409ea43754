"""freezeCard and unfreezeCard, cancelled and unknown cards, and who may manage a card."""

from typing import Any

import pytest

from resolvers.ids import encode_id
from tests.conftest import codes, gql, gql_raw
from tests.graphql.mutations_cards.helpers_cards import (
    FREEZE,
    SET_LIMIT,
    UNFREEZE,
    cgid,
    errors,
    new_card,
    stored,
)
from tests.graphql.mutations_catalog.helpers_calls import UNKNOWN, call, call_unknown

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
