"""Persisted queries (shared through Redis, persisted-only mode), the document caches, and
the JSON body limit."""

import dataclasses
import hashlib
import json
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, cast

import pytest
from graphql import parse
from httpx import ASGITransport, AsyncClient
from redis.asyncio import Redis
from starlette.routing import Route

from app import persisted
from app.endpoint import GraphQLEndpoint
from app.http import create_app
from app.persisted_store import RedisStore, Store
from app.settings import ConfigError, Settings
from app.validation import BoundedCache, DocumentParseCache
from tests.app.test_redis_buckets import redis_url  # noqa: F401  (a real Redis per module)
from tests.conftest import SETTINGS, codes, token
from tests.serving import free_port

QUERY = "query Persisted { viewer { credential business { name } } }"
SHA = hashlib.sha256(QUERY.encode()).hexdigest()


def _extensions(sha: str = SHA) -> dict[str, object]:
    return {"persistedQuery": {"version": 1, "sha256Hash": sha}}


async def test_hash_only_then_register_then_hash_only(client, world) -> None:
    headers = {"Authorization": f"Bearer {token(world.a, 'admin')}"}
    unknown = await client.post("/graphql", json={"extensions": _extensions()}, headers=headers)
    assert codes(unknown.json()) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert unknown.json()["errors"][0]["message"] == "PersistedQueryNotFound"

    registered = await client.post(
        "/graphql", json={"query": QUERY, "extensions": _extensions()}, headers=headers
    )
    expected = {"data": {"viewer": {"credential": "MEMBER", "business": {"name": "Alpha Ltd"}}}}
    assert registered.json()["data"] == expected["data"]

    by_hash = await client.post("/graphql", json={"extensions": _extensions()}, headers=headers)
    assert by_hash.json()["data"] == expected["data"]
    params = {"extensions": json.dumps(_extensions())}
    assert (await client.get("/graphql", params=params, headers=headers)).json()[
        "data"
    ] == expected["data"]


async def test_a_query_that_does_not_match_its_hash_is_refused(client, world) -> None:
    headers = {"Authorization": f"Bearer {token(world.a, 'admin')}"}
    body = {"query": QUERY + " ", "extensions": _extensions()}
    response = await client.post("/graphql", json=body, headers=headers)
    assert codes(response.json()) == ["BAD_USER_INPUT"]


async def test_persisted_queries_still_need_credentials(client, world) -> None:
    headers = {"Authorization": f"Bearer {token(world.a, 'admin')}"}
    await client.post(
        "/graphql", json={"query": QUERY, "extensions": _extensions()}, headers=headers
    )
    anonymous = await client.post("/graphql", json={"extensions": _extensions()})
    assert codes(anonymous.json()) == ["UNAUTHENTICATED"]


class _CountingCache(BoundedCache[Any, Any]):
    hits = 0

    def get(self, key: Any) -> Any:
        found = super().get(key)
        self.hits += found is not None
        return found


