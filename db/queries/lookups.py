"""Rows by id and children by parent id, batched for the loaders (``= ANY(:ids)``)."""

from collections.abc import Sequence
from operator import attrgetter
from typing import Any, cast

from sqlalchemy import Select, Table, any_, bindparam, select

from db.engine import RequestDb
from db.fastread import keep
from db.nodes import NODE_TABLES, NODES
from db.rows import BusinessRow, NodeRow, PolicyRow
from db.sent_together import KeyedRead
from db.sql import Columns, any_of, array_param, kept_by_inputs
from db.tables.expense import expense_events
from db.tables.org import businesses, cards, members, policies
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
    ``columns`` may name the only columns to read (the id is always read).
    """
    by_ids = _BY_IDS[table]
    if not visible_only or visibility.sees_all:  # visibility is then the tenant filter alone
        rows = await db.rows(*by_ids.only(columns).run(visibility, ids))
    else:
        rows = await db.rows(by_ids.visible(visibility, ids, columns))
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
        self._shown, self._order = shown, [table.c[name] for name in order_by]

        def statement(match: Any, *, one_row: bool = False) -> Select[Any]:
            return keep(
                select(*shown)
                .where(table.c[tenant] == bindparam("business_id"), match)
                .order_by(*self._order),
                one_row=one_row,
            )

        key = table.c[column]
        self.column = column
        # the id with the business: a primary key (the businesses' own id alone is one too)
        unique = column == "id"
        self.one = statement(key == bindparam("key", type_=key.type), one_row=unique)
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

    def visible(self, visibility: Visibility, keys: Sequence[int], columns: Columns) -> Select[Any]:
        """Return the statement for ``keys`` of the rows ``visibility`` shows (built each time:
        the predicate holds the viewer's member and teams), reading only ``columns``."""
        narrowed = self.only(columns)
        return narrowed.visible_where(visibility, any_of(self._made[0].c[self.column], keys))

    def visible_where(self, visibility: Visibility, match: Any) -> Select[Any]:
        """Return this statement for the rows ``visibility`` shows whose key ``match``es."""
        node = NODE_TABLES[self._made[0].name]
        return select(*self._shown).where(node.visible(visibility), match).order_by(*self._order)

    def keyed(self, visibility: Visibility) -> KeyedRead:
        """Return the statement for several keys in the business (the tenant filter alone),
        its keys left to another read (db/sent_together.py)."""
        params = {"business_id": visibility.business_id}
        # a node table's id is unique in its business: one row a key
        return KeyedRead(self.several, params, "keys", unique=self.column == "id")

    async def grouped(
        self, db: RequestDb, visibility: Visibility, keys: Sequence[int]
    ) -> dict[int, list[Any]]:
        """Return the rows for ``keys`` grouped by their key (the caller casts them)."""
        statement, params = self.run(visibility, keys)
        return await _children(db, statement, keys, self.column, params)


_BY_IDS = {node.table.name: _ByKeys(node.table, "id", tenant=node.tenant) for node in NODES}


def keyed_by_ids(
    *, visibility: Visibility, table: str, visible_only: bool, columns: Columns = None
) -> KeyedRead | None:
    """Return :func:`rows_by_ids`'s statement, its ids left to another read (db/sent_together.py);
    None where it is built per request (the viewer's visibility)."""
    if visible_only and not visibility.sees_all:
        return None
    return _BY_IDS[table].only(columns).keyed(visibility)


@kept_by_inputs
def _visible_keyed(by_keys: _ByKeys, visibility: Visibility) -> Select[Any]:
    """Return ``by_keys``'s statement for the rows ``visibility`` shows of several keys
    (``:keys``), built once per viewer: a manager's or employee's member and card lists."""
    key = by_keys._made[0].c[by_keys.column]
    return by_keys.visible_where(visibility, key == any_(array_param("keys", key)))


def keyed_children(
    *, visibility: Visibility, table: str, columns: Columns = None
) -> tuple[KeyedRead, str]:
    """Return the children statement of ``table`` (see ``_CHILDREN``), its parent ids left to
    another read (db/sent_together.py), and the column holding them, as :func:`children`
    reads them."""
    by_keys = _CHILDREN[table].only(columns)
    if table in _OF_AN_EXPENSE or visibility.sees_all:  # the tenant filter alone
        return by_keys.keyed(visibility), by_keys.column
    return KeyedRead(_visible_keyed(by_keys, visibility), {}, "keys"), by_keys.column


def grouped(rows: Sequence[Any], keys: Sequence[int], column: str) -> dict[int, list[Any]]:
    """Return ``rows`` grouped by their ``column``, one list (maybe empty) per key."""
    by_key: dict[int, list[Any]] = {key: [] for key in keys}
    for key, row in zip(map(attrgetter(column), rows), rows, strict=True):
        by_key[key].append(row)
    return by_key


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
    return grouped(await db.rows(statement, params), parent_ids, key)


async def children(
    *,
    db: RequestDb,
    visibility: Visibility,
    table: str,
    parent_ids: Sequence[int],
    columns: Columns = None,
) -> dict[int, list[Any]]:
    """Return the rows of ``table`` (one of ``_CHILDREN``) whose parent is in ``parent_ids``, per parent.

    ``columns``: the only columns to read (and the parent id); None: whole rows. The caller
    casts the rows to its table's row type.
    """
    by_keys = _CHILDREN[table]
    if table in _OF_AN_EXPENSE or visibility.sees_all:  # the tenant filter alone
        return await by_keys.only(columns).grouped(db, visibility, parent_ids)
    statement = by_keys.visible(visibility, parent_ids, columns)
    return await _children(db, statement, parent_ids, by_keys.column)


# the children of an expense's id, oldest first, as the loaders read them
_RECEIPTS_BY_EXPENSE = _ByKeys(receipts, "expense_id", "uploaded_at", "id")
_EVENTS_BY_EXPENSE = _ByKeys(expense_events, "expense_id", "at", "id")
# a team's members by name; a holder's cards oldest first
_MEMBERS_BY_TEAM = _ByKeys(members, "team_id", "name", "id")
_CARDS_BY_HOLDER = _ByKeys(cards, "holder_id", "created_at", "id")
_CHILDREN = {
    by_keys._made[0].name: by_keys
    for by_keys in (_RECEIPTS_BY_EXPENSE, _EVENTS_BY_EXPENSE, _MEMBERS_BY_TEAM, _CARDS_BY_HOLDER)
}
# read without the viewer's predicate: those of an expense are asked for once it is visible
_OF_AN_EXPENSE = (receipts.name, expense_events.name)


async def active_policies(*, db: RequestDb, visibility: Visibility) -> list[PolicyRow]:
    """Return the business's active policies."""
    rows = await db.rows(_ACTIVE_POLICIES, {"business_id": visibility.business_id})
    return list(cast("Sequence[PolicyRow]", rows))


_ACTIVE_POLICIES = keep(
    select(policies)
    .where(policies.c.business_id == bindparam("business_id"), policies.c.active)
    .order_by(policies.c.id)
)
