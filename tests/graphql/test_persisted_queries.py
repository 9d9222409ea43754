"""Automatic persisted queries, the document caches, and the JSON body limit."""

import hashlib
import json

from strawberry.extensions.parser_cache import _get_parse_cache

from app.http import DOCUMENT_CACHE_SIZE
from tests.conftest import codes, token

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


async def test_repeated_documents_are_parsed_once(client, world) -> None:
    # and validated once: tests/app/test_validation.py
    headers = {"Authorization": f"Bearer {token(world.a, 'admin')}"}
    query = "query Cached { viewer { scopes } }"
    parse_hits = _get_parse_cache(DOCUMENT_CACHE_SIZE).cache_info().hits
    for _ in range(3):
        assert (
            "errors"
            not in (await client.post("/graphql", json={"query": query}, headers=headers)).json()
        )
    assert _get_parse_cache(DOCUMENT_CACHE_SIZE).cache_info().hits >= parse_hits + 2


async def test_json_bodies_over_one_mebibyte_are_refused(client, world) -> None:
    headers = {
        "Authorization": f"Bearer {token(world.a, 'admin')}",
        "Content-Type": "application/json",
    }
    body = json.dumps({"query": "{ viewer { credential } }", "pad": "x" * (1024 * 1024)})
    response = await client.post("/graphql", content=body, headers=headers)
    assert response.status_code == 413
    assert codes(response.json()) == ["BAD_USER_INPUT"]
