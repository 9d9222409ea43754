"""Where automatic persisted queries are kept: in this process, or in Redis for all workers.

Both stores are bounded: the in-process one in entries and in bytes, the Redis one by a
value cap and a TTL (Redis's own ``maxmemory`` policy bounds the rest). A store never
raises for a backend failure: a miss only costs the client one round trip with the
full query text.
"""

import logging
import time
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from app.settings import Settings
from execution.cache import BoundedCache

log = logging.getLogger("expensegraph.persisted")

# the largest query a client may register (and the largest value kept in Redis)
MAX_QUERY_BYTES = 100_000
DEFAULT_MAX_ENTRIES = 10_000
DEFAULT_MAX_BYTES = 32 * 1024 * 1024
# a dict slot, the key string and the str header of the value, roughly
ENTRY_OVERHEAD_BYTES = 200
REDIS_PREFIX = "expensegraph:apq:"
REDIS_TTL_S = 7 * 24 * 3600
# after a Redis failure: skip Redis this long, and log at most one warning per interval
REDIS_RETRY_S = 5.0
REDIS_WARN_EVERY_S = 60.0


class Store(Protocol):
    """sha256 hex of a query -> the query text."""

    async def get(self, sha: str) -> str | None:
        """Return the query stored under ``sha``, or None."""
        ...

    async def put(self, sha: str, query: str) -> None:
        """Remember ``query`` under its hash (the caller has checked that they match)."""
        ...


class MemoryStore:
    """An LRU in this process, bounded in entries and in total bytes."""

    def __init__(
        self, *, max_entries: int = DEFAULT_MAX_ENTRIES, max_bytes: int = DEFAULT_MAX_BYTES
    ) -> None:
        self._queries: BoundedCache[str, str] = BoundedCache(
            max_bytes, ENTRY_OVERHEAD_BYTES, max_entries
        )

    def __len__(self) -> int:
        return len(self._queries)

    @property
    def bytes(self) -> int:
        """Return what the stored queries take, with each entry's overhead."""
        return self._queries.bytes

    async def get(self, sha: str) -> str | None:
        """Return the query stored under ``sha``, marking it recently used."""
        return self._queries.get(sha)

    async def put(self, sha: str, query: str) -> None:
        """Remember ``query``, evicting the least recently used until both bounds hold."""
        length = len(query.encode())
        if length <= MAX_QUERY_BYTES:
            self._queries.put(sha, query, length)


class RedisStore:
    """Queries in Redis, shared by every worker and replica; each use renews the TTL."""

    def __init__(self, url: str, *, prefix: str = REDIS_PREFIX, ttl_s: int = REDIS_TTL_S) -> None:
        self.prefix, self.ttl_s = prefix, ttl_s
        self.redis: Redis = Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        self._skip_until = 0.0
        self._warned_at: float | None = None

    async def get(self, sha: str) -> str | None:
        """Return the query under ``sha`` and renew its TTL; None when absent or unreachable."""
        if time.monotonic() < self._skip_until:
            return None
        key = self.prefix + sha
        try:
            # one round trip; GET then EXPIRE rather than GETEX, which needs Redis 6.2
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.get(key)
                pipe.expire(key, self.ttl_s)
                value, _ = await pipe.execute()
        except (RedisError, OSError) as error:
            self._failed(error)
            return None
        return value.decode() if isinstance(value, bytes) else None

    async def put(self, sha: str, query: str) -> None:
        """Store ``query`` under ``sha`` for the TTL; does nothing when Redis is unreachable."""
        value = query.encode()
        if len(value) > MAX_QUERY_BYTES or time.monotonic() < self._skip_until:
            return
        try:
            await self.redis.set(self.prefix + sha, value, ex=self.ttl_s)
        except (RedisError, OSError) as error:
            self._failed(error)

    def _failed(self, error: BaseException) -> None:
        # the request goes on without the store: the client resends the full query
        now = time.monotonic()
        self._skip_until = now + REDIS_RETRY_S
        if self._warned_at is None or now - self._warned_at >= REDIS_WARN_EVERY_S:
            self._warned_at = now
            log.warning(
                "persisted queries: Redis unavailable, answering without it for %.0f s: %r",
                REDIS_RETRY_S,
                error,
            )


def make_store(settings: Settings) -> Store:
    """Return the Redis store when ``settings.redis_url`` is set, else an in-process one."""
    if settings.redis_url:
        return RedisStore(settings.redis_url)
    return MemoryStore()
