"""Small SQL helpers shared by the query modules."""

import functools
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import BindParameter, ColumnElement, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY

from db.fastread import keep

F = TypeVar("F", bound=Callable[..., Any])

# The only columns a read selects of its rows (the key it is read by is always added);
# None: whole rows. The fast lane passes the columns its document reads (execution/columns.py).
Columns = tuple[str, ...] | None
# among a page's columns: the document reads a cursor of its rows, so they also hold the
# ordering column the cursor carries (db/queries/expenses.py); without it, they do not
CURSORS = "+cursors"
# among a page's columns: the document reads its page info, so it reads one row more than
# its size to tell whether more follow (db/paging.py); without it, exactly its size
PAGE_INFO = "+page-info"

# Statements kept per builder (see kept_by_inputs); a statement is a few kilobytes.
STATEMENTS_KEPT = 256


def kept_by_inputs(build: F) -> F:
    """Keep the statements ``build`` makes, by its arguments (hashable, frozen values).

    Building a SELECT and walking it for SQLAlchemy's cache key cost more Python than
    running a small page: a dashboard asking again for the same page reuses the statement
    and the cache key memoized on it. The arguments decide the statement completely, so
    one business's or member's statement never answers for another.
    """
    return functools.lru_cache(maxsize=STATEMENTS_KEPT)(  # type: ignore[return-value]
        lambda *inputs: keep(build(*inputs))
    )


def array_param(name: str, column: ColumnElement[Any]) -> BindParameter[Any]:
    """Return the bind parameter ``:name`` for an array of ``column``'s values."""
    return bindparam(name, type_=ARRAY(column.type))


def any_of(column: ColumnElement[Any], values: Sequence[Any]) -> ColumnElement[bool]:
    """Return ``column = ANY(:array)``: one bind parameter however many values.

    asyncpg refuses more than 32,767 bind parameters, which ``IN (...)`` hits.
    """
    if len(values) == 1:
        # plain equality lets the planner walk a (.., column, sort) index in order
        return column == bindparam(None, values[0], type_=column.type)
    return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
