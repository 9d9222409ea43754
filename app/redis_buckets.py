"""Rate-limit buckets in Redis, shared by every worker and replica (EXPENSEGRAPH_REDIS_URL).

One Lua script reads, refills and debits a bucket atomically, on Redis's own clock, so
replicas with skewed clocks still agree.
"""

from typing import Any

from redis.asyncio import Redis

from app.limits import LimitSettings

# KEYS[1] bucket; ARGV: capacity, restore rate per second, cost (negative: refund)
_SCRIPT = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'points', 'at')
local points = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
points = math.min(capacity, points + (now - at) * rate)
local wait = 0
if cost > points then
  wait = (cost - points) / rate
else
  points = math.min(capacity, points - cost)
end
redis.call('HSET', KEYS[1], 'points', tostring(points), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(capacity / rate) + 60)
return {tostring(points), tostring(wait)}
"""


class RedisBuckets:
    """Leaky buckets per credential in Redis; same behaviour as app.limits.LeakyBuckets."""

    def __init__(
        self, limits: LimitSettings, url: str, prefix: str = "expensegraph:bucket:"
    ) -> None:
        self.limits, self.prefix = limits, prefix
        self.redis: Redis = Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        self._script: Any = self.redis.register_script(_SCRIPT)

    async def _run(self, key: str, cost: float) -> tuple[float, float]:
        args = [self.limits.bucket_size, self.limits.restore_rate, cost]
        points, wait = await self._script(keys=[self.prefix + key], args=args)
        return float(points), float(wait)

    async def available(self, key: str) -> float:
        """Return the points the credential has now."""
        return (await self._run(key, 0))[0]

    async def take(self, key: str, cost: int) -> float | None:
        """Debit ``cost``; return None if done, else the seconds until it would fit."""
        _, wait = await self._run(key, cost)
        return wait if wait > 0 else None

    async def refund(self, key: str, points: int) -> None:
        """Give back what was debited but not used."""
        if points > 0:
            await self._run(key, -points)
