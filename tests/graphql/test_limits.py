"""Query shape limits, static cost with its ceiling, and per-credential rate limits."""

import asyncio
import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest
from graphql import parse

from app.cost import query_cost
from app.limits import LimitSettings
from schema.build import build_schema
from tests.conftest import SETTINGS, app_client, codes, gql_raw, token

LIMITS = LimitSettings(max_depth=10, max_aliases=15, max_directives=5, max_tokens=2000, max_cost=1000,
                       bucket_size=100, restore_rate=20)  # fmt: skip
PAGE = "{ expenses(first: 50) { nodes { id } } }"  # costs 51 and serves 51 objects


@pytest.fixture
async def limited(engine, database_url) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(
        dataclasses.replace(SETTINGS, limits=LIMITS), engine, database_url
    ) as client:
        yield client


def _cost(query: str, variables: dict[str, object] | None = None) -> int:
    return query_cost(build_schema()._schema, parse(query), None, variables)


def test_connections_multiply_what_is_under_them() -> None:
    assert _cost("{ viewer { credential } }") == 1
    assert _cost(PAGE) == 51
    assert _cost(
        "{ teams(first: 10) { nodes { expenses(first: 5) { nodes { member { name } } } } } }"
    ) == 1 + 10 + 10 * (1 + 5 + 5)
    assert _cost("query($n: Int) { expenses(first: $n) { nodes { id } } }", {"n": 7}) == 8
    assert (
        _cost("{ expenses { nodes { receipts { id } } } }") == 1 + 20 + 20 * 10
    )  # default page, list estimate
    assert _cost('mutation { deleteExpense(id: "x") { expense { id } } }') == 10 + 1 + 1


async def test_every_response_reports_its_cost(limited, world) -> None:
    body = (await gql_raw(limited, PAGE, as_=token(world.a, "employee"))).json()
    cost = body["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 51
    assert 1 <= cost["actualQueryCost"] <= 51
    assert (
        cost["throttleStatus"]["maximumAvailable"] == 100
        and cost["throttleStatus"]["restoreRate"] == 20
    )


@pytest.mark.parametrize(
    "query",
    [
        "{ teams(first: 100) { nodes { expenses(first: 100) { nodes { id } } } } }",
        "{ " + " ".join(f"a{i}: viewer {{ credential }}" for i in range(16)) + " }",
        "{ viewer { member { team { members { team { members { team { members { team { members { team { name } } } } } } } } } } } }",
        "{ viewer { " + " ".join("credential @include(if: true)" for _ in range(6)) + " } }",
        "{ viewer { " + "credential " * 2100 + "} }",
    ],
    ids=["cost", "aliases", "depth", "directives", "tokens"],
)
async def test_too_complex_is_refused_before_any_sql(
    limited, world, statements, query: str
) -> None:
    statements.reset()
    body = (await gql_raw(limited, query, as_=token(world.a, "admin"))).json()
    assert codes(body) == ["QUERY_TOO_COMPLEX"]
    assert body["data"] is None
    assert statements.count == 1  # the credential lookup only


async def test_undefined_and_cyclic_fragments_are_input_errors_not_crashes(limited, world) -> None:
    for query in (
        "{ ...F }",
        "query { viewer { ...A } } fragment A on Viewer { ...B } fragment B on Viewer { ...A }",
    ):
        assert codes((await gql_raw(limited, query, as_=token(world.a, "admin"))).json()) == [
            "BAD_USER_INPUT"
        ]


async def test_an_empty_bucket_limits_that_credential_only_until_it_refills(limited, world) -> None:
    spender, bystander = token(world.a, "finance"), token(world.a, "admin")  # both see all 51
    assert "errors" not in (await gql_raw(limited, PAGE, as_=spender)).json()
    limited_body = (await gql_raw(limited, PAGE, as_=spender)).json()
    assert codes(limited_body) == ["RATE_LIMITED"]
    wait = limited_body["errors"][0]["extensions"]["retryAfterSeconds"]
    assert 0 < wait <= 51 / 20
    assert "errors" not in (await gql_raw(limited, PAGE, as_=bystander)).json()
    await asyncio.sleep(wait + 0.2)
    assert "errors" not in (await gql_raw(limited, PAGE, as_=spender)).json()


async def test_syntax_errors_carry_a_code(client, world) -> None:
    # parse errors are raised inside strawberry's parser cache and skip extension hooks
    body = (await gql_raw(client, "{ viewer { ", as_=token(world.a, "admin"))).json()
    assert codes(body) == ["BAD_USER_INPUT"]
