"""Small SQL helpers shared by the query modules."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY


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
