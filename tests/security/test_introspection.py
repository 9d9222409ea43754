"""Introspection (GraphiQL's Docs, codegen, rover) is exempt from the depth, alias and cost
limits when it is allowed, and cannot carry a deep or expensive real selection past them."""

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from graphql import get_introspection_query

from app.limits import LimitSettings
from tests.conftest import SETTINGS, app_client, codes, gql_raw, token

FULL = get_introspection_query(
    descriptions=True,
    specified_by_url=True,
    directive_is_repeatable=True,
    schema_description=True,
    input_value_deprecation=True,
)
# production limits, a bucket big enough for the tests themselves
LIMITS = LimitSettings(bucket_size=10**9, restore_rate=10**6)
DEEP = "viewer { member { team { members { team { members { team { members { team { members { id } } } } } } } } } }"
EXPENSIVE = "teams(first: 100) { nodes { expenses(first: 100) { nodes { id } } } }"
ALIASES = " ".join(f"a{i}: viewer {{ credential }}" for i in range(16))
TYPES = "__schema { types { name } }"


async def _client(engine: Any, database_url: str, introspection: bool) -> httpx.AsyncClient:
    settings = dataclasses.replace(SETTINGS, limits=LIMITS, introspection=introspection)
    return app_client(settings, engine, database_url)


@pytest.fixture
async def dev(engine, database_url) -> AsyncIterator[httpx.AsyncClient]:
    async with await _client(engine, database_url, True) as client:
        yield client


@pytest.fixture
async def prod(engine, database_url) -> AsyncIterator[httpx.AsyncClient]:
    async with await _client(engine, database_url, False) as client:
        yield client


@pytest.mark.parametrize("who", ["admin", None])
async def test_the_full_introspection_query_passes(dev, world, who) -> None:
    as_ = token(world.a, who) if who else None
    body = (await gql_raw(dev, FULL, as_=as_)).json()
    assert "errors" not in body, body["errors"]
    types = {t["name"]: t for t in body["data"]["__schema"]["types"]}
    assert types["Expense"]["description"]
    fields = {f["name"]: f for f in types["Query"]["fields"]}
    assert fields["spendSummary"]["description"].startswith("Spend totals")
    assert body["extensions"]["cost"]["requestedQueryCost"] == 0
    assert body["extensions"]["cost"]["actualQueryCost"] == 0


async def test_typename_and_introspection_cost_nothing(dev, world) -> None:
    query = "{ __typename s: __schema { queryType { name } } viewer { __typename credential } }"
    body = (await gql_raw(dev, query, as_=token(world.a, "admin"))).json()
    assert "errors" not in body, body
    assert body["extensions"]["cost"]["requestedQueryCost"] == 1  # viewer
    assert body["extensions"]["cost"]["actualQueryCost"] == 1


async def test_introspection_is_refused_when_off(prod, world) -> None:
    body = (await gql_raw(prod, FULL, as_=token(world.a, "admin"))).json()
    assert body.get("data") is None and codes(body) and set(codes(body)) == {"BAD_USER_INPUT"}
    assert all("introspection" in e["message"].lower() for e in body["errors"]), body
    anonymous = (await gql_raw(prod, FULL, as_=None)).json()
    assert anonymous.get("data") is None and "BAD_USER_INPUT" in codes(anonymous)


@pytest.mark.parametrize(
    "query",
    ["{ " + DEEP + " }", "{ " + EXPENSIVE + " }", "{ " + ALIASES + " }"],
    ids=["deep", "expensive", "aliases"],
)
async def test_real_selections_are_still_limited(dev, world, query: str) -> None:
    body = (await gql_raw(dev, query, as_=token(world.a, "admin"))).json()
    assert body.get("data") is None and codes(body) == ["QUERY_TOO_COMPLEX"], body


@pytest.mark.parametrize(
    "query",
    [
        "{ " + TYPES + " " + DEEP + " }",
        "{ " + TYPES + " " + EXPENSIVE + " }",
        "{ " + TYPES + " " + ALIASES + " }",
        "{ ...I ...D } fragment I on Query { " + TYPES + " } fragment D on Query { " + DEEP + " }",
        '{ __type(name: "Query") { name } ... on Query { ' + EXPENSIVE + " } }",
    ],
    ids=["deep", "expensive", "aliases", "deep-in-fragment", "expensive-inline"],
)
async def test_introspection_does_not_smuggle_a_real_selection(dev, world, query: str) -> None:
    body = (await gql_raw(dev, query, as_=token(world.a, "admin"))).json()
    assert body.get("data") is None and codes(body) == ["QUERY_TOO_COMPLEX"], body


async def test_introspection_aliases_are_free_but_real_ones_count(dev, world) -> None:
    introspection = " ".join(f't{i}: __type(name: "Expense") {{ n: name }}' for i in range(20))
    body = (await gql_raw(dev, "{ " + introspection + " }", as_=token(world.a, "admin"))).json()
    assert "errors" not in body, body
    mixed = "{ " + introspection + " " + ALIASES + " }"
    body = (await gql_raw(dev, mixed, as_=token(world.a, "admin"))).json()
    assert codes(body) == ["QUERY_TOO_COMPLEX"] and "aliases" in body["errors"][0]["message"]
