"""Who may manage policies, who reads Business.policies, and what reading the list costs."""

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from resolvers.ids import encode_id
from tests.conftest import codes, gql, gql_raw
from tests.graphql.mutations_catalog.helpers_calls import ALLOWED, CATALOG_MATRIX, attempt, call
from tests.graphql.mutations_catalog.helpers_orgs import build_org, tag
from tests.graphql.mutations_catalog.helpers_policies import (
    LIST,
    REMOVE,
    SET,
    gbp,
    new_policy,
    pgid,
    policy_census,
)
from tests.graphql.mutations_catalog.helpers_records import check_last_actor

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
