"""Keyset pagination: order by (column, id), seek past a cursor, fetch one extra row.

OFFSET is never used: every page is an index range scan, however deep.
"""

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, tuple_


def hash_once(self: Any) -> int:
    """Return a frozen dataclass's hash, computed from its fields on first use and kept.

    For values used as (parts of) loader and cache keys: every dict operation on a key
    hashes it, and the generated ``__hash__`` hashes all fields each time. Set it in the
    class body (``__hash__ = hash_once``) so the dataclass keeps it. Not for pickling
    (string hashes differ between processes).
    """
    kept: int | None = self.__dict__.get("_hash")
    if kept is None:
        kept = hash(tuple(self.__dict__[name] for name in self.__dataclass_fields__))
        object.__setattr__(self, "_hash", kept)
    return kept


@dataclass(frozen=True)
class Keyset:
    """One page request, already decoded from first/after/last/before.

    ``descending`` is the order the client asked for; ``forward`` False means the page
    ends at ``cursor`` (last/before), so SQL runs in the opposite order and the rows
    are reversed afterwards.
    """

    __hash__ = hash_once

    column: str
    descending: bool
    limit: int
    forward: bool = True
    cursor: tuple[Any, int] | None = None

    @property
    def sql_descending(self) -> bool:
        """Return the direction SQL must scan in."""
        return self.descending == self.forward


def seek(
    select_: Select[Any], sort: ColumnElement[Any], id_: ColumnElement[int], keyset: Keyset
) -> Select[Any]:
    """Return ``select_`` ordered for ``keyset``, past its cursor, limited to one extra row."""
    if keyset.cursor is not None:
        key = tuple_(sort, id_)
        after = tuple_(*keyset.cursor)
        select_ = select_.where(key < after if keyset.sql_descending else key > after)
    if keyset.sql_descending:
        select_ = select_.order_by(sort.desc(), id_.desc())
    else:
        select_ = select_.order_by(sort.asc(), id_.asc())
    return select_.limit(keyset.limit + 1)


R = TypeVar("R")


@dataclass(frozen=True)
class Page(Generic[R]):
    """Rows of one page in the client's order, and whether more exist beyond it."""

    rows: list[R]
    has_more: bool


def to_page(rows: list[R], keyset: Keyset) -> Page[R]:
    """Return the page from rows fetched by :func:`seek` (trim the extra row, restore order)."""
    has_more = len(rows) > keyset.limit
    rows = rows[: keyset.limit]
    if not keyset.forward:
        rows.reverse()
    return Page(rows=rows, has_more=has_more)
