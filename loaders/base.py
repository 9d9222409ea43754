"""The base every loader shares: its request's database handle and visibility, a batch cap."""

import asyncio
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextvars import ContextVar
from typing import Any, TypeVar, overload

from aiodataloader import DataLoader

from db.engine import RequestDb
from db.sent_together import Following, KeyedRead
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
        # aiodataloader's DataLoader.__init__ (0.4.3), less what it checks of the class on
        # every construction (inspect): a request makes one loader per table it reads
        self.loop = asyncio.get_running_loop()
        self.batch = BATCHING.get()
        self._cache = {}
        self._queue: list[Any] = []
        self._primed: dict[K, V] = {}  # values without a future yet (``load`` makes one)
        # the keys load_all asked for in this tick, the future of their batch's values, and
        # the reads of the next level to send with it (db/sent_together.py)
        self._batch: tuple[dict[K, None], asyncio.Future[dict[K, V]], list[Following]] | None = None
        self._loading: dict[K, asyncio.Future[dict[K, V]]] = {}  # load_all's keys in flight
        self.db = db
        self.visibility = visibility

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Count the sizes of the batches of every loader that defines its own batch function."""
        super().__init_subclass__(**kwargs)
        load = cls.__dict__.get("batch_load_fn")
        if load is None:
            return

        async def batch_load_fn(self: TenantLoader[K, V], keys: list[K]) -> list[V]:
            if not keys:  # aiodataloader's dispatch of a queue load_all's batch took
                return []
            if BATCH_OBSERVER is not None:
                BATCH_OBSERVER(type(self).__name__, len(keys))
            return await load(self, keys)  # type: ignore[no-any-return]

        cls.batch_load_fn = batch_load_fn  # type: ignore[method-assign]

    @staticmethod
    def get_cache_key(key: K) -> K:
        return key

    async def batch_load_fn(self, keys: list[K]) -> list[V]:  # pragma: no cover - abstract
        raise NotImplementedError

    def prime(self, key: K, value: V) -> "TenantLoader[K, V]":
        """Remember ``value`` for ``key`` unless one is cached; its future is made when asked.

        A list page primes every row it returns, and most are never asked for again.
        """
        if key not in self._cache:
            self._primed.setdefault(key, value)
        return self

    def prime_many(self, values: Iterable[tuple[K, V]]) -> None:
        """:meth:`prime` each (key, value), in one call: a list page primes fifty rows."""
        cache, primed = self._cache, self._primed
        if not cache and not primed:  # a fresh loader: nothing to keep
            primed.update(values)
            return
        for key, value in values:
            if key not in cache:
                primed.setdefault(key, value)

    def followed(
        self,
        table: str,
        column: str,
        read: KeyedRead,
        values: Callable[[Sequence[Any], list[Any]], Mapping[K, V]],
    ) -> Following | None:
        """Return ``read`` (this loader's batch) following a read of ``table`` whose ``column``
        holds its keys (db/sent_together.py): ``values(rows, column's values)``, the value of
        each key of this loader they make, primes this loader. None when not batching."""
        if not self.batch:  # measuring what batching saves: each key is loaded alone
            return None

        def answer(keys: list[Any], rows: Sequence[Any]) -> None:
            if BATCH_OBSERVER is not None:  # a batch of this loader's, sent early
                BATCH_OBSERVER(type(self).__name__, len(keys))
            self.prime_many(values(rows, keys).items())

        return Following(table, column, read, answer)

    def clear(self, key: K) -> "TenantLoader[K, V]":
        self._primed.pop(key, None)
        self._loading.pop(key, None)
        return super().clear(key)

    def load(self, key: K) -> "asyncio.Future[V]":
        if self._primed:
            primed = self._primed.pop(key, _NONE)
            if primed is not _NONE:
                super().prime(key, primed)
        return super().load(key)

    async def load_all(self, keys: Iterable[K]) -> list[V]:
        """Return what ``load_many`` returns, without a future, a task or a callback per key.

        Cached keys cost a dict lookup. The others join this tick's batch (one future for
        all of them), dispatched as aiodataloader dispatches its queue, and with whatever
        ``load`` queued meanwhile: the loads of other fields in the same tick, planned or
        resolved by strawberry, still share one statement.
        """
        keys = list(keys)
        if not self.batch:  # measuring what batching saves: aiodataloader, key by key
            return await self._load_each(keys)
        cache, primed, loading = self._cache, self._primed, self._loading
        if not (cache or primed or loading or self._queue):  # a fresh loader: all keys new
            loaded = await self._join(keys)
            return [loaded[key] for key in keys]
        if primed and not cache:
            try:  # all primed: the level above read them with its own (db/sent_together.py)
                return list(map(primed.__getitem__, keys))
            except KeyError:
                pass
        batches: dict[K, asyncio.Future[dict[K, V]]] = {}  # keys a batch of load_all loads
        new: list[K] = []
        for key in keys:
            if key in primed or key in cache:
                continue
            batch = loading.get(key)  # asked for by another load_all of this tick
            if batch is None:
                new.append(key)
            else:
                batches[key] = batch
        if new:
            if self._queue:  # aiodataloader's dispatch is already due: join its batch
                return await self._load_each(keys)
            batches.update(dict.fromkeys(new, self._join(new)))
        for batch in set(batches.values()):  # one wait per batch, not per key
            await batch
        found = {key: batch.result()[key] for key, batch in batches.items()}
        values: list[V] = []
        for key in keys:
            if key in found:
                values.append(found[key])
            elif key in primed:
                values.append(primed[key])
            else:
                values.append(await cache[key])  # done, or loading by aiodataloader
        return values

    def _join(self, keys: list[K]) -> "asyncio.Future[dict[K, V]]":
        """Add ``keys`` to this tick's batch of ``load_all`` keys; return the batch's future."""
        if self._batch is None:
            self._batch = ({}, self.loop.create_future(), [])
            # aiodataloader's timing (a callback, then a task): the same loads meet
            self.loop.call_soon(self._start_dispatch)
        asked, future, follows = self._batch
        offered = self.db.follows.claim()  # the caller's, for the rows of these keys
        if offered:
            follows += offered
        asked.update(dict.fromkeys(keys))
        self._loading.update(dict.fromkeys(keys, future))
        return future

    def _start_dispatch(self) -> None:
        self.loop.create_task(self._dispatch())

    async def _dispatch(self) -> None:
        """Load this tick's ``load_all`` keys and ``load`` queue together, a chunk at a time."""
        assert self._batch is not None
        (asked, done, follows), self._batch = self._batch, None
        queue, self._queue = self._queue, []  # aiodataloader's own dispatch then finds it empty
        for item in queue:
            asked.setdefault(item.key, None)
        loading, primed, cache = self._loading, self._primed, self._cache
        # a list page answered meanwhile may have primed some (its rows): not read again
        ready = {key: primed[key] for key in asked if key in primed}
        if cache:
            ready.update(
                (k, cache[k].result()) for k in asked if k not in ready and _done(cache.get(k))
            )
        keys = [key for key in asked if key not in ready] if ready else list(asked)
        # the next level's batches go with the read only if it reads every row of this level:
        # its values for the rest would be loaded apart (a statement more than without them)
        if ready or len(keys) > self.max_batch_size:
            follows = []
        try:
            values: list[V] = []
            for start in range(0, len(keys), self.max_batch_size):
                self.db.follows.offer(follows)  # taken by the batch's read
                values.extend(await self.batch_load_fn(keys[start : start + self.max_batch_size]))
                self.db.follows.withdraw(follows)
            if len(values) != len(keys):
                raise TypeError(
                    f"{type(self).__name__} returned {len(values)} for {len(keys)} keys"
                )
        except Exception as error:  # every waiter gets it; nothing of the batch is cached
            for item in queue:
                cache.pop(item.key, None)
                if not item.future.done():
                    item.future.set_exception(error)
            for key in asked:
                loading.pop(key, None)
            done.set_exception(error)
            return
        loaded = dict(zip(keys, values, strict=True))
        for item in queue:
            if not item.future.done():
                item.future.set_result(loaded[item.key])
        for key, value in loaded.items():
            # a key cleared meanwhile (a write) is not kept: its next load reads it again
            if loading.pop(key, None) is not None and key not in cache:
                primed[key] = value
        for key in ready:
            loading.pop(key, None)
        done.set_result(loaded | ready)

    async def _load_each(self, keys: list[K]) -> list[V]:
        """Return the values of ``keys`` through aiodataloader, a future per key."""
        futures = [self.load(key) for key in keys]
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


def _done(future: "asyncio.Future[Any] | None") -> bool:
    """Return True for the future of a value (not of an error) that is there."""
    return (
        future is not None
        and future.done()
        and not future.cancelled()
        and future.exception() is None
    )


@overload
def ordered(by_key: Mapping[K, V], keys: list[K]) -> list[V | None]: ...
@overload
def ordered(by_key: Mapping[K, V], keys: list[K], default: V) -> list[V]: ...
def ordered(by_key: Mapping[K, V], keys: list[K], default: V | None = None) -> list[Any]:
    """Return the batch result: one value per key, in key order."""
    return [by_key.get(key, default) for key in keys]
