"""Expense connections nested under members, teams and cards, and their counts."""

from collections import defaultdict
from typing import NamedTuple

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


class ExpensePagesByParentLoader(TenantLoader[ParentPageKey, Page[ExpenseRow]]):
    """A page of expenses per parent: one LATERAL statement per distinct set of arguments."""

    async def batch_load_fn(self, keys: list[ParentPageKey]) -> list[Page[ExpenseRow]]:
        groups: dict[tuple[ExpenseParent, ExpenseSpec, Keyset], list[int]] = defaultdict(list)
        for key in keys:
            groups[(key.parent, key.spec, key.keyset)].append(key.parent_id)
        pages: dict[ParentPageKey, Page[ExpenseRow]] = {}
        for (parent, spec, keyset), parent_ids in groups.items():
            by_parent = await expense_pages_by_parent(
                db=self.db,
                visibility=self.visibility,
                parent=parent,
                parent_ids=parent_ids,
                spec=spec,
                keyset=keyset,
            )
            for parent_id, page in by_parent.items():
                pages[ParentPageKey(parent, parent_id, spec, keyset)] = page
        return [pages[key] for key in keys]


class ExpenseCountsByParentLoader(TenantLoader[ParentCountKey, int]):
    """The number of matching expenses per parent, one grouped statement per filter."""

    async def batch_load_fn(self, keys: list[ParentCountKey]) -> list[int]:
        groups: dict[tuple[ExpenseParent, ExpenseSpec], list[int]] = defaultdict(list)
        for key in keys:
            groups[(key.parent, key.spec)].append(key.parent_id)
        counts: dict[ParentCountKey, int] = {}
        for (parent, spec), parent_ids in groups.items():
            by_parent = await count_expenses_by_parent(
                db=self.db,
                visibility=self.visibility,
                parent=parent,
                parent_ids=parent_ids,
                spec=spec,
            )
            for parent_id, count in by_parent.items():
                counts[ParentCountKey(parent, parent_id, spec)] = count
        return [counts[key] for key in keys]
