"""Before validation: anonymous callers get introspection only, big documents are refused by
counting, new documents cost validation points, and nothing is kept for anonymous callers."""

import dataclasses
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from graphql import parse

from app import validation
from app.cost import StaticCosts
from app.gate import count_selections, validation_points
from app.limits import LimitSettings
from app.settings import Settings
from app.validation import BoundedCache, DocumentParseCache, DocumentValidationCache
from execution import cache
from tests.conftest import SETTINGS, app_client, codes, gql, gql_raw, token

MEMBERS_450 = "{ viewer { " + "member { id } " * 450 + "} }"
LEAVES = "{ viewer { " + "credential " * 298 + "} }"  # 299 selections, costs 1


@dataclasses.dataclass
class Caches:
    """The stores one test's app fills: parsed, validated documents and static costs."""

    parsed: BoundedCache[Any, Any]
    validated: BoundedCache[Any, Any]
    costs: list[StaticCosts]
    validations: list[Any]

    def sizes(self) -> tuple[int, int, int]:
        return len(self.parsed), len(self.validated), sum(len(c._costs) for c in self.costs)


@pytest.fixture
def caches(monkeypatch: pytest.MonkeyPatch) -> Caches:
    """Give the caches fresh stores, and record StaticCosts built and documents validated."""
    found = Caches(BoundedCache(2**20), BoundedCache(2**20), [], [])
    monkeypatch.setattr(DocumentParseCache, "documents", found.parsed)
    monkeypatch.setattr(DocumentValidationCache, "entries", found.validated)

    class RecordedCosts(StaticCosts):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            found.costs.append(self)

    monkeypatch.setattr("app.endpoint.StaticCosts", RecordedCosts)
    original = validation.validate_document

    def counted(schema: Any, document: Any, rules: Any, **options: Any) -> Any:
        found.validations.append(document)
        return original(schema, document, rules, **options)

    monkeypatch.setattr(validation, "validate_document", counted)
    return found


@pytest.fixture
def app_with(engine, database_url) -> Callable[..., Any]:
    """Return a context manager factory: a client of an app with these limits."""

    def make(limits: LimitSettings = SETTINGS.limits, **changes: Any) -> Any:
        settings = dataclasses.replace(SETTINGS, limits=limits, **changes)
        return app_client(settings, engine, database_url)

    return make


@pytest.fixture
async def dev(app_with, caches) -> AsyncIterator[httpx.AsyncClient]:
    async with app_with() as client:
        yield client


@pytest.mark.parametrize(
    "query",
    [
        "{ viewer { credential } }",
        "{ __typename viewer { credential } }",
        "{ ...Sneaky } fragment Sneaky on Query { expenses { totalCount } }",
        "{ ... on Query { teams { totalCount } } }",
        "query Intro { __typename } query Data { viewer { credential } }",
        "{ ...Undefined }",
        MEMBERS_450,
    ],
    ids=["plain", "with-typename", "fragment", "inline", "second-operation", "undefined", "big"],
)
async def test_anonymous_gets_one_unauthenticated_error_and_nothing_is_kept(
    dev: httpx.AsyncClient, caches: Caches, query: str
) -> None:
    response = await dev.post("/graphql", json={"query": query, "operationName": "Intro"}
                              if "Intro" in query else {"query": query})  # fmt: skip
    body = response.json()
    assert body.get("data") is None and codes(body) == ["UNAUTHENTICATED"], body
    assert "Authorization: Bearer" in body["errors"][0]["message"]
    assert caches.validations == []  # refused before validation
    assert caches.sizes() == (0, 0, 0)


@pytest.mark.parametrize(
    "query",
    ["{ __typename }", '{ __schema { queryType { name } } t: __type(name: "Expense") { name } }'],
)
async def test_anonymous_introspection_runs_but_is_not_kept(
    dev: httpx.AsyncClient, caches: Caches, query: str
) -> None:
    for _ in range(2):
        assert await gql(dev, query, as_=None)
    assert len(caches.validations) == 2  # validated each time: nothing remembered
    assert caches.sizes() == (0, 0, 0)


async def test_signed_in_documents_are_kept(dev: httpx.AsyncClient, caches: Caches, world) -> None:
    for _ in range(2):
        await gql(dev, "{ viewer { credential } }", as_=token(world.a, "admin"))
    assert caches.sizes() == (1, 1, 1) and len(caches.validations) == 1


async def test_450_members_are_refused_by_counting_not_validated(
    dev: httpx.AsyncClient, caches: Caches, world
) -> None:
    body = (await gql_raw(dev, MEMBERS_450, as_=token(world.a, "admin"))).json()
    assert body.get("data") is None and codes(body) == ["QUERY_TOO_COMPLEX"], body
    assert "more than 500 selections" in body["errors"][0]["message"]
    # refused before validation, which takes about a second for this document alone
    assert caches.validations == [] and caches.sizes() == (0, 0, 0)


