"""Expense connections nested under members, teams and cards, and their counts."""

from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, NamedTuple, TypeVar

from db.paging import Keyset, Page
from db.queries.expenses import (
    ExpenseParent,
    ExpenseSpec,
    count_expenses_by_parent,
    expense_pages_by_parent,
    keyed_pages,
    pages_of,
)
from db.rows import ExpenseRow
from db.sent_together import Following
from db.sql import Columns
from loaders.base import TenantLoader


class ParentPageKey(NamedTuple):
    """One parent's page: which parent, and the connection arguments."""

    parent: ExpenseParent
    parent_id: int
    spec: ExpenseSpec
    keyset: Keyset
    columns: Columns = None  # the only columns to read (None: whole rows)


class ParentCountKey(NamedTuple):
    """One parent's total count under a filter."""

    parent: ExpenseParent
    parent_id: int
    spec: ExpenseSpec


K = TypeVar("K", ParentPageKey, ParentCountKey)
V = TypeVar("V")


async def _per_parent(
    loader: TenantLoader[K, V], keys: list[K], read: Callable[..., Awaitable[dict[int, V]]]
) -> list[V]:
    """Return each key's value; keys that differ only in their parent share one ``read``.

    ``read`` takes a group's fields as arguments (a key names them as ``read`` does), with
    all the group's parent ids for ``parent_id``.
    """
    if not keys:
        return []
    fields = list(keys[0]._fields)
    at = fields.index("parent_id")
    del fields[at]
    # each key as (its group: every field but the parent's id, the parent's id)
    slots = [(key[:at] + key[at + 1 :], key.parent_id) for key in keys]
    groups: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for group, parent_id in slots:
        groups[group].append(parent_id)
    values: dict[tuple[tuple[Any, ...], int], V] = {}
    for group, parent_ids in groups.items():
        arguments = dict(zip(fields, group, strict=True))
        by_parent = await read(
            db=loader.db, visibility=loader.visibility, parent_ids=parent_ids, **arguments
        )
        for parent_id, value in by_parent.items():
            values[(group, parent_id)] = value
    return [values[slot] for slot in slots]


class ExpensePagesByParentLoader(TenantLoader[ParentPageKey, Page[ExpenseRow]]):
    """A page of expenses per parent: one LATERAL statement per distinct set of arguments."""

    async def batch_load_fn(self, keys: list[ParentPageKey]) -> list[Page[ExpenseRow]]:
        return await _per_parent(self, keys, expense_pages_by_parent)

    def following(self, table: str, column: str, key: ParentPageKey) -> Following | None:
        """Return this loader's batch of the keys like ``key`` whose parent ids are ``column``
        of a read of ``table`` (db/sent_together.py)."""
        parent, _, spec, keyset, columns = key
        read = keyed_pages(
            visibility=self.visibility, parent=parent, spec=spec, keyset=keyset, columns=columns
        )

        def pages(
            rows: Sequence[Any], parent_ids: list[int]
        ) -> dict[ParentPageKey, Page[ExpenseRow]]:
            # a key made anew per parent: key._replace is four times slower
            return {
                ParentPageKey(parent, parent_id, spec, keyset, columns): page
                for parent_id, page in pages_of(rows, parent_ids, keyset, columns).items()
            }

        return self.followed(table, column, read, pages)


class ExpenseCountsByParentLoader(TenantLoader[ParentCountKey, int]):
    """The number of matching expenses per parent, one grouped statement per filter."""

    async def batch_load_fn(self, keys: list[ParentCountKey]) -> list[int]:
        return await _per_parent(self, keys, count_expenses_by_parent)
