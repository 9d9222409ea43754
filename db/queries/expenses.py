"""Expense queries: filtered keyset pages (root and per parent), counts, lookups by id."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal, NamedTuple, Protocol, cast

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Select,
    and_,
    bindparam,
    exists,
    func,
    or_,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY

from db.engine import RequestDb
from db.paging import Keyset, Page, seek, to_page
from db.rows import ExpenseRow
from db.sent_together import KeyedRead
from db.sql import CURSORS, PAGE_INFO, Columns, any_of, kept_by_inputs
from db.tables.expense import expenses
from db.tables.org import policies
from db.tables.receipt import receipts
from db.visibility import Visibility, expense_visible

ExpenseParent = Literal["member", "team", "card"]

# The orders of an expense list, one entry per ordering key: the ExpenseOrderField value
# (tests/db/test_nodes.py checks the GraphQL enum has these) and its column; ties by id
EXPENSE_ORDERS: dict[str, Column[Any]] = {
    "SPENT_AT": expenses.c.spent_at,
    "AMOUNT": expenses.c.home_amount_minor,
    "UPDATED_AT": expenses.c.updated_at,
    "CREATED_AT": expenses.c.created_at,
}
# the same columns by name, the name a Keyset (and so a cursor) carries
SORT_COLUMNS = {column.name: column for column in EXPENSE_ORDERS.values()}
_PARENT_COLUMNS = {
    "member": expenses.c.member_id,
    "team": expenses.c.team_id,
    "card": expenses.c.card_id,
}


class ExpenseSpec(NamedTuple):
    """A decoded ExpenseFilter: ids are database ids, amounts home-currency minor units.

    A named tuple, as :class:`db.paging.Keyset`: loader keys hold it and hash it in C.
    """

    spent_after: datetime | None = None
    spent_before: datetime | None = None
    statuses: tuple[str, ...] | None = None
    member_ids: tuple[int, ...] | None = None
    team_ids: tuple[int, ...] | None = None
    card_ids: tuple[int, ...] | None = None
    category_ids: tuple[int, ...] | None = None
    currencies: tuple[str, ...] | None = None
    min_home_minor: int | None = None
    max_home_minor: int | None = None
    merchant_search: str | None = None
    has_receipt: bool | None = None
    # a policy requires a receipt for the amount and none is attached
    receipt_missing: bool | None = None
    updated_since: datetime | None = None
    include_deleted: bool = False


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _filter(spec: ExpenseSpec) -> list[ColumnElement[bool]]:
    c = expenses.c
    clauses: list[ColumnElement[bool]] = []
    if not spec.include_deleted:
        clauses.append(c.deleted_at.is_(None))
    if spec.spent_after is not None:
        clauses.append(c.spent_at >= spec.spent_after)
    if spec.spent_before is not None:
        clauses.append(c.spent_at < spec.spent_before)
    if spec.updated_since is not None:
        clauses.append(c.updated_at >= spec.updated_since)
    for column, values in (
        (c.status, spec.statuses),
        (c.member_id, spec.member_ids),
        (c.team_id, spec.team_ids),
        (c.card_id, spec.card_ids),
        (c.category_id, spec.category_ids),
        (c.currency, spec.currencies),
    ):
        if values is not None:
            clauses.append(any_of(column, values))
    if spec.min_home_minor is not None:
        clauses.append(c.home_amount_minor >= spec.min_home_minor)
    if spec.max_home_minor is not None:
        clauses.append(c.home_amount_minor <= spec.max_home_minor)
    if spec.merchant_search:
        clauses.append(c.merchant_name.ilike(_like_pattern(spec.merchant_search), escape="\\"))
    if spec.has_receipt is not None:  # built only when asked: an EXISTS costs ~ms to build
        has = has_receipt()
        clauses.append(has if spec.has_receipt else ~has)
    if spec.receipt_missing is not None:
        missing = and_(~has_receipt(), _receipt_required())
        clauses.append(missing if spec.receipt_missing else ~missing)
    return clauses


def has_receipt() -> ColumnElement[bool]:
    """Return: the expense has a receipt attached (correlated to ``expenses`` only)."""
    # an alias, so a query that also reads receipts does not correlate to its receipts
    attached = receipts.alias("attached")
    return exists(
        select(1).where(
            attached.c.business_id == expenses.c.business_id,
            attached.c.expense_id == expenses.c.id,
        )
    )


def _receipt_required() -> ColumnElement[bool]:
    """Return: an active policy of the expense's category (or of all) wants a receipt for it."""
    c, p = expenses.c, policies.c
    return exists(
        select(1).where(
            p.business_id == c.business_id,
            p.active,
            p.receipt_required_above_minor.is_not(None),
            c.home_amount_minor > p.receipt_required_above_minor,
            or_(p.category_id.is_(None), p.category_id == c.category_id),
        )
    )


def expense_where(visibility: Visibility, spec: ExpenseSpec) -> ColumnElement[bool]:
    """Return the predicate for the expenses ``visibility`` shows that match ``spec``."""
    return and_(expense_visible(visibility), *_filter(spec))


