"""Relay connection arguments to keysets, cursors, and the page result handed to schema."""

import base64
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, DateTime, Integer

from db.nodes import NODES
from db.paging import Keyset, Page
from db.queries.expenses import EXPENSE_ORDERS
from resolvers.errors import bad_input
from resolvers.ids import urlsafe_b64

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
BIGINT_LIMIT = 2**63
# our longest cursor is about 100 characters; a longer one is not ours, and one of
# "[[[[..." would make the JSON decoder recurse too deep
MAX_CURSOR_LENGTH = 200


def _instant(value: Any) -> datetime:
    """Return a cursor's instant: aware, and one asyncpg can shift to UTC (years 1..9999)."""
    if type(value) is not str:
        raise ValueError
    instant = datetime.fromisoformat(value)
    if instant.tzinfo is None:
        raise ValueError
    instant.astimezone(UTC)  # OverflowError past year 9999 or before year 1
    return instant


def _bigint(value: Any) -> int:
    """Return a cursor's integer: a JSON integer (not a boolean or float) in bigint range."""
    if type(value) is not int or not -BIGINT_LIMIT < value < BIGINT_LIMIT:
        raise ValueError
    return value


def _decoder(column: ColumnElement[Any]) -> Callable[[Any], Any]:
    """Return how a cursor value of an ordering column is read back, by the column's type."""
    if isinstance(column.type, DateTime):
        return _instant
    if isinstance(column.type, Integer):
        return _bigint
    raise TypeError(f"no cursor decoder for {column} ({column.type})")


# every ordering column: the expense orders' and the root lists' (db/nodes.py), and the ids
_DECODERS: dict[str, Callable[[Any], Any]] = {
    **{column.name: _decoder(column) for column in EXPENSE_ORDERS.values()},
    **{
        node.root_list.column: _decoder(node.table.c[node.root_list.column])
        for node in NODES
        if node.root_list is not None
    },
    "id": _bigint,
    "tx": _bigint,  # the change feed's (transaction, id) order (db/writes/events.py)
}


@dataclass(frozen=True)
class PageArgs:
    """first/after/last/before as the client sent them."""

    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None


def encode_cursor(column: str, row: Any) -> str:
    """Return the opaque cursor of ``row`` in an ordering by ``column``."""
    value = getattr(row, column)
    # the text json.dumps([column, value, id]) gives, built directly: it runs once per row
    shown = f'"{value.isoformat()}"' if isinstance(value, datetime) else str(int(value))
    return urlsafe_b64(f'["{column}", {shown}, {int(row.id)}]'.encode())


def decode_cursor(cursor: str, column: str, *, field: str) -> tuple[Any, int]:
    """Return the (value, id) a cursor points at; BAD_USER_INPUT if it is not for ``column``."""
    try:
        if len(cursor) > MAX_CURSOR_LENGTH:
            raise ValueError
        padded = cursor + "=" * (-len(cursor) % 4)
        # a list of exactly three (a string or an object would unpack as well)
        parts = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if type(parts) is not list:
            raise ValueError
        name, value, id_ = parts
        if name != column or _bigint(id_) <= 0:
            raise ValueError
        return _DECODERS[column](value), id_
    except (ValueError, TypeError, KeyError, OverflowError):  # binascii, Unicode errors too
        raise bad_input(
            f"Invalid cursor for this ordering in '{field}': use a cursor from the same "
            "query and orderBy.",
            field=field,
        ) from None


def keyset(args: PageArgs, *, column: str, descending: bool) -> Keyset:
    """Return the keyset for ``args``; BAD_USER_INPUT for sizes outside 0..100 or mixed directions."""
    for name, size in (("first", args.first), ("last", args.last)):
        if size is not None and not 0 <= size <= MAX_PAGE_SIZE:
            raise bad_input(f"'{name}' must be between 0 and {MAX_PAGE_SIZE}.", field=name)
    if args.first is not None and args.last is not None:
        raise bad_input("Pass 'first' or 'last', not both.", field="last")
    backward = args.last is not None or (args.before is not None and args.first is None)
    if (backward and args.after is not None) or (not backward and args.before is not None):
        raise bad_input(
            "Page forward with first/after or backward with last/before, not a mix.",
            field="before" if args.before is not None else "after",
        )
    if backward:
        size, cursor, field = args.last, args.before, "before"
    else:
        size, cursor, field = args.first, args.after, "after"
    return Keyset(
        column=column,
        descending=descending,
        limit=DEFAULT_PAGE_SIZE if size is None else size,
        forward=not backward,
        cursor=decode_cursor(cursor, column, field=field) if cursor is not None else None,
    )


class PageResult(NamedTuple):
    """A page ready for a connection type: rows, page info, and lazy cursors and total count.

    A named tuple: made in C, once per parent of a nested connection (a frozen dataclass
    sets each field through ``object.__setattr__``).
    """

    rows: list[Any]
    column: str  # what the page is ordered by, which its cursors carry
    # None: not known (a page read without its page info, db/paging.py to_page)
    has_next_page: bool | None
    has_previous_page: bool | None
    total_count: Callable[[], Awaitable[int]]

    def cursor(self, row: Any) -> str:
        """Return the cursor of ``row`` (made when asked: most pages need only the last)."""
        return encode_cursor(self.column, row)


def page_result(
    page: Page[Any], keyset_: Keyset, count: Callable[[], Awaitable[int]]
) -> PageResult:
    """Return the page result of ``page``.

    The page info on the side the client did not page towards is whether it passed a
    cursor: the row at that cursor lies there (Relay allows this cheap answer).
    """
    has_cursor = keyset_.cursor is not None
    return PageResult(
        rows=page.rows,
        column=keyset_.column,
        has_next_page=page.has_more if keyset_.forward else has_cursor,
        has_previous_page=has_cursor if keyset_.forward else page.has_more,
        total_count=count,
    )
