"""Queries of receipt matching: what a receipt could belong to, candidates, refusals, attaching.

The writes run inside the caller's transaction (RequestDb.savepoint()); nothing here commits.
"""

from collections.abc import Sequence
from datetime import date
from typing import Protocol, cast

from sqlalchemy import (
    ColumnElement,
    Date,
    and_,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert

from db.engine import RequestDb
from db.queries.match_search import MERCHANT_FLOOR, may_match
from db.rows import ExpenseRow, ReceiptRow
from db.tables.expense import expenses
from db.tables.org import businesses, members, teams
from db.tables.receipt import receipt_match_candidates, receipt_match_refusals, receipts

_MANAGED = (
    select(func.array_agg(teams.c.id))
    .where(teams.c.business_id == members.c.business_id, teams.c.manager_id == members.c.id)
    .scalar_subquery()
)


class LockedReceiptRow(ReceiptRow, Protocol):
    """A receipt locked for matching, with its uploader's role and teams, and the time zone."""

    uploader_role: str
    uploader_team_ids: list[int] | None
    timezone: str


async def locked_receipt(
    *, db: RequestDb, business_id: int, receipt_id: int
) -> LockedReceiptRow | None:
    """Return the receipt locked, with its uploader's role and managed teams, and the time zone."""
    statement = (
        select(
            receipts,
            members.c.role.label("uploader_role"),
            _MANAGED.label("uploader_team_ids"),
            businesses.c.timezone.label("timezone"),
        )
        .join(
            members,
            and_(
                members.c.business_id == receipts.c.business_id,
                members.c.id == receipts.c.uploaded_by,
            ),
        )
        .join(businesses, businesses.c.id == receipts.c.business_id)
        .where(receipts.c.business_id == business_id, receipts.c.id == receipt_id)
        .with_for_update(of=receipts)
    )
    rows = await db.rows(statement)
    return cast(LockedReceiptRow, rows[0]) if rows else None


async def replace_candidates(
    *,
    db: RequestDb,
    business_id: int,
    receipt_id: int,
    candidates: Sequence[tuple[int, float, list[str]]],
) -> None:
    """Replace the receipt's stored candidates with (expense id, score, reasons)."""
    await _drop_candidates(db, business_id, receipt_match_candidates.c.receipt_id == receipt_id)
    if candidates:
        await db.rows(
            insert(receipt_match_candidates)
            .values(
                [
                    {"business_id": business_id, "receipt_id": receipt_id,
                     "expense_id": expense_id, "score": score, "reasons": reasons}
                    for expense_id, score, reasons in candidates
                ]
            )
            .returning(receipt_match_candidates.c.expense_id)
        )  # fmt: skip


async def drop_candidates_of_expense(*, db: RequestDb, business_id: int, expense_id: int) -> None:
    """Forget the expense as a candidate of any receipt (it has a receipt now, or changed)."""
    await _drop_candidates(db, business_id, receipt_match_candidates.c.expense_id == expense_id)


async def _drop_candidates(db: RequestDb, business_id: int, which: ColumnElement[bool]) -> None:
    """Delete the business's stored candidates ``which`` selects."""
    c = receipt_match_candidates
    await db.rows(delete(c).where(c.c.business_id == business_id, which).returning(c.c.receipt_id))


async def expense_has_receipt(*, db: RequestDb, business_id: int, expense_id: int) -> bool:
    """Return True when a receipt is attached to the expense."""
    rows = await db.rows(
        select(receipts.c.id)
        .where(receipts.c.business_id == business_id, receipts.c.expense_id == expense_id)
        .limit(1)
    )
    return bool(rows)


async def attach_unmatched(
    *, db: RequestDb, business_id: int, receipt_id: int, expense_id: int
) -> ReceiptRow | None:
    """Attach a still unmatched receipt to the expense and return it (None if it was matched)."""
    rows = await db.rows(
        update(receipts)
        .where(
            receipts.c.business_id == business_id,
            receipts.c.id == receipt_id,
            receipts.c.expense_id.is_(None),
        )
        .values(expense_id=expense_id)
        .returning(*receipts.c)
    )
    return cast(ReceiptRow, rows[0]) if rows else None


async def add_refusal(*, db: RequestDb, business_id: int, receipt_id: int, expense_id: int) -> None:
    """Remember that a person detached the receipt from the expense."""
    await db.rows(
        pg_insert(receipt_match_refusals)
        .values(business_id=business_id, receipt_id=receipt_id, expense_id=expense_id)
        .on_conflict_do_nothing()
        .returning(receipt_match_refusals.c.receipt_id)
    )


class ExpenseForMatchingRow(ExpenseRow, Protocol):
    """An expense with its local day in the business's time zone (matching after a change)."""

    local_day: date


async def expense_for_matching(
    *, db: RequestDb, business_id: int, expense_id: int
) -> ExpenseForMatchingRow | None:
    """Return the expense with its local day in the business's time zone."""
    statement = (
        select(
            expenses,
            func.timezone(businesses.c.timezone, expenses.c.spent_at).cast(Date).label("local_day"),
        )
        .join(businesses, businesses.c.id == expenses.c.business_id)
        .where(expenses.c.business_id == business_id, expenses.c.id == expense_id)
    )
    rows = await db.rows(statement)
    return cast(ExpenseForMatchingRow, rows[0]) if rows else None


async def receipts_for_expense(
    *, db: RequestDb, business_id: int, expense: ExpenseForMatchingRow, window: tuple[int, int]
) -> list[int]:
    """Return the receipts to match again after the expense changed, locked, in id order.

    Unmatched DONE receipts dated within SEARCH_DAYS of the expense's local day with the
    same amount and currency, a date in ``window``, or a similar merchant; and every
    receipt holding the expense as a candidate.
    """
    fits = and_(
        receipts.c.business_id == business_id,
        receipts.c.expense_id.is_(None),
        receipts.c.processing == "DONE",
        may_match(
            receipts.c.extracted_spent_on,
            expense.local_day,
            window=window,
            same_money=and_(
                receipts.c.extracted_currency == expense.currency,
                receipts.c.extracted_total_minor == expense.amount_minor,
            ),
            similar=func.similarity(receipts.c.extracted_merchant, expense.merchant_name)
            >= MERCHANT_FLOOR,
        ),
    )
    holding = select(receipt_match_candidates.c.receipt_id).where(
        receipt_match_candidates.c.business_id == business_id,
        receipt_match_candidates.c.expense_id == expense.id,
    )
    # locked in id order before any expense is: a concurrent match_receipt (receipt, then
    # expense) then waits here instead of closing a lock cycle
    statement = (
        select(receipts.c.id)
        .where(or_(fits, receipts.c.id.in_(holding)))
        .order_by(receipts.c.id)
        .limit(500)
        .with_for_update(of=receipts)
    )
    return [row.id for row in await db.rows(statement)]
