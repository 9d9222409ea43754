"""Policy mutations (setPolicy, removePolicy) and the Business.policies list.

Built on a GBP business of this module's own plus a rival. Each business starts with the
business-wide policy of tests.world ("Receipts over 50"); every test sets its own
policies, so the tests do not depend on each other's order. Refused calls also check that
no policy and no audit event changed.
"""

import base64
import uuid
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from resolvers.ids import encode_id
from tests.conftest import codes, gql, gql_raw
from tests.graphql.mutations_catalog.org import (
    ALLOWED,
    CATALOG_MATRIX,
    ERRORS,
    Org,
    attempt,
    audit_trail,
    build_org,
    call,
    census,
    check_last_actor,
    key_id,
    new_category,
    org_fixture,
    problems,
    rule_errors,
    scalar,
    stored_row,
)

POLICY = (
    "id name category { id name } maxAmount { amount currency }"
    " receiptRequiredAbove { amount currency } active createdAt"
)
SET = f"mutation($input: SetPolicyInput!) {{ p: setPolicy(input: $input) {{ policy {{ {POLICY} }} {ERRORS} }} }}"  # fmt: skip
REMOVE = f"mutation($id: ID!) {{ p: removePolicy(id: $id) {{ policy {{ {POLICY} }} {ERRORS} }} }}"  # fmt: skip
CREATE_EXPENSE = f"mutation($input: CreateExpenseInput!) {{ p: createExpense(input: $input) {{ expense {{ id }} {ERRORS} }} }}"  # fmt: skip
LIST = "{ viewer { business { policies { id name active maxAmount { amount currency } } } } }"


org = org_fixture("Polco", 41)


def tag() -> str:
    return uuid.uuid4().hex[:8]


def pgid(policy_id: int) -> str:
    return encode_id("Policy", policy_id)


def row_id(global_id: str) -> int:
    raw = base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode()
    type_name, _, id_ = raw.partition(":")
    assert type_name == "Policy"
    return int(id_)


def gbp(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "GBP"}


async def stored(engine: AsyncEngine, policy_id: int) -> tuple[Any, ...]:
    """Return (name, category_id, max_amount_minor, receipt_required_above_minor, active)."""
    columns = "name, category_id, max_amount_minor, receipt_required_above_minor, active"
    return await stored_row(engine, "policies", columns, policy_id)


async def policy_census(engine: AsyncEngine, org: Org) -> tuple[Any, int]:
    """Return every policy of the business as stored, and its number of audit events."""
    return await census(engine, org, "policies")


async def new_policy(client: Any, org: Org, **input_: Any) -> int:
    """Set a policy through the API as an admin; return its row id."""
    input_ = {"name": f"Policy {tag()}", "maxAmount": gbp("100"), **input_}
    payload = await call(client, SET, org.credential("admin"), input=input_)
    assert payload["userErrors"] == [], payload
    return row_id(payload["policy"]["id"])


async def live_category(engine: AsyncEngine, org: Org, *, archived: bool = False) -> int:
    """Insert a category of the module's business; return its row id."""
    return await new_category(engine, org, f"Category {tag()}", archived=archived)


async def archived_category(engine: AsyncEngine, org: Org) -> int:
    return await live_category(engine, org, archived=True)


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


# --- removePolicy, and what policies do to expenses ---


async def test_remove_a_policy(client, engine, org):
    name = f"Short-lived {tag()}"
    id_ = await new_policy(client, org, name=name)
    listed = await gql(client, LIST, as_=org.credential("employee"))
    assert name in [p["name"] for p in listed["viewer"]["business"]["policies"]]
    payload = await call(client, REMOVE, org.credential("finance"), id=pgid(id_))
    assert payload["userErrors"] == []
    assert payload["policy"]["active"] is False
    assert (await stored(engine, id_))[4] is False
    assert [a for a, *_ in await audit_trail(engine, org.biz, "Policy", id_)] == [
        "CREATED",
        "REMOVED",
    ]
    listed = await gql(client, LIST, as_=org.credential("employee"))
    assert name not in [p["name"] for p in listed["viewer"]["business"]["policies"]]
    before = await policy_census(engine, org)
    for query, variables in (
        (REMOVE, {"id": pgid(id_)}),
        (SET, {"input": {"id": pgid(id_), "name": name, "maxAmount": gbp("9")}}),
    ):
        payload = await call(client, query, org.credential("finance"), **variables)
        assert problems(payload, "policy") == [("id", "INVALID_TRANSITION")]
    assert await policy_census(engine, org) == before


async def test_expenses_are_checked_against_a_policy_from_the_next_read_on(client, engine, org):
    meals = org.biz.categories["Meals"]
    expense = await scalar(
        engine, "SELECT min(id) FROM expenses WHERE business_id = :b AND category_id = :c"
        " AND home_amount_minor > 100 AND deleted_at IS NULL", b=org.biz.id, c=meals,
    )  # fmt: skip
    name = f"Meals cap {tag()}"
    read = "query($id: ID!) { node(id: $id) { ... on Expense { policyViolations { code policyName } } } }"
    variables = {"id": encode_id("Expense", expense)}
    data = await gql(client, read, variables, as_=org.credential("admin"))
    assert name not in [v["policyName"] for v in data["node"]["policyViolations"]]
    input_ = {"name": name, "categoryId": encode_id("Category", meals), "maxAmount": gbp("1")}
    payload = await call(client, SET, org.credential("admin"), input=input_)
    data = await gql(client, read, variables, as_=org.credential("admin"))
    assert {"code": "AMOUNT_OVER_LIMIT", "policyName": name} in data["node"]["policyViolations"]
    await call(client, REMOVE, org.credential("admin"), id=payload["policy"]["id"])
    data = await gql(client, read, variables, as_=org.credential("admin"))
    assert name not in [v["policyName"] for v in data["node"]["policyViolations"]]


