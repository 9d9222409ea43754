"""app/validation.py: a repeated document is parsed and validated once, its errors are kept,
and both caches are bounded by the bytes of the texts they hold."""

from typing import Any

import httpx
import pytest

from app import validation
from app.validation import BoundedCache, DocumentParseCache, DocumentValidationCache
from tests.conftest import codes, gql, gql_raw, token


@pytest.fixture
def validations(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Record every document graphql-core is asked to validate."""
    seen: list[Any] = []
    original = validation.validate_document

    def counted(schema: Any, document: Any, rules: Any, **options: Any) -> Any:
        seen.append(document)
        return original(schema, document, rules, **options)

    monkeypatch.setattr(validation, "validate_document", counted)
    return seen


@pytest.fixture
def small_caches(monkeypatch: pytest.MonkeyPatch) -> tuple[BoundedCache[Any, Any], ...]:
    """Give both caches a fresh store of 3 entries' worth of bytes (no entry overhead)."""
    parsed: BoundedCache[Any, Any] = BoundedCache(3 * len(_numbered(0)), entry_overhead=0)
    validated: BoundedCache[Any, Any] = BoundedCache(3 * len(_numbered(0)), entry_overhead=0)
    monkeypatch.setattr(DocumentParseCache, "documents", parsed)
    monkeypatch.setattr(DocumentValidationCache, "entries", validated)
    return parsed, validated


def _numbered(i: int) -> str:
    return f"query Q{i} {{ viewer {{ credential }} }}"


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


async def test_the_caches_are_bounded_in_bytes(client: httpx.AsyncClient, world: Any,
                                               small_caches: tuple[Any, ...]) -> None:  # fmt: skip
    parsed, validated = small_caches
    as_ = token(world.a, "admin")
    for i in range(6):
        await gql(client, _numbered(i), as_=as_)
    assert len(parsed) == len(validated) == 3
    assert parsed.bytes == validated.bytes == 3 * len(_numbered(0))
    # the least recently used went first: Q3..Q5 are kept
    assert {key[0] for key in parsed._entries} == {_numbered(i) for i in (3, 4, 5)}


async def test_a_document_bigger_than_the_cache_is_not_kept(client: httpx.AsyncClient,
                                                            world: Any,
                                                            small_caches: tuple[Any, ...]) -> None:  # fmt: skip
    parsed, validated = small_caches
    await gql(client, _numbered(7), as_=token(world.a, "admin"))
    padded = "# " + "x" * 200 + "\n" + _numbered(8)
    await gql(client, padded, as_=token(world.a, "admin"))
    assert len(parsed) == len(validated) == 1


def test_bounded_cache_evicts_by_bytes_least_recently_used_first() -> None:
    cache: BoundedCache[str, int] = BoundedCache(10, entry_overhead=1)
    cache.put("a", 1, 4)  # 5 bytes with its overhead
    cache.put("b", 2, 4)
    assert cache.get("a") == 1  # b is now the least recently used
    cache.put("c", 3, 2)
    assert "b" not in cache and cache.get("a") == 1 and cache.get("c") == 3
    assert cache.bytes == 8
    cache.put("a", 4, 0)  # replacing an entry counts its new size only
    assert cache.bytes == 4 and cache.get("a") == 4
    cache.put("huge", 5, 100)
    assert "huge" not in cache and len(cache) == 2
