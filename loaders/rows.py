"""Rows by id, and child lists by parent id."""

from collections.abc import Sequence
from operator import attrgetter
from typing import Any, TypeVar, cast

from db.engine import RequestDb
from db.queries import lookups
from db.rows import BusinessRow, CardRow, ExpenseEventRow, MemberRow, NodeRow, PolicyRow, ReceiptRow
from db.sent_together import Following
from db.sql import Columns
from db.visibility import Visibility
from loaders.base import TenantLoader, ordered

_ID = attrgetter("id")

R = TypeVar("R", bound=NodeRow)


class RowByIdLoader(TenantLoader[int, R | None]):
    """Rows of one node table by id (``R``: the type of that table's rows).

    ``visible_only`` adds the role-based visibility (for ``node``/``nodes`` and other
    lookups by a client-supplied id); without it only the tenant filter applies, for
    references from an object the viewer already sees (an expense's member).
    """

    def __init__(
        self,
        *,
        db: RequestDb,
        visibility: Visibility,
        table: str,
        visible_only: bool,
        columns: Columns = None,
        missing: set[int] | None = None,
    ) -> None:
        super().__init__(db=db, visibility=visibility)
        self.table = table
        self.visible_only = visible_only
        self.columns = columns  # the only columns its rows hold (and the id); None: all
        # ids found missing (or invisible), shared by the loaders of the table's other
        # column sets: whatever the columns, such an id is not read twice
        self.missing = missing

    def following(self, table: str, column: str) -> Following | None:
        """Return this loader's batch, its ids ``column`` of a read of ``table`` (db/sent_together.py)."""
        read = lookups.keyed_by_ids(
            visibility=self.visibility,
            table=self.table,
            visible_only=self.visible_only,
            columns=self.columns,
        )
        return None if read is None else self.followed(table, column, read, self._found)

    def _found(self, rows: Sequence[Any], keys: list[int]) -> dict[int, R | None]:
        """Return the row of each key (None: none), remembering the missing ones."""
        by_id = dict(zip(map(_ID, rows), rows, strict=True))
        if self.missing is not None:
            self.missing.update(key for key in keys if key not in by_id)
        return dict(zip(keys, map(by_id.get, keys), strict=True))

    async def batch_load_fn(self, keys: list[int]) -> list[R | None]:
        missing = self.missing
        asked = keys if not missing else [key for key in keys if key not in missing]
        rows = (
            await lookups.rows_by_ids(
                db=self.db,
                visibility=self.visibility,
                table=self.table,
                ids=asked,
                visible_only=self.visible_only,
                columns=self.columns,
            )
            if asked
            else {}
        )
        if missing is not None:
            missing.update(key for key in asked if key not in rows)
        return ordered(cast("dict[int, R]", rows), keys)


class ChildrenLoader(TenantLoader[int, list[R]]):
    """The child rows of each parent; with ``columns``, rows of only those (and the key)."""

    table = ""  # the table of the child rows

    def __init__(self, *, db: RequestDb, visibility: Visibility, columns: Columns = None) -> None:
        super().__init__(db=db, visibility=visibility)
        self.columns = columns

    def following(self, table: str, column: str) -> Following | None:
        """Return this loader's batch, its parent ids ``column`` of a read of ``table``
        (db/sent_together.py)."""
        read, key = lookups.keyed_children(
            visibility=self.visibility, table=self.table, columns=self.columns
        )

        def children(rows: Sequence[Any], parent_ids: list[int]) -> dict[int, list[Any]]:
            return lookups.grouped(rows, parent_ids, key)

        return self.followed(table, column, read, children)

    async def batch_load_fn(self, keys: list[int]) -> list[list[R]]:
        rows = await lookups.children(
            db=self.db,
            visibility=self.visibility,
            table=self.table,
            parent_ids=keys,
            columns=self.columns,
        )
        return ordered(rows, keys, [])


class ReceiptsByExpenseLoader(ChildrenLoader[ReceiptRow]):
    """Receipts attached to each expense."""

    table = "receipts"


class EventsByExpenseLoader(ChildrenLoader[ExpenseEventRow]):
    """The audit trail of each expense."""

    table = "expense_events"


class MembersByTeamLoader(ChildrenLoader[MemberRow]):
    """Visible members of each team."""

    table = "members"


class CardsByHolderLoader(ChildrenLoader[CardRow]):
    """Visible cards of each member."""

    table = "cards"


class PoliciesLoader(TenantLoader[int, list[PolicyRow]]):
    """The active policies of the request's business (one key: the business id)."""

    async def batch_load_fn(self, keys: list[int]) -> list[list[PolicyRow]]:
        rows = await lookups.active_policies(db=self.db, visibility=self.visibility)
        return [rows for _ in keys]


class BusinessLoader(TenantLoader[int, BusinessRow | None]):
    """The request's business row (one key: the business id)."""

    async def batch_load_fn(self, keys: list[int]) -> list[BusinessRow | None]:
        row = await lookups.business_by_id(db=self.db, business_id=self.visibility.business_id)
        return [row if key == self.visibility.business_id else None for key in keys]
