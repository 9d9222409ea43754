"""issueCard and cancelCard: who may, what is checked, the audit trail, and finality.

Built on a business of this module's own plus a rival
(tests.graphql.mutations_catalog.helpers_orgs); every test that changes a card inserts a fresh
one first. Refused calls also check that no card and no audit event changed.
"""

import re
import uuid
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.tables.org import cards, members, teams
from resolvers.ids import decode_id, encode_id
from tests.conftest import gql
from tests.graphql.mutations_catalog.helpers_calls import (
    ALLOWED,
    ERRORS,
    attempt,
    call,
    problems,
    rule_errors,
)
from tests.graphql.mutations_catalog.helpers_orgs import Org, inserted, org_fixture
from tests.graphql.mutations_catalog.helpers_records import (
    actor_ids,
    audit_trail,
    census,
    stored_row,
)

CARD = (
    "id last4 kind status currency spendLimit { amount currency } limitPeriod"
    " holder { id } team { id } createdAt"
)
ISSUE = f"mutation($input: IssueCardInput!) {{ p: issueCard(input: $input) {{ card {{ {CARD} }} {ERRORS} }} }}"  # fmt: skip
CANCEL = f"mutation($id: ID!) {{ p: cancelCard(id: $id) {{ card {{ {CARD} }} {ERRORS} }} }}"
FREEZE = f"mutation($id: ID!) {{ p: freezeCard(id: $id) {{ card {{ status }} {ERRORS} }} }}"
UNFREEZE = f"mutation($id: ID!) {{ p: unfreezeCard(id: $id) {{ card {{ status }} {ERRORS} }} }}"
SET_LIMIT = (
    'mutation($id: ID!) { p: setCardSpendLimit(id: $id, limit: {amount: "5", currency: "GBP"},'
    f" period: DAY) {{ card {{ status }} {ERRORS} }} }}"
)


org = org_fixture("Issueco", 53)


def gid(type_name: str, id_: int) -> str:
    return encode_id(type_name, id_)


async def new_card(engine: AsyncEngine, org: Org, *, status: str = "ACTIVE") -> int:
    """Insert a card of the sales team held by the employee; return its row id."""
    biz = org.biz
    return await inserted(
        engine, cards, business_id=biz.id, holder_id=biz.members["employee"],
        team_id=biz.teams["sales"], last4="1111", kind="PHYSICAL", status=status, currency="GBP",
    )  # fmt: skip


async def new_member(engine: AsyncEngine, org: Org, *, deactivated: bool) -> int:
    return await inserted(
        engine, members, business_id=org.biz.id, name="Leaver", role="EMPLOYEE",
        email=f"leaver-{uuid.uuid4().hex[:8]}@issueco.test",
        deactivated_at=text("now()") if deactivated else None,
    )  # fmt: skip


async def new_team(engine: AsyncEngine, org: Org, *, archived: bool) -> int:
    return await inserted(
        engine, teams, business_id=org.biz.id, name=f"Old team {uuid.uuid4().hex[:8]}",
        archived_at=text("now()") if archived else None,
    )  # fmt: skip


async def stored(engine: AsyncEngine, card_id: int) -> tuple[Any, ...]:
    """Return (holder, team, last4, kind, status, currency, limit, period) as stored."""
    columns = "holder_id, team_id, last4, kind, status, currency, spend_limit_minor, limit_period"
    return await stored_row(engine, "cards", columns, card_id)


async def card_census(engine: AsyncEngine, org: Org) -> tuple[Any, int]:
    """Return every card of the business as stored, and its number of audit events."""
    return await census(engine, org, "cards")


def card_row_id(global_id: str) -> int:
    type_name, id_ = decode_id(global_id)
    assert type_name == "Card"
    return id_


# --- issueCard ---


async def test_issue_a_virtual_card(client, engine, org):
    biz = org.biz
    input_ = {
        "holderId": gid("Member", biz.members["employee"]), "teamId": gid("Team", biz.teams["sales"]),
        "currency": " usd", "spendLimit": {"amount": "50", "currency": "USD"}, "limitPeriod": "WEEK",
    }  # fmt: skip
    payload = await call(client, ISSUE, org.credential("finance"), input=input_)
    assert payload["userErrors"] == []
    card = payload["card"]
    id_ = card_row_id(card["id"])
    assert re.fullmatch(r"[0-9]{4}", card["last4"])
    assert card == {
        "id": gid("Card", id_), "last4": card["last4"], "kind": "VIRTUAL", "status": "ACTIVE",
        "currency": "USD", "spendLimit": {"amount": "50.00", "currency": "USD"},
        "limitPeriod": "WEEK", "holder": {"id": input_["holderId"]},
        "team": {"id": input_["teamId"]}, "createdAt": card["createdAt"],
    }  # fmt: skip
    assert await stored(engine, id_) == (
        biz.members["employee"], biz.teams["sales"], card["last4"], "VIRTUAL", "ACTIVE", "USD",
        5000, "WEEK",
    )  # fmt: skip
    assert await audit_trail(engine, biz, "Card", id_) == [
        ("ISSUED", biz.members["finance"], None,
         {"holderId": biz.members["employee"], "teamId": biz.teams["sales"], "currency": "USD",
          "spendLimitMinor": 5000, "limitPeriod": "WEEK"}),
    ]  # fmt: skip
    # the holder and the team's manager see it at once
    for who in ("employee", "manager"):
        data = await gql(client, "query($id: ID!) { node(id: $id) { ... on Card { status } } }",
                         {"id": card["id"]}, as_=org.credential(who))  # fmt: skip
        assert data["node"] == {"status": "ACTIVE"}


