"""A least-recently-used cache bounded by the bytes of what it holds."""

from collections import OrderedDict
from typing import Generic, TypeVar

# What each cache may hold, in characters of the document texts it holds (plus
# ENTRY_OVERHEAD per entry). A parsed document takes about 130 bytes per character of
# token-dense text (tracemalloc, graphql-core 3.3), so 1 MiB of text is ~130 MiB at worst.
DOCUMENT_CACHE_BYTES = 2**20
ENTRY_OVERHEAD = 64

K = TypeVar("K")
V = TypeVar("V")


class BoundedCache(Generic[K, V]):
    """A least-recently-used mapping holding at most ``max_bytes`` of its entries' sizes
    (and at most ``max_entries`` entries, when given)."""

    def __init__(
        self,
        max_bytes: int,
        entry_overhead: int = ENTRY_OVERHEAD,
        max_entries: int | None = None,
    ) -> None:
        self.max_bytes, self.entry_overhead = max_bytes, entry_overhead
        self.max_entries = max_entries
        self.bytes = 0
        self._entries: OrderedDict[K, tuple[V, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: K) -> bool:
        return key in self._entries

    def get(self, key: K) -> V | None:
        """Return the value under ``key`` (now the most recently used), or None."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        self._entries.move_to_end(key)
        return entry[0]

    def put(self, key: K, value: V, size: int) -> None:
        """Remember ``value``; evict the least recently used entries beyond ``max_bytes``."""
        size += self.entry_overhead
        if size > self.max_bytes:
            return
        old = self._entries.pop(key, None)
        if old is not None:
            self.bytes -= old[1]
        self._entries[key] = (value, size)
        self.bytes += size
        entries = self.max_entries or len(self._entries)
        while self.bytes > self.max_bytes or len(self._entries) > entries:
            _, (_, evicted) = self._entries.popitem(last=False)
            self.bytes -= evicted

    def values(self) -> list[V]:
        """Return the values, least recently used first."""
        return [value for value, _ in self._entries.values()]

    def clear(self) -> None:
        """Forget everything."""
        self._entries.clear()
        self.bytes = 0
