"""app/validation.py: a repeated document is validated once, and its errors are kept."""

from collections import OrderedDict
from typing import Any

import httpx
import pytest

from app import validation
from tests.conftest import codes, gql, gql_raw, token


@pytest.fixture
def validations(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Record every document graphql-core is asked to validate."""
    seen: list[Any] = []
    original = validation.validate_document

    def counted(schema: Any, document: Any, rules: Any) -> Any:
        seen.append(document)
        return original(schema, document, rules)

    monkeypatch.setattr(validation, "validate_document", counted)
    return seen


async def test_a_repeated_document_is_validated_once(client: httpx.AsyncClient, world: Any,
                                                     validations: list[Any]) -> None:  # fmt: skip
    as_ = token(world.a, "admin")
    query = "query Once { viewer { credential } }"
    for _ in range(3):
        assert await gql(client, query, as_=as_) == {"viewer": {"credential": "MEMBER"}}
    assert len(validations) == 1
    await gql(client, "query Other { viewer { credential } }", as_=as_)
    assert len(validations) == 2 and validations[0] is not validations[1]


async def test_validation_errors_are_answered_every_time(client: httpx.AsyncClient, world: Any,
                                                         validations: list[Any]) -> None:  # fmt: skip
    as_ = token(world.a, "admin")
    for _ in range(2):
        body = (await gql_raw(client, "{ viewer { noSuchField } }", as_=as_)).json()
        assert body.get("data") is None and codes(body) == ["BAD_USER_INPUT"], body
    assert len(validations) == 1


async def test_the_cache_is_bounded(client: httpx.AsyncClient, world: Any,
                                    monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    entries: OrderedDict[Any, Any] = OrderedDict()
    monkeypatch.setattr(validation.DocumentValidationCache, "_entries", entries)
    monkeypatch.setattr("app.http.DOCUMENT_CACHE_SIZE", 3)
    as_ = token(world.a, "admin")
    for i in range(6):
        await gql(client, f"query Q{i} {{ viewer {{ credential }} }}", as_=as_)
    assert len(entries) == 3