def _page_select(
    visibility: Visibility, spec: ExpenseSpec, keyset: Keyset, columns: Columns
) -> Select[Any]:
    shown: Any = [expenses]
    if columns is not None:  # and the id, and the ordering column if a cursor is read
        names = {*columns, "id"} - {PAGE_INFO}
        if CURSORS in names:
            names.remove(CURSORS)
            names.add(keyset.column)
        shown = [expenses.c[name] for name in sorted(names)]
    return seek(
        select(*shown).where(expense_where(visibility, spec)),
        SORT_COLUMNS[keyset.column],
        expenses.c.id,
        keyset,
        peek=peeks(columns),
    )


def peeks(columns: Columns) -> bool:
    """Return whether a page read with ``columns`` reads a row past its end (db/paging.py):
    whole rows do; narrowed ones only when the document reads the page info."""
    return columns is None or PAGE_INFO in columns


@kept_by_inputs
def _page_statement(
    visibility: Visibility, spec: ExpenseSpec, keyset: Keyset, columns: Columns
) -> Select[Any]:
    return _page_select(visibility, spec, keyset, columns)


async def expense_page(
    *,
    db: RequestDb,
    visibility: Visibility,
    spec: ExpenseSpec,
    keyset: Keyset,
    columns: Columns = None,
) -> Page[ExpenseRow]:
    """Return one page of the expenses ``visibility`` shows that match ``spec``.

    With ``columns``, its rows hold only those (and the id; see :data:`db.sql.CURSORS`).
    """
    rows = await db.rows(_page_statement(visibility, spec, keyset, columns))
    return to_page(list(cast("Sequence[ExpenseRow]", rows)), keyset, peeked=peeks(columns))


@kept_by_inputs
def _pages_by_parent_statement(
    visibility: Visibility,
    spec: ExpenseSpec,
    keyset: Keyset,
    parent: ExpenseParent,
    columns: Columns,
) -> Select[Any]:
    parents = (
        func.unnest(bindparam("parent_ids", type_=ARRAY(BigInteger)))
        .table_valued("parent_id")
        .render_derived("p")
    )
    inner = (
        _page_select(visibility, spec, keyset, columns)
        .where(_PARENT_COLUMNS[parent] == parents.c.parent_id)
        .lateral("x")
    )
    return select(parents.c.parent_id, inner).select_from(parents.join(inner, true()))


class ExpenseOfParentRow(ExpenseRow, Protocol):
    """An expense of a nested page, with the id of the parent it was paged under."""

    parent_id: int


async def expense_pages_by_parent(
    *,
    db: RequestDb,
    visibility: Visibility,
    parent: ExpenseParent,
    parent_ids: Sequence[int],
    spec: ExpenseSpec,
    keyset: Keyset,
    columns: Columns = None,
) -> dict[int, Page[ExpenseRow]]:
    """Return a page per parent (member, team or card) in one LATERAL statement.

    With ``columns``, its rows hold only those (and the id; see :data:`db.sql.CURSORS`).
    """
    statement = _pages_by_parent_statement(visibility, spec, keyset, parent, columns)
    rows = await db.rows(statement, {"parent_ids": list(parent_ids)})
    return pages_of(rows, parent_ids, keyset, columns)


def keyed_pages(
    *,
    visibility: Visibility,
    parent: ExpenseParent,
    spec: ExpenseSpec,
    keyset: Keyset,
    columns: Columns = None,
) -> KeyedRead:
    """Return :func:`expense_pages_by_parent`'s statement, its parent ids left to another
    read (db/sent_together.py); :func:`pages_of` makes its pages of its rows."""
    statement = _pages_by_parent_statement(visibility, spec, keyset, parent, columns)
    return KeyedRead(statement, {}, "parent_ids")


def pages_of(
    rows: Sequence[Any], parent_ids: Sequence[int], keyset: Keyset, columns: Columns
) -> dict[int, Page[ExpenseRow]]:
    """Return the page of each parent of :func:`expense_pages_by_parent`'s rows (read with
    ``columns``)."""
    grouped: dict[int, list[ExpenseRow]] = {pid: [] for pid in parent_ids}
    for row in cast("Sequence[ExpenseOfParentRow]", rows):
        grouped[row.parent_id].append(row)
    peeked = peeks(columns)
    return {pid: to_page(rows, keyset, peeked=peeked) for pid, rows in grouped.items()}


async def count_expenses(*, db: RequestDb, visibility: Visibility, spec: ExpenseSpec) -> int:
    """Return how many expenses ``visibility`` shows that match ``spec``."""
    rows = await db.rows(_count_statement(visibility, spec))
    return int(rows[0][0])


@kept_by_inputs
def _count_statement(visibility: Visibility, spec: ExpenseSpec) -> Select[Any]:
    return select(func.count()).select_from(expenses).where(expense_where(visibility, spec))


async def count_expenses_by_parent(
    *,
    db: RequestDb,
    visibility: Visibility,
    parent: ExpenseParent,
    parent_ids: Sequence[int],
    spec: ExpenseSpec,
) -> dict[int, int]:
    """Return the matching expense count per parent in one grouped statement."""
    column = _PARENT_COLUMNS[parent]
    statement = (
        select(column.label("parent_id"), func.count().label("n"))
        .where(expense_where(visibility, spec), any_of(column, list(parent_ids)))
        .group_by(column)
    )
    counts = {pid: 0 for pid in parent_ids}
    counts.update({row.parent_id: int(row.n) for row in await db.rows(statement)})
    return counts