async def test_repeated_documents_are_parsed_once(
    client: AsyncClient, world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # and validated once: tests/app/test_validation.py. Strawberry parses the first request
    # (and caches it); the fast lane then parses it once more to plan it, and serves the
    # rest without parsing
    parsed = _CountingCache(10**6)
    monkeypatch.setattr(DocumentParseCache, "documents", parsed)
    lane_parses: list[str] = []

    def counted(text: str) -> Any:
        lane_parses.append(text)
        return parse(text)

    monkeypatch.setattr("app.lane.parse", counted)
    headers = {"Authorization": f"Bearer {token(world.a, 'admin')}"}
    query = "query Cached { viewer { scopes } }"
    for _ in range(4):
        answer = await client.post("/graphql", json={"query": query}, headers=headers)
        assert "errors" not in answer.json()
    assert len(parsed) == 1 and parsed.hits == 0 and lane_parses == [query]


async def test_json_bodies_over_one_mebibyte_are_refused(client, world) -> None:
    headers = {
        "Authorization": f"Bearer {token(world.a, 'admin')}",
        "Content-Type": "application/json",
    }
    body = json.dumps({"query": "{ viewer { credential } }", "pad": "x" * (1024 * 1024)})
    response = await client.post("/graphql", content=body, headers=headers)
    assert response.status_code == 413
    assert codes(response.json()) == ["BAD_USER_INPUT"]


# --- persisted queries shared through Redis by two workers -------------------------------


@asynccontextmanager
async def _app_client(
    settings: Settings, database_url: str, engine: Any, name: str, *, store: Store | None = None
) -> AsyncIterator[AsyncClient]:
    """Yield a client of a new app (a worker); ``store`` replaces its persisted query store."""
    app = create_app(settings, database_url, engine=engine)
    route = next(r for r in app.routes if isinstance(r, Route) and r.path == "/graphql")
    endpoint = cast(GraphQLEndpoint, route.endpoint)
    if store is not None:
        endpoint.persisted = dataclasses.replace(endpoint.persisted, store=store)
    try:
        async with AsyncClient(transport=ASGITransport(app=app), base_url=f"http://{name}") as c:
            yield c
    finally:
        if isinstance(endpoint.persisted.store, RedisStore):
            await endpoint.persisted.store.redis.aclose()


def _new_query() -> tuple[str, str]:
    query = f"query Fresh{uuid.uuid4().hex} {{ viewer {{ credential }} }}"
    return query, hashlib.sha256(query.encode()).hexdigest()


@pytest.fixture
async def two_workers(
    engine: Any,
    database_url: str,
    redis_url: str,  # noqa: F811
) -> AsyncIterator[tuple[AsyncClient, AsyncClient]]:
    settings = dataclasses.replace(SETTINGS, redis_url=redis_url)
    async with (
        _app_client(settings, database_url, engine, "one") as one,
        _app_client(settings, database_url, engine, "two") as two,
    ):
        yield one, two


async def test_a_query_registered_on_one_worker_runs_by_hash_on_the_other(
    two_workers: tuple[AsyncClient, AsyncClient],
    world: Any,
    redis_url: str,  # noqa: F811
) -> None:
    one, two = two_workers
    headers = {"Authorization": f"Bearer {token(world.a, 'admin')}"}
    query, sha = _new_query()
    body = {"query": query, "extensions": _extensions(sha)}
    assert (await one.post("/graphql", json=body, headers=headers)).json()["data"]
    by_hash = await two.post("/graphql", json={"extensions": _extensions(sha)}, headers=headers)
    assert by_hash.json()["data"] == {"viewer": {"credential": "MEMBER"}}
    redis = Redis.from_url(redis_url)
    try:
        assert await redis.ttl(f"expensegraph:apq:{sha}") > 6 * 24 * 3600
    finally:
        await redis.aclose()


async def test_an_anonymous_registration_is_not_stored(
    two_workers: tuple[AsyncClient, AsyncClient], world: Any
) -> None:
    one, two = two_workers
    query, sha = _new_query()
    anonymous = await one.post("/graphql", json={"query": query, "extensions": _extensions(sha)})
    assert codes(anonymous.json()) == ["UNAUTHENTICATED"]  # ran as a plain request, refused
    headers = {"Authorization": f"Bearer {token(world.a, 'admin')}"}
    for worker in (one, two):
        by_hash = await worker.post(
            "/graphql", json={"extensions": _extensions(sha)}, headers=headers
        )
        assert codes(by_hash.json()) == ["PERSISTED_QUERY_NOT_FOUND"]


async def test_with_redis_down_queries_still_run_and_hashes_are_not_found(
    engine: Any, database_url: str, world: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # only the persisted query store's Redis is down (the rate limits' is app/redis_buckets.py's)
    store = RedisStore(f"redis://127.0.0.1:{free_port()}/0")
    headers = {"Authorization": f"Bearer {token(world.a, 'admin')}"}
    query, sha = _new_query()
    async with _app_client(SETTINGS, database_url, engine, "down", store=store) as down:
        with caplog.at_level(logging.WARNING, logger="expensegraph.persisted"):
            by_hash = await down.post(
                "/graphql", json={"extensions": _extensions(sha)}, headers=headers
            )
            body = {"query": query, "extensions": _extensions(sha)}
            registered = await down.post("/graphql", json=body, headers=headers)
    assert by_hash.status_code == 200
    assert codes(by_hash.json()) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert registered.json()["data"] == {"viewer": {"credential": "MEMBER"}}
    assert len([r for r in caplog.records if r.name == "expensegraph.persisted"]) == 1


# --- persisted-only mode: the manifest is the allow-list ---------------------------------

OTHER = "query Other { viewer { scopes } }"


def _manifest(*bodies: str, **changes: Any) -> dict[str, Any]:
    operations = [
        {"id": hashlib.sha256(b.encode()).hexdigest(), "name": f"Op{i}", "type": "query", "body": b}
        for i, b in enumerate(bodies)
    ]
    return {
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": operations,
    } | changes


def _only(path: Path, **changes: Any) -> Settings:
    return dataclasses.replace(
        SETTINGS, persisted_only=True, persisted_queries_file=path, **changes
    )


@pytest.fixture(scope="module")
def manifest_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("manifest") / "persisted-query-manifest.json"
    path.write_text(json.dumps(_manifest(QUERY, OTHER)))
    return path


@pytest.fixture
async def allow_listed(
    engine: Any, database_url: str, manifest_file: Path
) -> AsyncIterator[AsyncClient]:
    async with _app_client(_only(manifest_file), database_url, engine, "only") as client:
        yield client


EXPECTED = {"viewer": {"credential": "MEMBER", "business": {"name": "Alpha Ltd"}}}


async def test_allow_list_runs_manifest_documents_by_hash_or_text(
    allow_listed: AsyncClient, world: Any
) -> None:
    headers = {"Authorization": f"Bearer {token(world.a, 'admin')}"}
    for body in (
        {"extensions": _extensions()},
        {"query": QUERY},
        {"query": QUERY, "extensions": _extensions()},
    ):
        response = await allow_listed.post("/graphql", json=body, headers=headers)
        assert response.json()["data"] == EXPECTED, body
    by_get = await allow_listed.get("/graphql", params={"query": QUERY}, headers=headers)
    assert by_get.json()["data"] == EXPECTED


async def test_allow_list_refuses_other_text_everywhere(
    allow_listed: AsyncClient, world: Any
) -> None:
    headers = {"Authorization": f"Bearer {token(world.a, 'admin')}"}
    unknown = "query Unknown { viewer { credential } }"
    answers = [
        await allow_listed.post("/graphql", json={"query": unknown}, headers=headers),
        await allow_listed.post("/graphql", json={"query": QUERY + " "}, headers=headers),
        await allow_listed.get("/graphql", params={"query": unknown}, headers=headers),
        await allow_listed.post(
            "/graphql",
            files={"operations": (None, json.dumps({"query": unknown})), "map": (None, "{}")},
            headers={**headers, "GraphQL-Preflight": "1"},
        ),
    ]
    for answer in answers:
        assert answer.status_code == 200
        assert answer.json()["data"] is None and codes(answer.json()) == ["FORBIDDEN"]
        assert "persisted-only mode" in answer.json()["errors"][0]["message"]
    batch = await allow_listed.post("/graphql", json=[{"query": QUERY}], headers=headers)
    assert codes(batch.json()) == ["BAD_USER_INPUT"]


async def test_allow_list_refuses_apq_registration(allow_listed: AsyncClient, world: Any) -> None:
    headers = {"Authorization": f"Bearer {token(world.a, 'admin')}"}
    query, sha = _new_query()
    registering = await allow_listed.post(
        "/graphql", json={"query": query, "extensions": _extensions(sha)}, headers=headers
    )
    assert codes(registering.json()) == ["FORBIDDEN"]
    assert "does not register" in registering.json()["errors"][0]["message"]
    by_hash = await allow_listed.post(
        "/graphql", json={"extensions": _extensions(sha)}, headers=headers
    )
    assert codes(by_hash.json()) == ["FORBIDDEN"]


async def test_allow_list_leaves_introspection_to_its_setting(
    engine: Any, database_url: str, manifest_file: Path, world: Any
) -> None:
    headers = {"Authorization": f"Bearer {token(world.a, 'admin')}"}
    introspection = "{ __schema { queryType { name } } }"
    mixed = "{ __typename ...F } fragment F on Query { viewer { credential } }"
    for enabled in (True, False):
        settings = _only(manifest_file, introspection=enabled)
        async with _app_client(settings, database_url, engine, "only") as client:
            answer = await client.post("/graphql", json={"query": introspection}, headers=headers)
            refused = await client.post("/graphql", json={"query": mixed}, headers=headers)
        if enabled:
            assert answer.json()["data"] == {"__schema": {"queryType": {"name": "Query"}}}
        else:
            assert codes(answer.json()) == ["FORBIDDEN"]
        assert codes(refused.json()) == ["FORBIDDEN"]


async def test_a_manifest_upload_operation_runs_with_its_text(
    allow_listed: AsyncClient, world: Any
) -> None:
    headers = {"Authorization": f"Bearer {token(world.a, 'admin')}", "GraphQL-Preflight": "1"}
    form = {"operations": (None, json.dumps({"query": QUERY})), "map": (None, "{}")}
    answer = await allow_listed.post("/graphql", files=form, headers=headers)
    assert answer.json()["data"] == EXPECTED


@pytest.mark.parametrize(
    ("content", "advice"),
    [
        (None, "cannot be read"),
        ("{not json", "is not JSON"),
        (json.dumps({"operations": []}), '"format": "apollo-persisted-query-manifest"'),
        (json.dumps(_manifest()), "lists no operations"),
        (json.dumps(_manifest(QUERY) | {"operations": [{"id": SHA}]}), 'needs a "body"'),
        (
            json.dumps(
                _manifest() | {"operations": [{"id": "0" * 64, "name": "Persisted", "body": QUERY}]}
            ),
            f"operations[0] (Persisted): \"id\" is '{'0' * 64}', but the sha256 of its body is {SHA}",
        ),
        (json.dumps(_manifest("query {")), "the body is not a GraphQL document"),
        (
            json.dumps(
                _manifest(QUERY) | {"operations": [{"id": SHA, "type": "query!", "body": QUERY}]}
            ),
            '"type" is',
        ),
    ],
)
def test_a_bad_manifest_is_a_config_error_saying_what_to_fix(
    tmp_path: Path, content: str | None, advice: str
) -> None:
    path = tmp_path / "manifest.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError) as raised:
        persisted.from_settings(_only(path))
    assert advice in str(raised.value)
    assert "EXPENSEGRAPH_PERSISTED_QUERIES_FILE" in str(raised.value)


def test_persisted_only_without_a_manifest_is_a_config_error(database_url: str) -> None:
    with pytest.raises(
        ConfigError,
        match="EXPENSEGRAPH_PERSISTED_ONLY=true needs EXPENSEGRAPH_PERSISTED_QUERIES_FILE",
    ):
        create_app(dataclasses.replace(SETTINGS, persisted_only=True), database_url)


def test_the_settings_come_from_the_environment(tmp_path: Path) -> None:
    env = {
        "EXPENSEGRAPH_DATA_DIR": str(tmp_path),
        "EXPENSEGRAPH_JWT_SECRET": "s" * 40,
        "EXPENSEGRAPH_PERSISTED_ONLY": "true",
        "EXPENSEGRAPH_PERSISTED_QUERIES_FILE": str(tmp_path / "m.json"),
    }
    settings = Settings.from_env(env)
    assert settings.persisted_only and settings.persisted_queries_file == tmp_path / "m.json"
    defaults = Settings.from_env(
        {"EXPENSEGRAPH_DATA_DIR": str(tmp_path), "EXPENSEGRAPH_JWT_SECRET": "s" * 40}
    )
    assert not defaults.persisted_only and defaults.persisted_queries_file is None
    with pytest.raises(ConfigError, match="EXPENSEGRAPH_PERSISTED_ONLY must be true or false"):
        Settings.from_env(env | {"EXPENSEGRAPH_PERSISTED_ONLY": "maybe"})
