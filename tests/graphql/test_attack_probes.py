"""The classic GraphQL probes (graphql-cop's set) replayed against production settings."""

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator

import httpx
import pytest

from app.limits import LimitSettings
from app.settings import Settings
from resolvers import viewer as viewer_resolvers
from tests.conftest import SETTINGS, app_client, codes, token

# production defaults, except a bucket big enough for the probes themselves
PRODUCTION = dataclasses.replace(
    SETTINGS,
    graphiql=False,
    introspection=False,
    limits=LimitSettings(bucket_size=10**9, restore_rate=10**6),
)


@pytest.fixture
async def prod(engine, database_url) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(PRODUCTION, engine, database_url) as client:
        yield client


def _headers(world, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(world.a, 'admin')}", **extra}


async def _post(client: httpx.AsyncClient, world, query: str) -> dict:
    return (await client.post("/graphql", json={"query": query}, headers=_headers(world))).json()


def test_production_defaults_hide_the_schema() -> None:
    settings = Settings.from_env({"EXPENSEGRAPH_JWT_SECRET": "s" * 40})
    assert settings.graphiql is False and settings.introspection is False
    demo = Settings.from_env({"EXPENSEGRAPH_JWT_SECRET": "s" * 40}, development=True)
    assert demo.graphiql is True and demo.introspection is True


async def test_introspection_and_graphiql_are_off_in_production(prod, world) -> None:
    body = await _post(prod, world, "{ __schema { types { name } } }")
    assert body["data"] is None and set(codes(body)) == {"BAD_USER_INPUT"}
    assert (await _post(prod, world, '{ __type(name: "Expense") { name } }'))["data"] is None
    page = await prod.get("/graphql", headers={"Accept": "text/html"})
    assert "graphiql" not in page.text.lower()


async def test_no_field_suggestions(prod, world) -> None:
    body = await _post(prod, world, "{ expensez { totalCount } }")
    assert "Did you mean" not in json.dumps(body) and codes(body) == ["BAD_USER_INPUT"]


@pytest.mark.parametrize(
    "query",
    [
        "{ " + " ".join(f"a{i}: viewer {{ credential }}" for i in range(101)) + " }",
        "{ viewer { credential " + "@include(if: true) " * 10 + "} }",
        "{ viewer { " + "credential " * 2500 + "} }",
        "{ viewer { member { team { members { team { members { team { members { team { members { id } } } } } } } } } } }",
        "{ teams(first: 100) { nodes { members { cards { expenses(first: 100) { nodes { id } } } } } } }",
    ],
    ids=["101-aliases", "directive-overloading", "field-duplication", "deep-nesting", "cost"],
)
async def test_overload_probes_are_too_complex(prod, world, query: str) -> None:
    body = await _post(prod, world, query)
    assert body["data"] is None and "QUERY_TOO_COMPLEX" in codes(body)


async def test_circular_and_undefined_fragments_are_refused(prod, world) -> None:
    circular = "{ viewer { ...A } } fragment A on Viewer { ...B } fragment B on Viewer { ...A }"
    for query in (circular, "{ ...Missing }"):
        assert codes(await _post(prod, world, query)) == ["BAD_USER_INPUT"]


async def test_transport_probes(prod, world) -> None:
    # every refusal is a JSON body with a code, never plain text (GraphQL over HTTP)
    mutation = 'mutation { deleteExpense(id: "RXhwZW5zZTox") { expense { id } } }'
    get = await prod.get("/graphql", params={"query": mutation}, headers=_headers(world))
    assert get.status_code == 405 and get.headers["allow"] == "POST"
    form = await prod.post(
        "/graphql", data={"query": "{ viewer { credential } }"}, headers=_headers(world)
    )
    assert form.status_code == 415
    batch = await prod.post(
        "/graphql", json=[{"query": "{ viewer { credential } }"}] * 10, headers=_headers(world)
    )
    assert batch.status_code == 400 and "Batching" in batch.json()["errors"][0]["message"]
    operations = json.dumps({"query": "{ viewer { credential } }", "variables": {}})
    csrf = await prod.post("/graphql", data={"operations": operations, "map": "{}"}, files={"x": ("a", b"a")},
                           headers=_headers(world))  # fmt: skip
    assert csrf.status_code == 400 and "Preflight" in csrf.text
    for response in (get, form, batch, csrf):
        assert response.headers["content-type"].startswith("application/json")
        assert codes(response.json()) == ["BAD_USER_INPUT"]


async def test_unexpected_errors_are_masked_even_next_to_slow_requests(
    prod, world, monkeypatch
) -> None:
    real = viewer_resolvers.viewer

    def broken(ctx):
        if ctx.principal is not None and ctx.principal.role == "EMPLOYEE":
            raise RuntimeError("secret internals: password=hunter2")
        return real(ctx)

    monkeypatch.setattr("schema.query.viewer", broken)
    slow = "{ viewer { credential } expenses(first: 50) { nodes { member { name } receipts { id } } } }"
    employee = {"Authorization": f"Bearer {token(world.a, 'employee')}"}
    requests = [
        prod.post("/graphql", json={"query": "{ viewer { credential } }"}, headers=employee)
        for _ in range(25)
    ]
    requests += [
        prod.post("/graphql", json={"query": slow}, headers=_headers(world)) for _ in range(25)
    ]
    responses = await asyncio.gather(*requests)
    for response in responses[:25]:
        error = response.json()["errors"][0]
        assert error["extensions"]["code"] == "INTERNAL" and error["extensions"]["requestId"]
        assert "hunter2" not in response.text and "secret" not in response.text
    assert all("errors" not in r.json() for r in responses[25:])


async def test_nul_characters_and_bad_currency_codes_are_input_errors(prod, world) -> None:
    # found by schemathesis: PostgreSQL refuses NUL in text, which surfaced as INTERNAL
    query = "query($s: String) { expenses(filter: {merchantSearch: $s}) { totalCount } }"
    response = await prod.post(
        "/graphql", json={"query": query, "variables": {"s": "a\u0000b"}}, headers=_headers(world)
    )
    assert response.status_code == 400 and codes(response.json()) == ["BAD_USER_INPUT"]
    get = await prod.get("/graphql", params={"query": '{ expenses(filter: {merchantSearch: "a\u0000"}) { totalCount } }'},
                         headers=_headers(world))  # fmt: skip
    assert get.status_code == 400
    body = await _post(prod, world, '{ expenses(filter: {currencies: ["GB"]}) { totalCount } }')
    assert codes(body) == ["BAD_USER_INPUT"]
