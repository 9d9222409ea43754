"""Persisted query stores: bounded in process, shared and expiring in a real Redis."""

import dataclasses
import hashlib
import logging
import uuid

import pytest

from app.persisted_store import (
    ENTRY_OVERHEAD_BYTES,
    MAX_QUERY_BYTES,
    REDIS_PREFIX,
    REDIS_TTL_S,
    MemoryStore,
    RedisStore,
    make_store,
)
from tests.app.test_redis_buckets import redis_url  # noqa: F401  (a real Redis per module)
from tests.conftest import SETTINGS
from tests.serving import free_port


def _query(size: int = 1000) -> tuple[str, str]:
    """Return a distinct query of ``size`` bytes and its sha256 hex."""
    text = f"query Q{uuid.uuid4().hex} {{ viewer {{ credential }} }}"
    text += "#" * (size - len(text))
    return hashlib.sha256(text.encode()).hexdigest(), text


async def test_memory_store_is_bounded_in_bytes_least_recently_used_first() -> None:
    entry = 10_000 + ENTRY_OVERHEAD_BYTES
    store = MemoryStore(max_bytes=3 * entry)
    (sha1, q1), (sha2, q2), (sha3, q3), (sha4, q4) = (_query(10_000) for _ in range(4))
    for sha, query in ((sha1, q1), (sha2, q2), (sha3, q3)):
        await store.put(sha, query)
    assert await store.get(sha1) == q1  # now the most recently used
    await store.put(sha4, q4)
    assert await store.get(sha2) is None
    assert [await store.get(s) for s in (sha1, sha3, sha4)] == [q1, q3, q4]
    assert store.bytes == 3 * entry


async def test_the_default_memory_store_holds_32_mib_of_the_largest_queries() -> None:
    store = MemoryStore()
    for _ in range(400):  # 400 x 99 KB: 38 MiB offered
        await store.put(*_query(99_000))
    assert store.bytes <= 32 * 1024 * 1024
    assert len(store) == (32 * 1024 * 1024) // (99_000 + ENTRY_OVERHEAD_BYTES)


async def test_memory_store_is_bounded_in_entries_and_skips_oversized_queries() -> None:
    store = MemoryStore(max_entries=2, max_bytes=50_000)
    first, *rest = [_query(100) for _ in range(3)]
    for sha, query in (first, *rest):
        await store.put(sha, query)
    assert len(store) == 2 and await store.get(first[0]) is None
    await store.put(*_query(60_000))  # larger than the whole store
    await store.put(*_query(MAX_QUERY_BYTES + 1))
    assert len(store) == 2


async def test_redis_store_shares_queries_with_a_ttl_renewed_on_use(redis_url: str) -> None:  # noqa: F811
    one, two = RedisStore(redis_url), RedisStore(redis_url)
    try:
        sha, query = _query()
        assert await two.get(sha) is None
        await one.put(sha, query)
        assert await two.get(sha) == query
        key = REDIS_PREFIX + sha
        assert REDIS_TTL_S - 5 <= await one.redis.ttl(key) <= REDIS_TTL_S
        await one.redis.expire(key, 10)
        assert await two.get(sha) == query
        assert await one.redis.ttl(key) > REDIS_TTL_S - 5
    finally:
        await one.redis.aclose()
        await two.redis.aclose()


async def test_redis_store_refuses_values_over_the_query_limit(redis_url: str) -> None:  # noqa: F811
    store = RedisStore(redis_url)
    try:
        sha, query = _query(MAX_QUERY_BYTES + 1)
        await store.put(sha, query)
        assert await store.redis.exists(REDIS_PREFIX + sha) == 0
        sha, query = _query(MAX_QUERY_BYTES)
        await store.put(sha, query)
        assert await store.get(sha) == query
    finally:
        await store.redis.aclose()


async def test_redis_down_is_a_miss_with_one_warning(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = RedisStore(f"redis://127.0.0.1:{free_port()}/0")
    sha, query = _query()
    with caplog.at_level(logging.WARNING, logger="expensegraph.persisted"):
        assert await store.get(sha) is None
        pool = store.redis.connection_pool
        connects = 0
        get_connection = pool.get_connection

        async def counted(*args, **kwargs):
            nonlocal connects
            connects += 1
            return await get_connection(*args, **kwargs)

        monkeypatch.setattr(pool, "get_connection", counted)
        await store.put(sha, query)  # skipped: Redis failed a moment ago
        assert await store.get(sha) is None
        assert connects == 0
    warnings = [r for r in caplog.records if r.name == "expensegraph.persisted"]
    assert len(warnings) == 1 and "Redis unavailable" in warnings[0].getMessage()
    assert "\n" not in warnings[0].getMessage() and warnings[0].exc_info is None
    await store.redis.aclose()


def test_make_store_uses_redis_when_a_url_is_set() -> None:
    assert isinstance(make_store(SETTINGS), MemoryStore)
    store = make_store(dataclasses.replace(SETTINGS, redis_url="redis://127.0.0.1:1/0"))
    assert isinstance(store, RedisStore) and store.prefix == "expensegraph:apq:"
