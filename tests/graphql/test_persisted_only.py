"""Persisted-only mode: the manifest is the allow-list, and a bad manifest or setting is a
configuration error saying what to fix."""

import dataclasses
import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from httpx import AsyncClient

from app import persisted
from app.http import create_app
from app.settings import ConfigError, Settings
from tests.conftest import SETTINGS, codes, token
from tests.graphql.helpers_persisted import QUERY, SHA, extensions, new_query, worker_client

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
    async with worker_client(_only(manifest_file), database_url, engine, "only") as client:
        yield client


EXPECTED = {"viewer": {"credential": "MEMBER", "business": {"name": "Alpha Ltd"}}}


async def test_allow_list_runs_manifest_documents_by_hash_or_text(
    allow_listed: AsyncClient, world: Any
) -> None:
    headers = {"Authorization": f"Bearer {token(world.a, 'admin')}"}
    for body in (
        {"extensions": extensions()},
        {"query": QUERY},
        {"query": QUERY, "extensions": extensions()},
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
    query, sha = new_query()
    registering = await allow_listed.post(
        "/graphql", json={"query": query, "extensions": extensions(sha)}, headers=headers
    )
    assert codes(registering.json()) == ["FORBIDDEN"]
    assert "does not register" in registering.json()["errors"][0]["message"]
    by_hash = await allow_listed.post(
        "/graphql", json={"extensions": extensions(sha)}, headers=headers
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
        async with worker_client(settings, database_url, engine, "only") as client:
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
