"""Rows by id and children by parent id, batched for the loaders (``= ANY(:ids)``)."""

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Select, Table, any_, bindparam, select

from db.engine import RequestDb
from db.fastread import keep
from db.nodes import NODE_TABLES, NODES
from db.rows import BusinessRow, CardRow, ExpenseEventRow, MemberRow, NodeRow, PolicyRow, ReceiptRow
from db.sql import Columns, any_of, array_param
from db.tables.expense import expense_events
from db.tables.org import businesses, policies
from db.tables.receipt import receipts
from db.visibility import Visibility


async def rows_by_ids(
    *,
    db: RequestDb,
    visibility: Visibility,
    table: str,
    ids: Sequence[int],
    visible_only: bool,
    columns: Columns = None,
) -> dict[int, NodeRow]:
    """Return rows of ``table`` by id within the business.

    With ``visible_only`` the role-based visibility applies too (``node`` lookups);
    without it only the tenant filter does (references from an object already visible).
    ``columns`` may name the only columns to read (the id is always read) where the
    tenant filter alone applies.
    """
    if not visible_only or visibility.sees_all:  # visibility is then the tenant filter alone
        rows = await db.rows(*_BY_IDS[table].only(columns).run(visibility, ids))
    else:
        node = NODE_TABLES[table]
        statement = select(node.table).where(node.visible(visibility), any_of(node.table.c.id, ids))
        rows = await db.rows(statement)
    return {row.id: row for row in cast("Sequence[NodeRow]", rows)}


class _ByKeys:
    """``table``'s rows whose ``column`` is one of some keys, in ``:business_id``.

    Two statements, each built once and run with the business and the keys as
    parameters (a statement object that is reused keeps its memoized cache key,
    db/fastread.py; built anew it costs about 0.15 ms): ``column = :key`` for one key,
    ``column = ANY(:keys)`` for several. PostgreSQL plans a prepared ``= ANY`` afresh on
    every run while a one-element array makes the custom plan look cheaper than its
    generic one (0.13 ms of planning for a 0.04 ms lookup); with ``=`` it settles on the
    generic plan after five runs. A detail page looks up one key per level.
    ``tenant`` is the column holding the business id.
    """

    def __init__(
        self,
        table: Table,
        column: str,
        *order_by: str,
        tenant: str = "business_id",
        columns: Columns = None,
    ):
        shown: Any = [table]
        if columns is not None:  # only these, and the key
            shown = [table.c[name] for name in sorted({*columns, column})]

        def statement(match: Any) -> Select[Any]:
            return keep(
                select(*shown)
                .where(table.c[tenant] == bindparam("business_id"), match)
                .order_by(*(table.c[name] for name in order_by))
            )

        key = table.c[column]
        self.column = column
        self.one = statement(key == bindparam("key", type_=key.type))
        self.several = statement(key == any_(array_param("keys", key)))
        self._made = (table, column, order_by, tenant)
        self._narrowed: dict[tuple[str, ...], _ByKeys] = {}  # by columns, see only()

    def only(self, columns: Columns) -> "_ByKeys":
        """Return these statements reading only ``columns`` (and the key); None: whole rows."""
        if columns is None:
            return self
        narrowed = self._narrowed.get(columns)
        if narrowed is None:
            if len(self._narrowed) >= 256:  # a set per selection a served document makes
                self._narrowed.clear()
            table, column, order_by, tenant = self._made
            narrowed = _ByKeys(table, column, *order_by, tenant=tenant, columns=columns)
            self._narrowed[columns] = narrowed
        return narrowed

    def run(
        self, visibility: Visibility, keys: Sequence[int]
    ) -> tuple[Select[Any], dict[str, Any]]:
        """Return the statement for ``keys`` and its parameters."""
        if len(keys) == 1:
            return self.one, {"business_id": visibility.business_id, "key": keys[0]}
        return self.several, {"business_id": visibility.business_id, "keys": list(keys)}

    async def grouped(
        self, db: RequestDb, visibility: Visibility, keys: Sequence[int]
    ) -> dict[int, list[Any]]:
        """Return the rows for ``keys`` grouped by their key (the caller casts them)."""
        statement, params = self.run(visibility, keys)
        return await _children(db, statement, keys, self.column, params)


