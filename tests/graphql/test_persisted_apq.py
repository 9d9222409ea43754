"""Automatic persisted queries (registered, then run by hash; shared through Redis by two
workers), the document caches, and the JSON body limit."""

import dataclasses
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from graphql import parse
from httpx import AsyncClient
from redis.asyncio import Redis

from app.persisted_store import RedisStore
from app.validation import BoundedCache, DocumentParseCache
from tests.app.test_redis_buckets import redis_url  # noqa: F401  (a real Redis per module)
from tests.conftest import SETTINGS, codes, token
from tests.graphql.helpers_persisted import QUERY, extensions, new_query, worker_client
from tests.serving import free_port


async def test_hash_only_then_register_then_hash_only(client, world) -> None:
    headers = {"Authorization": f"Bearer {token(world.a, 'admin')}"}
    unknown = await client.post("/graphql", json={"extensions": extensions()}, headers=headers)
    assert codes(unknown.json()) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert unknown.json()["errors"][0]["message"] == "PersistedQueryNotFound"

    registered = await client.post(
        "/graphql", json={"query": QUERY, "extensions": extensions()}, headers=headers
    )
    expected = {"data": {"viewer": {"credential": "MEMBER", "business": {"name": "Alpha Ltd"}}}}
    assert registered.json()["data"] == expected["data"]

    by_hash = await client.post("/graphql", json={"extensions": extensions()}, headers=headers)
    assert by_hash.json()["data"] == expected["data"]
    params = {"extensions": json.dumps(extensions())}
    assert (await client.get("/graphql", params=params, headers=headers)).json()[
        "data"
    ] == expected["data"]


async def test_a_query_that_does_not_match_its_hash_is_refused(client, world) -> None:
    headers = {"Authorization": f"Bearer {token(world.a, 'admin')}"}
    body = {"query": QUERY + " ", "extensions": extensions()}
    response = await client.post("/graphql", json=body, headers=headers)
    assert codes(response.json()) == ["BAD_USER_INPUT"]


async def test_persisted_queries_still_need_credentials(client, world) -> None:
    headers = {"Authorization": f"Bearer {token(world.a, 'admin')}"}
    await client.post(
        "/graphql", json={"query": QUERY, "extensions": extensions()}, headers=headers
    )
    anonymous = await client.post("/graphql", json={"extensions": extensions()})
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


@pytest.fixture
async def two_workers(
    engine: Any,
    database_url: str,
    redis_url: str,  # noqa: F811
) -> AsyncIterator[tuple[AsyncClient, AsyncClient]]:
    settings = dataclasses.replace(SETTINGS, redis_url=redis_url)
    async with (
        worker_client(settings, database_url, engine, "one") as one,
        worker_client(settings, database_url, engine, "two") as two,
    ):
        yield one, two


async def test_a_query_registered_on_one_worker_runs_by_hash_on_the_other(
    two_workers: tuple[AsyncClient, AsyncClient],
    world: Any,
    redis_url: str,  # noqa: F811
) -> None:
    one, two = two_workers
    headers = {"Authorization": f"Bearer {token(world.a, 'admin')}"}
    query, sha = new_query()
    body = {"query": query, "extensions": extensions(sha)}
    assert (await one.post("/graphql", json=body, headers=headers)).json()["data"]
    by_hash = await two.post("/graphql", json={"extensions": extensions(sha)}, headers=headers)
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
    query, sha = new_query()
    anonymous = await one.post("/graphql", json={"query": query, "extensions": extensions(sha)})
    assert codes(anonymous.json()) == ["UNAUTHENTICATED"]  # ran as a plain request, refused
    headers = {"Authorization": f"Bearer {token(world.a, 'admin')}"}
    for worker in (one, two):
        by_hash = await worker.post(
            "/graphql", json={"extensions": extensions(sha)}, headers=headers
        )
        assert codes(by_hash.json()) == ["PERSISTED_QUERY_NOT_FOUND"]


async def test_with_redis_down_queries_still_run_and_hashes_are_not_found(
    engine: Any, database_url: str, world: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # only the persisted query store's Redis is down (the rate limits' is app/redis_buckets.py's)
    store = RedisStore(f"redis://127.0.0.1:{free_port()}/0")
    headers = {"Authorization": f"Bearer {token(world.a, 'admin')}"}
    query, sha = new_query()
    async with worker_client(SETTINGS, database_url, engine, "down", store=store) as down:
        with caplog.at_level(logging.WARNING, logger="expensegraph.persisted"):
            by_hash = await down.post(
                "/graphql", json={"extensions": extensions(sha)}, headers=headers
            )
            body = {"query": query, "extensions": extensions(sha)}
            registered = await down.post("/graphql", json=body, headers=headers)
    assert by_hash.status_code == 200
    assert codes(by_hash.json()) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert registered.json()["data"] == {"viewer": {"credential": "MEMBER"}}
    assert len([r for r in caplog.records if r.name == "expensegraph.persisted"]) == 1
