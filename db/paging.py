"""Keyset pagination: order by (column, id), seek past a cursor, fetch one extra row.

OFFSET is never used: every page is an index range scan, however deep. The extra row
tells whether more follow; a page whose page info nobody reads goes without it.
"""

from typing import Any, Generic, NamedTuple, TypeVar

from sqlalchemy import ColumnElement, Select, literal_column, tuple_


class Keyset(NamedTuple):
    """One page request, already decoded from first/after/last/before.

    ``descending`` is the order the client asked for; ``forward`` False means the page
    ends at ``cursor`` (last/before), so SQL runs in the opposite order and the rows
    are reversed afterwards. A named tuple: it is part of loader keys, hashed many
    times a request, and a tuple hashes in C.
    """

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
    select_: Select[Any],
    sort: ColumnElement[Any],
    id_: ColumnElement[int],
    keyset: Keyset,
    *,
    peek: bool = True,
) -> Select[Any]:
    """Return ``select_`` ordered for ``keyset``, past its cursor, limited to the page and
    (``peek``) one extra row."""
    if keyset.cursor is not None:
        key = tuple_(sort, id_)
        after = tuple_(*keyset.cursor)
        select_ = select_.where(key < after if keyset.sql_descending else key > after)
    if keyset.sql_descending:
        select_ = select_.order_by(sort.desc(), id_.desc())
    else:
        select_ = select_.order_by(sort.asc(), id_.asc())
    # written in, not a parameter: PostgreSQL prices a generic plan's LIMIT $n as a tenth
    # of the rows, so a statement holding a page would be planned anew on every run
    return select_.limit(literal_column(str(int(keyset.limit) + peek)))


R = TypeVar("R")


class Page(NamedTuple, Generic[R]):
    """Rows of one page in the client's order, and whether more exist beyond it (None:
    not known, its rows were read without peeking)."""

    rows: list[R]
    has_more: bool | None


def to_page(rows: list[R], keyset: Keyset, *, peeked: bool = True) -> Page[R]:
    """Return the page from rows fetched by :func:`seek` (trim the extra row, restore order)."""
    has_more = len(rows) > keyset.limit if peeked else None
    rows = rows[: keyset.limit]
    if not keyset.forward:
        rows.reverse()
    return Page(rows=rows, has_more=has_more)
