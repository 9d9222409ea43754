"""The matcher's stored candidates as the API reads them: both ways, the viewer's visibility applied."""

from collections.abc import Sequence
from typing import Protocol, cast

from sqlalchemy import and_, select

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
    c = receipt_match_candidates
    statement = (
        select(
            expenses,
            c.c.receipt_id.label("match_receipt_id"),
            c.c.score.label("match_score"),
            c.c.reasons.label("match_reasons"),
        )
        .join(c, and_(c.c.business_id == expenses.c.business_id, c.c.expense_id == expenses.c.id))
        .where(
            c.c.business_id == visibility.business_id,
            any_of(c.c.receipt_id, list(receipt_ids)),
            expense_visible(visibility),
            expenses.c.deleted_at.is_(None),
            ~has_receipt(),
        )
        .order_by(c.c.receipt_id, c.c.score.desc(), expenses.c.id)
    )
    by_receipt: dict[int, list[ExpenseCandidateRow]] = {id_: [] for id_ in receipt_ids}
    for row in cast("Sequence[ExpenseCandidateRow]", await db.rows(statement)):
        by_receipt[row.match_receipt_id].append(row)
    return by_receipt


class ReceiptCandidateRow(ReceiptRow, Protocol):
    """A receipt that may belong to an expense, with the matcher's score."""

    match_expense_id: int
    match_score: float
    match_reasons: list[str]


async def candidates_by_expense(
    *, db: RequestDb, visibility: Visibility, expense_ids: Sequence[int]
) -> dict[int, list[ReceiptCandidateRow]]:
    """Return, per expense, the unmatched receipts ``visibility`` shows that hold it as a candidate."""
    c = receipt_match_candidates
    statement = (
        select(
            receipts,
            c.c.expense_id.label("match_expense_id"),
            c.c.score.label("match_score"),
            c.c.reasons.label("match_reasons"),
        )
        .join(c, and_(c.c.business_id == receipts.c.business_id, c.c.receipt_id == receipts.c.id))
        .where(
            c.c.business_id == visibility.business_id,
            any_of(c.c.expense_id, list(expense_ids)),
            receipt_visible(visibility),
            receipts.c.expense_id.is_(None),
        )
        .order_by(c.c.expense_id, c.c.score.desc(), receipts.c.id)
    )
    by_expense: dict[int, list[ReceiptCandidateRow]] = {id_: [] for id_ in expense_ids}
    for row in cast("Sequence[ReceiptCandidateRow]", await db.rows(statement)):
        by_expense[row.match_expense_id].append(row)
    return by_expense