_BY_IDS = {node.table.name: _ByKeys(node.table, "id", tenant=node.tenant) for node in NODES}


async def business_by_id(*, db: RequestDb, business_id: int) -> BusinessRow | None:
    """Return the business row."""
    rows = await db.rows(select(businesses).where(businesses.c.id == business_id))
    return cast(BusinessRow, rows[0]) if rows else None


async def _children(
    db: RequestDb,
    statement: Any,
    parent_ids: Sequence[int],
    key: str,
    params: dict[str, Any] | None = None,
) -> dict[int, list[Any]]:
    """Return the rows of ``statement`` (run with ``params``) grouped by their ``key`` column.

    The caller casts them to the type of its statement's rows.
    """
    grouped: dict[int, list[Any]] = {pid: [] for pid in parent_ids}
    for row in await db.rows(statement, params):
        grouped[getattr(row, key)].append(row)
    return grouped


async def _visible_children(
    db: RequestDb,
    visibility: Visibility,
    table: str,
    parent_ids: Sequence[int],
    key: str,
    *order_by: str,
) -> dict[int, list[Any]]:
    """Return the visible rows of ``table`` grouped by ``key`` (one of ``parent_ids``), in order."""
    node = NODE_TABLES[table]
    statement = (
        select(node.table)
        .where(node.visible(visibility), any_of(node.table.c[key], parent_ids))
        .order_by(*(node.table.c[name] for name in order_by))
    )
    return await _children(db, statement, parent_ids, key)


async def members_by_team(
    *, db: RequestDb, visibility: Visibility, team_ids: Sequence[int]
) -> dict[int, list[MemberRow]]:
    """Return the visible members of each team, by name."""
    rows = await _visible_children(db, visibility, "members", team_ids, "team_id", "name", "id")
    return cast("dict[int, list[MemberRow]]", rows)


async def cards_by_holder(
    *, db: RequestDb, visibility: Visibility, member_ids: Sequence[int]
) -> dict[int, list[CardRow]]:
    """Return the visible cards of each member, oldest first."""
    rows = await _visible_children(
        db, visibility, "cards", member_ids, "holder_id", "created_at", "id"
    )
    return cast("dict[int, list[CardRow]]", rows)


async def receipts_by_expense(
    *,
    db: RequestDb,
    visibility: Visibility,
    expense_ids: Sequence[int],
    columns: Columns = None,
) -> dict[int, list[ReceiptRow]]:
    """Return the receipts attached to each expense, oldest upload first.

    ``columns``: the only columns to read (and the expense id); None: whole rows.
    """
    rows = await _RECEIPTS_BY_EXPENSE.only(columns).grouped(db, visibility, expense_ids)
    return cast("dict[int, list[ReceiptRow]]", rows)


async def events_by_expense(
    *, db: RequestDb, visibility: Visibility, expense_ids: Sequence[int]
) -> dict[int, list[ExpenseEventRow]]:
    """Return the audit trail of each expense, oldest first."""
    rows = await _EVENTS_BY_EXPENSE.grouped(db, visibility, expense_ids)
    return cast("dict[int, list[ExpenseEventRow]]", rows)


_RECEIPTS_BY_EXPENSE = _ByKeys(receipts, "expense_id", "uploaded_at", "id")
_EVENTS_BY_EXPENSE = _ByKeys(expense_events, "expense_id", "at", "id")


async def active_policies(*, db: RequestDb, visibility: Visibility) -> list[PolicyRow]:
    """Return the business's active policies."""
    rows = await db.rows(_ACTIVE_POLICIES, {"business_id": visibility.business_id})
    return list(cast("Sequence[PolicyRow]", rows))


_ACTIVE_POLICIES = keep(
    select(policies)
    .where(policies.c.business_id == bindparam("business_id"), policies.c.active)
    .order_by(policies.c.id)
)
