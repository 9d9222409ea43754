"""The matcher's stored candidates as the API reads them: both ways, the viewer's visibility applied."""

from collections.abc import Sequence
from typing import Any, Literal, Protocol, cast

from sqlalchemy import ColumnElement, Table, and_, select

from db.engine import RequestDb
from db.queries.expenses import has_receipt
from db.rows import ExpenseRow, ReceiptRow
from db.sql import any_of
from db.tables.expense import expenses
from db.tables.receipt import receipt_match_candidates, receipts
from db.visibility import Visibility, expense_visible, receipt_visible


class ExpenseCandidateRow(ExpenseRow, Protocol):
    """An expense a receipt may belong to, with the matcher's score."""

    match_receipt_id: int
    match_score: float
    match_reasons: list[str]


async def candidates_by_receipt(
    *, db: RequestDb, visibility: Visibility, receipt_ids: Sequence[int]
) -> dict[int, list[ExpenseCandidateRow]]:
    """Return each receipt's stored candidates ``visibility`` shows: expense columns, score, reasons.

    Best first; expenses deleted or given a receipt since are left out.
    """
    shown = (expense_visible(visibility), expenses.c.deleted_at.is_(None), ~has_receipt())
    found = await _candidates(db, visibility, expenses, "receipt_id", receipt_ids, shown)
    return cast("dict[int, list[ExpenseCandidateRow]]", found)


class ReceiptCandidateRow(ReceiptRow, Protocol):
    """A receipt that may belong to an expense, with the matcher's score."""

    match_expense_id: int
    match_score: float
    match_reasons: list[str]


async def candidates_by_expense(
    *, db: RequestDb, visibility: Visibility, expense_ids: Sequence[int]
) -> dict[int, list[ReceiptCandidateRow]]:
    """Return, per expense, the unmatched receipts ``visibility`` shows that hold it as a candidate."""
    shown = (receipt_visible(visibility), receipts.c.expense_id.is_(None))
    found = await _candidates(db, visibility, receipts, "expense_id", expense_ids, shown)
    return cast("dict[int, list[ReceiptCandidateRow]]", found)


async def _candidates(
    db: RequestDb,
    visibility: Visibility,
    table: Table,
    by: Literal["receipt_id", "expense_id"],
    ids: Sequence[int],
    shown: Sequence[ColumnElement[bool]],
) -> dict[int, list[Any]]:
    """Return the rows of ``table`` (the other side of pairs whose ``by`` is in ``ids``) that
    pass ``shown``, with ``match_<by>``, ``match_score`` and ``match_reasons``: per id, best first."""
    c = receipt_match_candidates
    other = c.c.expense_id if by == "receipt_id" else c.c.receipt_id
    statement = (
        select(
            table,
            c.c[by].label(f"match_{by}"),
            c.c.score.label("match_score"),
            c.c.reasons.label("match_reasons"),
        )
        .join(c, and_(c.c.business_id == table.c.business_id, other == table.c.id))
        .where(c.c.business_id == visibility.business_id, any_of(c.c[by], list(ids)), *shown)
        .order_by(c.c[by], c.c.score.desc(), table.c.id)
    )
    grouped: dict[int, list[Any]] = {id_: [] for id_ in ids}
    for row in await db.rows(statement):
        grouped[getattr(row, f"match_{by}")].append(row)
    return grouped
