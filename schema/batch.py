"""Batch twins of reference fields: the compiled executor resolves a whole level in one call.

A reference field (an expense's member, a card's holder) resolves one object at a time on
graphql-core's path, each a coroutine awaiting its DataLoader key. Its twin, attached
with :func:`references`, takes every object of the level at once and asks the same loader
for all keys in one ``load_all``. Both paths share the loader, so their statements and
answers are the same; the differential tests in tests/graphql/test_compiled_execution.py
hold them to it.
"""

import importlib
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from resolvers import nodes
from schema.base import Info

F = TypeVar("F", bound=Callable[..., Any])
BatchTwin = Callable[[Info, list[Any]], Awaitable[list[Any]]]


def references(
    table: str, key: str | Callable[[Any], int | None], wrapper: str, *, required: bool = False
) -> Callable[[F], F]:
    """Attach to a field method the batch twin of ``reference``/``required_reference``.

    ``key`` is the source row's foreign-key column, or a function of the source giving the
    id; ``wrapper`` the "module:Type" whose ``from_row`` wraps the rows (a name, because
    types refer to each other in a cycle).
    """
    key_of = key if callable(key) else (lambda source: getattr(source.row, key))
    wrap: list[Callable[[Any], Any]] = []

    async def twin(info: Info, sources: list[Any]) -> list[Any]:
        if not wrap:
            module, _, name = wrapper.partition(":")
            wrap.append(getattr(importlib.import_module(module), name).from_row)
        ids = [key_of(source) for source in sources]
        rows = await nodes.references(info.context, table, ids, required=required)
        # one object per row: fifty expenses of a page share a handful of members and teams
        made: dict[int, Any] = {}
        for row in rows:
            if row is not None and id(row) not in made:
                made[id(row)] = wrap[0](row)
        return [None if row is None else made[id(row)] for row in rows]

    return batched(twin)


def batched(twin: BatchTwin) -> Callable[[F], F]:
    """Attach a batch twin to a field method: ``twin(info, sources)`` gives every value."""

    def attach(method: F) -> F:
        method.__batch_twin__ = twin  # type: ignore[attr-defined]
        return method

    return attach


def twin_of(method: Callable[..., Any]) -> BatchTwin | None:
    """Return the batch twin attached to a field method, if any."""
    return getattr(method, "__batch_twin__", None)
