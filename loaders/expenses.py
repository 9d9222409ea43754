"""Expense connections nested under members, teams and cards, and their counts."""

from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import NamedTuple, TypeVar

from db.paging import Keyset, Page
from db.queries.expenses import (
    ExpenseParent,
    ExpenseSpec,
    count_expenses_by_parent,
    expense_pages_by_parent,
)
from db.rows import ExpenseRow
from loaders.base import TenantLoader


class ParentPageKey(NamedTuple):
    """One parent's page: which parent, and the connection arguments."""

    parent: ExpenseParent
    parent_id: int
    spec: ExpenseSpec
    keyset: Keyset


class ParentCountKey(NamedTuple):
    """One parent's total count under a filter."""

    parent: ExpenseParent
    parent_id: int
    spec: ExpenseSpec


K = TypeVar("K", ParentPageKey, ParentCountKey)
V = TypeVar("V")


async def _per_parent(
    keys: list[K], read: Callable[[K, list[int]], Awaitable[dict[int, V]]]
) -> list[V]:
    """Return each key's value; keys that differ only in their parent share one ``read``
    (of the group's first key and all the group's parent ids)."""
    groups: dict[K, list[int]] = defaultdict(list)
    for key in keys:
        groups[key._replace(parent_id=0)].append(key.parent_id)
    values: dict[K, V] = {}
    for group, parent_ids in groups.items():
        for parent_id, value in (await read(group, parent_ids)).items():
            values[group._replace(parent_id=parent_id)] = value
    return [values[key] for key in keys]


class ExpensePagesByParentLoader(TenantLoader[ParentPageKey, Page[ExpenseRow]]):
    """A page of expenses per parent: one LATERAL statement per distinct set of arguments."""

    async def batch_load_fn(self, keys: list[ParentPageKey]) -> list[Page[ExpenseRow]]:
        async def read(group: ParentPageKey, parent_ids: list[int]) -> dict[int, Page[ExpenseRow]]:
            return await expense_pages_by_parent(
                db=self.db,
                visibility=self.visibility,
                parent=group.parent,
                parent_ids=parent_ids,
                spec=group.spec,
                keyset=group.keyset,
            )

        return await _per_parent(keys, read)


class ExpenseCountsByParentLoader(TenantLoader[ParentCountKey, int]):
    """The number of matching expenses per parent, one grouped statement per filter."""

    async def batch_load_fn(self, keys: list[ParentCountKey]) -> list[int]:
        async def read(group: ParentCountKey, parent_ids: list[int]) -> dict[int, int]:
            return await count_expenses_by_parent(
                db=self.db,
                visibility=self.visibility,
                parent=group.parent,
                parent_ids=parent_ids,
                spec=group.spec,
            )

        return await _per_parent(keys, read)
