"""The base every loader shares: its request's database handle and visibility, a batch cap."""

import asyncio
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from typing import Any, TypeVar

from aiodataloader import DataLoader

from db.engine import RequestDb
from db.visibility import Visibility

# False only to measure what batching saves (bench/): each key then costs a statement.
BATCHING: ContextVar[bool] = ContextVar("loader_batching", default=True)

# set by the app to count batch sizes in its metrics
BATCH_OBSERVER: Callable[[str, int], None] | None = None

_NONE: Any = object()
K = TypeVar("K")
V = TypeVar("V")


class TenantLoader(DataLoader[K, V]):
    """A DataLoader bound to one request: its connection, and the visibility every batch filters by.

    Built per request (aiodataloader binds the running event loop at construction, and
    a loader shared across requests would serve one tenant's cached rows to another).
    """

    # asyncpg caps bind parameters and huge arrays make slow plans: split big batches
    max_batch_size = 1000

    def __init__(self, *, db: RequestDb, visibility: Visibility) -> None:
        super().__init__(batch=BATCHING.get())
        self._primed: dict[K, V] = {}
        self.db = db
        self.visibility = visibility
        observer, load = BATCH_OBSERVER, self.batch_load_fn
        if observer is not None:
            name = type(self).__name__

            async def observed(keys: list[K]) -> list[V]:
                observer(name, len(keys))
                return await load(keys)

            self.batch_load_fn = observed  # type: ignore[method-assign]

    async def batch_load_fn(self, keys: list[K]) -> list[V]:  # pragma: no cover - abstract
        raise NotImplementedError

    def prime(self, key: K, value: V) -> "TenantLoader[K, V]":
        """Remember ``value`` for ``key`` unless one is cached; its future is made when asked.

        A list page primes every row it returns, and most are never asked for again.
        """
        if key not in self._cache:
            self._primed.setdefault(key, value)
        return self

    def clear(self, key: K) -> "TenantLoader[K, V]":
        self._primed.pop(key, None)
        return super().clear(key)

    def load(self, key: K) -> "asyncio.Future[V]":
        if self._primed:
            primed = self._primed.pop(key, _NONE)
            if primed is not _NONE:
                super().prime(key, primed)
        return super().load(key)

    async def load_all(self, keys: Iterable[K]) -> list[V]:
        """Return what ``load_many`` returns, without its task and callbacks for each key.

        A key whose value is cached costs a dict lookup (its future is done). The others
        join the batch queue as ``load`` leaves them, so loads of other fields in the same
        tick still share the statement; their futures are then awaited in turn (once their
        batch is in they are all done, so only the first one waits).
        """
        cached = self._cache  # aiodataloader's: key -> the future of its value
        futures: list[asyncio.Future[V]] = []
        pending = False
        for key in keys:
            future = cached.get(key)
            if future is None or not future.done():
                future = self.load(key)
                pending = pending or not future.done()
            futures.append(future)
        if not pending:
            return [future.result() for future in futures]
        values: list[V] = []
        try:
            for future in futures:
                values.append(await future)
        except BaseException:
            for future in futures:  # retrieved, so asyncio logs no "never retrieved"
                if future.done() and not future.cancelled():
                    future.exception()
            raise
        return values


def ordered(by_key: Mapping[Any, Any], keys: list[Any], default: Any = None) -> list[Any]:
    """Return the batch result: one value per key, in key order."""
    return [by_key.get(key, default) for key in keys]