async def test_issue_with_defaults(client, engine, org):
    holder = org.biz.members["engineer"]
    payload = await call(client, ISSUE, org.credential("admin"),
                         input={"holderId": gid("Member", holder)})  # fmt: skip
    assert payload["userErrors"] == []
    card = payload["card"]
    assert (card["currency"], card["team"], card["spendLimit"], card["limitPeriod"]) == (
        "GBP", None, None, None,
    )  # fmt: skip
    assert (await stored(engine, card_row_id(card["id"])))[:2] == (holder, None)


async def test_issued_cards_get_random_last_digits(client, org):
    last4 = set()
    for _ in range(6):
        payload = await call(client, ISSUE, org.credential("admin"),
                             input={"holderId": gid("Member", org.biz.members["admin"])})  # fmt: skip
        last4.add(payload["card"]["last4"])
    assert len(last4) > 1


def _bad_input(
    org: Org, which: str, extra: dict[str, int]
) -> tuple[dict[str, Any], tuple[str, str]]:
    """Return an issueCard input with one thing wrong, and the userError it must give."""
    biz, other = org.biz, org.other
    base: dict[str, Any] = {"holderId": gid("Member", biz.members["employee"])}
    return {
        "unknown holder": ({"holderId": gid("Member", 999_999_999)}, ("holderId", "NOT_FOUND")),
        "malformed holder": ({"holderId": "nope"}, ("holderId", "NOT_FOUND")),
        "a team as holder": ({"holderId": gid("Team", biz.teams["sales"])}, ("holderId", "NOT_FOUND")),
        "other business's member": ({"holderId": gid("Member", other.members["employee"])}, ("holderId", "NOT_FOUND")),
        "deactivated holder": ({"holderId": gid("Member", extra["leaver"])}, ("holderId", "MEMBER_DEACTIVATED")),
        "other business's team": ({**base, "teamId": gid("Team", other.teams["sales"])}, ("teamId", "NOT_FOUND")),
        "archived team": ({**base, "teamId": gid("Team", extra["old_team"])}, ("teamId", "TEAM_ARCHIVED")),
        "unknown currency": ({**base, "currency": "XXX"}, ("currency", "UNKNOWN_CURRENCY")),
        "limit without period": ({**base, "spendLimit": {"amount": "5", "currency": "GBP"}}, ("limitPeriod", "INVALID_VALUE")),
        "period without limit": ({**base, "limitPeriod": "DAY"}, ("spendLimit", "INVALID_VALUE")),
        "limit in another currency": ({**base, "spendLimit": {"amount": "5", "currency": "USD"}, "limitPeriod": "DAY"}, ("spendLimit.currency", "CURRENCY_MISMATCH")),
        "zero limit": ({**base, "spendLimit": {"amount": "0", "currency": "GBP"}, "limitPeriod": "DAY"}, ("spendLimit.amount", "INVALID_AMOUNT")),
        "too many decimals": ({**base, "currency": "JPY", "spendLimit": {"amount": "1.5", "currency": "JPY"}, "limitPeriod": "DAY"}, ("spendLimit.amount", "TOO_MANY_DECIMALS")),
    }[which]  # fmt: skip


BAD = [
    "unknown holder", "malformed holder", "a team as holder", "other business's member",
    "deactivated holder", "other business's team", "archived team", "unknown currency",
    "limit without period", "period without limit", "limit in another currency", "zero limit",
    "too many decimals",
]  # fmt: skip


@pytest.mark.parametrize("which", BAD)
async def test_invalid_issues_change_nothing(client, engine, org, which):
    extra = {
        "leaver": await new_member(engine, org, deactivated=True),
        "old_team": await new_team(engine, org, archived=True),
    }
    input_, expected = _bad_input(org, which, extra)
    found = await rule_errors(client, engine, org, card_census, ISSUE, "card", input=input_)
    assert found == [expected]