async def test_fragments_count_at_each_spread(
    dev: httpx.AsyncClient, caches: Caches, world
) -> None:
    fragment = "fragment F on Viewer { " + "member { id } " * 10 + "}"
    query = "{ viewer { " + "...F " * 30 + "} } " + fragment  # 30 x 21 > 500, in 200 tokens
    body = (await gql_raw(dev, query, as_=token(world.a, "admin"))).json()
    assert codes(body) == ["QUERY_TOO_COMPLEX"] and caches.validations == []


def test_counting_is_linear_and_safe_with_cycles() -> None:
    assert count_selections(parse("{ a { b c } }"), 500) == 3
    cyclic = "{ v { ...A } } fragment A on V { x ...B } fragment B on V { y ...A }"
    assert count_selections(parse(cyclic), 500) == 6  # v, ...A, x, ...B, y, ...A (stops)
    unused = "{ a } fragment U on Q { " + "b " * 20 + "}"
    assert count_selections(parse(unused), 500) == 21  # validated though unused
    # a fragment bomb: 10 levels of 4 spreads is 4**10 selections; counting stops at the limit
    bomb = "{ ...F0 } " + " ".join(
        f"fragment F{i} on Q {{ ...F{i + 1} ...F{i + 1} ...F{i + 1} ...F{i + 1} }}"
        for i in range(10)
    ) + " fragment F10 on Q { a }"  # fmt: skip
    assert count_selections(parse(bomb), 500) == 501


async def test_new_documents_cost_validation_points(app_with, caches, world) -> None:
    points = validation_points(count_selections(parse(LEAVES), 500))
    assert points == 90
    limits = LimitSettings(bucket_size=100, restore_rate=1)
    as_ = token(world.a, "admin")
    async with app_with(limits) as client:
        assert "errors" not in (await gql_raw(client, LEAVES, as_=as_)).json()  # 90 + 1 points
        fresh = (await gql_raw(client, "# fresh comment\n" + LEAVES, as_=as_)).json()
        assert codes(fresh) == ["RATE_LIMITED"], fresh
        assert "validating this new document costs 90 points" in fresh["errors"][0]["message"]
        assert fresh["errors"][0]["extensions"]["retryAfterSeconds"] > 70
        assert len(caches.validations) == 1  # the fresh one was not validated
        # the validated document costs its query cost only (1 point)
        assert "errors" not in (await gql_raw(client, LEAVES, as_=as_)).json()


async def test_anonymous_validation_is_charged_to_one_shared_bucket(app_with, caches) -> None:
    introspection = "{ __schema { types { name fields { name type { name } } } } }"
    points = validation_points(count_selections(parse(introspection), 500))
    # restored a point in 11 days: a slow first answer (a second, under load) cannot refill it
    async with app_with(LimitSettings(bucket_size=points, restore_rate=1e-6)) as client:
        assert "errors" not in (await gql_raw(client, introspection, as_=None)).json()
        again = (await gql_raw(client, introspection, as_=None)).json()
        assert codes(again) == ["RATE_LIMITED"]


async def test_byte_bounds_evict_least_recently_used(app_with, caches, world) -> None:
    def numbered(i: int) -> str:
        return f"query Q{i} {{ viewer {{ credential }} }}"

    size = len(numbered(0)) + cache.ENTRY_OVERHEAD
    caches.parsed.max_bytes = caches.validated.max_bytes = 3 * size
    as_ = token(world.a, "admin")
    async with app_with() as client:
        for i in range(5):
            await gql(client, numbered(i), as_=as_)
    assert len(caches.parsed) == len(caches.validated) == 3
    assert caches.parsed.bytes == caches.validated.bytes == 3 * size
    assert {key[0] for key in caches.parsed._entries} == {numbered(i) for i in (2, 3, 4)}


def test_static_costs_are_bounded_in_bytes_and_skip_unnamed_texts() -> None:
    from schema.build import build_schema

    schema = build_schema()._schema
    costs = StaticCosts(max_bytes=2 * (100 + cache.ENTRY_OVERHEAD))
    for i in range(5):
        query = f"{{ expenses(first: {i + 1}) {{ nodes {{ id }} }} }}".ljust(100)
        assert costs.cost(schema, query, parse(query), None, {}) == 2 + i
    assert len(costs._costs) == 2
    costs.cost(schema, None, parse("{ viewer { credential } }"), None, {})  # anonymous
    assert len(costs._costs) == 2


def test_max_fields_is_read_from_the_environment() -> None:
    env = {"EXPENSEGRAPH_JWT_SECRET": "s" * 40, "EXPENSEGRAPH_MAX_FIELDS": "120"}
    assert Settings.from_env(env).limits.max_fields == 120
    assert Settings.from_env({"EXPENSEGRAPH_JWT_SECRET": "s" * 40}).limits.max_fields == 500