async def test_a_submission_in_the_same_request_is_checked_against_the_new_policy(
    client, engine, org
):
    category = await live_category(engine, org)
    draft = await call(client, CREATE_EXPENSE, org.credential("admin"), input={
        "amount": gbp("20"), "spentAt": "2026-05-03T09:00:00Z", "merchantName": "Printer",
        "categoryId": encode_id("Category", category),
    })  # fmt: skip
    assert draft["userErrors"] == []
    name = f"Receipts always {tag()}"
    query = (
        "mutation($id: ID!, $input: SetPolicyInput!) {"
        ' a: updateExpense(id: $id, input: {description: "toner"}) { expense { policyViolations { policyName } } }'
        f" p: setPolicy(input: $input) {{ policy {{ id }} {ERRORS} }}"
        f" b: submitExpense(id: $id) {{ expense {{ status }} {ERRORS} }} }}"
    )
    input_ = {"name": name, "categoryId": encode_id("Category", category),
              "receiptRequiredAbove": gbp("0")}  # fmt: skip
    data = await gql(client, query, {"id": draft["expense"]["id"], "input": input_},
                     as_=org.credential("admin"))  # fmt: skip
    # the policies were loaded before the change, and the submission still sees it
    assert name not in [v["policyName"] for v in data["a"]["expense"]["policyViolations"]]
    assert data["p"]["userErrors"] == []
    assert [e["code"] for e in data["b"]["userErrors"]] == ["RECEIPT_REQUIRED"]
    assert name in data["b"]["userErrors"][0]["message"]
    await call(client, REMOVE, org.credential("admin"), id=data["p"]["policy"]["id"])


# --- who may ---

MATRIX = {**CATALOG_MATRIX, "other_admin": "id:NOT_FOUND"}  # the policy of another business


@pytest.mark.parametrize("mutation", ["create", "replace", "remove"])
@pytest.mark.parametrize("who", list(MATRIX))
async def test_who_may_manage_policies(client, engine, org, who, mutation):
    expected = MATRIX[who]
    if mutation == "create" and who == "other_admin":
        expected = ALLOWED  # in their own business
    id_ = await new_policy(client, org)
    cases: dict[str, tuple[str, dict[str, Any]]] = {
        "create": (SET, {"input": {"name": f"New {tag()}", "maxAmount": gbp("5")}}),
        "replace": (SET, {"input": {"id": pgid(id_), "name": "Replaced", "maxAmount": gbp("5")}}),
        "remove": (REMOVE, {"id": pgid(id_)}),
    }
    query, variables = cases[mutation]
    before = await policy_census(engine, org)
    payload = await attempt(client, query, org, who, expected, "policy", **variables)
    if payload is None or who == "other_admin":  # refused, or done in their own business
        assert await policy_census(engine, org) == before
        return
    await check_last_actor(engine, org, "Policy", who)


@pytest.mark.parametrize("who", ["employee", "manager", "key:read", "key:admin"])
async def test_everyone_of_the_business_reads_its_policies(client, org, who):
    data = await gql(client, LIST, as_=org.credential(who))
    policies = data["viewer"]["business"]["policies"]
    assert "Receipts over 50" in [p["name"] for p in policies]
    assert all(p["active"] for p in policies)
    assert {"amount": "500.00", "currency": "GBP"} in [p["maxAmount"] for p in policies]


async def test_a_key_without_expenses_read_does_not_read_policies(client, org):
    body = (await gql_raw(client, LIST, as_=org.credential("key:cards"))).json()
    assert codes(body) == ["FORBIDDEN"]


async def test_policies_with_their_categories_cost_the_same_for_2_and_12(
    client: Any, engine: AsyncEngine, statements: Any
) -> None:
    fresh = await build_org(engine, "Polcount", seed=43)
    admin = fresh.credential("admin")
    listing = "{ viewer { business { policies { name category { name } maxAmount { amount } } } } }"
    category_ids = list(fresh.biz.categories.values())
    counts = []
    for total in (2, 12):  # 2: at least one of ours with a category, so its loader runs
        while (
            len((await gql(client, listing, as_=admin))["viewer"]["business"]["policies"]) < total
        ):
            n = len((await gql(client, listing, as_=admin))["viewer"]["business"]["policies"])
            payload = await call(client, SET, admin, input={
                "name": f"Limit {n} {tag()}", "categoryId": encode_id("Category", category_ids[n % len(category_ids)]),
                "maxAmount": {"amount": "100.00", "currency": "GBP"},
            })  # fmt: skip
            assert payload["userErrors"] == [], payload
        statements.reset()
        policies = (await gql(client, listing, as_=admin))["viewer"]["business"]["policies"]
        counts.append(statements.count)
        assert len(policies) == total
    # the 12 include at least 11 of ours, each with a category to load
    assert sum(p["category"] is not None for p in policies) >= 11
    assert counts[0] == counts[1], counts