ISSUERS = {
    "admin": ALLOWED,
    "finance": ALLOWED,
    "manager": "FORBIDDEN",
    "employee": "FORBIDDEN",
    "key:write": ALLOWED,  # cards:write
    "key:admin": ALLOWED,
    "key:read": "top:FORBIDDEN",
    "anonymous": "top:UNAUTHENTICATED",
    "other_admin": "holderId:NOT_FOUND",  # our member, from another business
}


@pytest.mark.parametrize("who", list(ISSUERS))
async def test_who_may_issue_a_card(client, engine, org, who):
    input_ = {"holderId": gid("Member", org.biz.members["employee2"]),
              "teamId": gid("Team", org.biz.teams["sales"])}  # fmt: skip
    before = await card_census(engine, org)
    payload = await attempt(client, ISSUE, org, who, ISSUERS[who], "card", input=input_)
    if payload is None:
        assert await card_census(engine, org) == before
        return
    id_ = card_row_id(payload["card"]["id"])
    (event,) = await audit_trail(engine, org.biz, "Card", id_)
    assert event[:3] == ("ISSUED", *await actor_ids(engine, org, who))


# --- cancelCard ---


@pytest.mark.parametrize("status", ["ACTIVE", "FROZEN"])
async def test_cancel_a_card_for_good(client, engine, org, status):
    id_ = await new_card(engine, org, status=status)
    payload = await call(client, CANCEL, org.credential("admin"), id=gid("Card", id_))
    assert payload["userErrors"] == []
    assert payload["card"]["status"] == "CANCELLED"
    assert (await stored(engine, id_))[4] == "CANCELLED"
    assert await audit_trail(engine, org.biz, "Card", id_) == [
        ("CANCELLED", org.biz.members["admin"], None, {"previousStatus": status})
    ]
    before = await card_census(engine, org)
    for query in (CANCEL, FREEZE, UNFREEZE, SET_LIMIT):
        payload = await call(client, query, org.credential("admin"), id=gid("Card", id_))
        assert problems(payload, "card") == [("id", "CARD_CANCELLED")]
    assert await card_census(engine, org) == before


async def test_a_card_is_not_used_once_cancelled(client, engine, org):
    id_ = await new_card(engine, org)
    await call(client, CANCEL, org.credential("finance"), id=gid("Card", id_))
    spend = {"amount": {"amount": "3", "currency": "GBP"}, "spentAt": "2026-05-02T10:00:00Z",
             "merchantName": "Kiosk", "cardId": gid("Card", id_)}  # fmt: skip
    query = f"mutation($input: CreateExpenseInput!) {{ p: createExpense(input: $input) {{ expense {{ id }} {ERRORS} }} }}"  # fmt: skip
    payload = await call(client, query, org.credential("employee"), input=spend)
    assert problems(payload, "expense") == [("cardId", "CARD_NOT_USABLE")]


CANCELLERS = {
    "admin": ALLOWED,
    "finance": ALLOWED,
    "manager": "id:FORBIDDEN",  # manages sales and may freeze the card, but not cancel it
    "manager2": "id:NOT_FOUND",
    "employee": "id:FORBIDDEN",  # the holder
    "employee2": "id:NOT_FOUND",
    "key:write": ALLOWED,
    "key:admin": ALLOWED,
    "key:read": "top:FORBIDDEN",
    "anonymous": "top:UNAUTHENTICATED",
    "other_admin": "id:NOT_FOUND",
}


@pytest.mark.parametrize("who", list(CANCELLERS))
async def test_who_may_cancel_a_card(client, engine, org, who):
    id_ = await new_card(engine, org)
    before = await card_census(engine, org)
    payload = await attempt(client, CANCEL, org, who, CANCELLERS[who], "card", id=gid("Card", id_))
    if payload is None:
        assert await card_census(engine, org) == before
        return
    assert (await stored(engine, id_))[4] == "CANCELLED"
    (event,) = await audit_trail(engine, org.biz, "Card", id_)
    assert event[:3] == ("CANCELLED", *await actor_ids(engine, org, who))


@pytest.mark.parametrize("which", ["never used", "malformed", "an expense", "other business"])
async def test_unknown_cards_are_not_found(client, engine, org, which):
    global_id = {
        "never used": gid("Card", 999_999_999),
        "malformed": "not-an-id",
        "an expense": gid("Expense", org.biz.expense_ids[0]),
        "other business": gid("Card", org.other.cards["employee"]),
    }[which]
    before = await card_census(engine, org)
    payload = await call(client, CANCEL, org.credential("admin"), id=global_id)
    assert problems(payload, "card") == [("id", "NOT_FOUND")]
    assert await card_census(engine, org) == before
    assert (await stored(engine, org.other.cards["employee"]))[4] == "ACTIVE"
