"""setPolicy: setting and replacing a policy, its rules, and unknown policy ids."""

import pytest
from sqlalchemy import text

from resolvers.ids import encode_id
from tests.graphql.mutations_catalog.helpers_calls import call, problems, rule_errors
from tests.graphql.mutations_catalog.helpers_orgs import Org, tag
from tests.graphql.mutations_catalog.helpers_policies import (
    REMOVE,
    SET,
    archived_category,
    gbp,
    live_category,
    new_policy,
    pgid,
    policy_census,
    row_id,
    stored,
)
from tests.graphql.mutations_catalog.helpers_records import audit_trail, key_id, scalar

# --- setPolicy ---


async def test_set_a_policy_then_replace_it(client, engine, org):
    travel = org.biz.categories["Travel"]
    name = f"Travel cap {tag()}"
    payload = await call(client, SET, org.credential("finance"), input={
        "name": f" {name} ", "categoryId": encode_id("Category", travel),
        "maxAmount": gbp("250"), "receiptRequiredAbove": {"amount": "25.5", "currency": "gbp"},
    })  # fmt: skip
    assert payload["userErrors"] == []
    policy = payload["policy"]
    id_ = row_id(policy["id"])
    assert policy == {
        "id": pgid(id_), "name": name, "category": {"id": encode_id("Category", travel), "name": "Travel"},
        "maxAmount": gbp("250.00"), "receiptRequiredAbove": gbp("25.50"), "active": True,
        "createdAt": policy["createdAt"],
    }  # fmt: skip
    assert await stored(engine, id_) == (name, travel, 25_000, 2_550, True)
    created = {"name": name, "categoryId": travel, "maxAmountMinor": 25_000,
               "receiptRequiredAboveMinor": 2_550, "currency": "GBP"}  # fmt: skip
    assert await audit_trail(engine, org.biz, "Policy", id_) == [
        ("CREATED", org.biz.members["finance"], None, created)
    ]
    # replace: every field as given, so the category and the receipt rule go
    payload = await call(client, SET, org.credential("key:admin"), input={
        "id": pgid(id_), "name": name, "maxAmount": gbp("300"),
    })  # fmt: skip
    assert payload["userErrors"] == []
    assert payload["policy"]["category"] is None
    assert payload["policy"]["receiptRequiredAbove"] is None
    assert await stored(engine, id_) == (name, None, 30_000, None, True)
    assert (await audit_trail(engine, org.biz, "Policy", id_))[1] == (
        "UPDATED", None, await key_id(engine, org.biz, "admin"),
        {"before": {"categoryId": travel, "maxAmountMinor": 25_000, "receiptRequiredAboveMinor": 2_550},
         "after": {"categoryId": None, "maxAmountMinor": 30_000, "receiptRequiredAboveMinor": None},
         "currency": "GBP"},
    )  # fmt: skip


async def test_setting_the_same_values_again_records_nothing(client, engine, org):
    id_ = await new_policy(client, org, name=f"Same {tag()}")
    name = (await stored(engine, id_))[0]
    before = await policy_census(engine, org)
    payload = await call(client, SET, org.credential("admin"),
                         input={"id": pgid(id_), "name": name, "maxAmount": gbp("100.00")})  # fmt: skip
    assert payload["userErrors"] == []
    assert await policy_census(engine, org) == before


async def test_a_receipt_may_be_required_for_every_amount(client, engine, org):
    category = await live_category(engine, org)  # not to touch the other tests' expenses
    id_ = await new_policy(client, org, maxAmount=None, receiptRequiredAbove=gbp("0"),
                           categoryId=encode_id("Category", category))  # fmt: skip
    assert (await stored(engine, id_))[1:] == (category, None, 0, True)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"maxAmount": {"amount": "10", "currency": "USD"}}, ("maxAmount.currency", "CURRENCY_MISMATCH")),
        ({"receiptRequiredAbove": {"amount": "0", "currency": "USD"}}, ("receiptRequiredAbove.currency", "CURRENCY_MISMATCH")),
        ({"maxAmount": {"amount": "10", "currency": "XXX"}}, ("maxAmount.currency", "UNKNOWN_CURRENCY")),
        ({"maxAmount": gbp("0")}, ("maxAmount.amount", "INVALID_AMOUNT")),
        ({"maxAmount": gbp("-3")}, ("maxAmount.amount", "INVALID_AMOUNT")),
        ({"receiptRequiredAbove": gbp("-0.01")}, ("receiptRequiredAbove.amount", "INVALID_AMOUNT")),
        ({"maxAmount": gbp("1.234")}, ("maxAmount.amount", "TOO_MANY_DECIMALS")),
        ({"maxAmount": None}, ("maxAmount", "INVALID_VALUE")),  # checks nothing
        ({"name": "  "}, ("name", "INVALID_VALUE")),
        ({"name": "x" * 201}, ("name", "INVALID_VALUE")),
        ({"categoryId": "other business"}, ("categoryId", "NOT_FOUND")),
        ({"categoryId": "not-an-id"}, ("categoryId", "NOT_FOUND")),
        ({"categoryId": "archived"}, ("categoryId", "CATEGORY_ARCHIVED")),
    ],
)  # fmt: skip
async def test_invalid_policies_change_nothing(client, engine, org, change, expected):
    input_ = {"name": f"Bad {tag()}", "maxAmount": gbp("100"), **change}
    if change.get("categoryId") == "other business":
        input_["categoryId"] = encode_id("Category", org.other.categories["Meals"])
    elif change.get("categoryId") == "archived":
        input_["categoryId"] = encode_id("Category", await archived_category(engine, org))
    found = await rule_errors(client, engine, org, policy_census, SET, "policy", input=input_)
    assert found == [expected]


async def test_a_policy_may_keep_its_category_once_archived(client, engine, org):
    category = await live_category(engine, org)
    id_ = await new_policy(client, org, categoryId=encode_id("Category", category))
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE categories SET archived_at = now() WHERE id = :i"), {"i": category}
        )
    payload = await call(client, SET, org.credential("admin"), input={
        "id": pgid(id_), "name": "Renamed", "categoryId": encode_id("Category", category),
        "maxAmount": gbp("5"),
    })  # fmt: skip
    assert payload["userErrors"] == []
    assert await stored(engine, id_) == ("Renamed", category, 500, None, True)


def _unknown_ids(org: Org, other_policy: int) -> dict[str, str]:
    return {
        "never used": pgid(999_999_999),
        "malformed": "not-an-id",
        "a category": encode_id("Category", org.biz.categories["Travel"]),
        "other business": pgid(other_policy),
    }


@pytest.mark.parametrize("mutation", ["set", "remove"])
@pytest.mark.parametrize("which", ["never used", "malformed", "a category", "other business"])
async def test_unknown_policies_are_not_found(client, engine, org, mutation, which):
    other_policy = int(
        await scalar(engine, "SELECT min(id) FROM policies WHERE business_id = :b", b=org.other.id)
    )
    global_id = _unknown_ids(org, other_policy)[which]
    before, theirs = await policy_census(engine, org), await stored(engine, other_policy)
    if mutation == "set":
        input_ = {"id": global_id, "name": "Hijacked", "maxAmount": gbp("1")}
        payload = await call(client, SET, org.credential("admin"), input=input_)
    else:
        payload = await call(client, REMOVE, org.credential("admin"), id=global_id)
    assert problems(payload, "policy") == [("id", "NOT_FOUND")]
    assert await policy_census(engine, org) == before
    assert await stored(engine, other_policy) == theirs
