"""Queries of receipt matching: what a receipt could belong to, candidates, refusals, attaching.

The writes run inside the caller's transaction (RequestDb.savepoint()); nothing here commits.
"""

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Protocol, cast

from sqlalchemy import (
    Date,
    and_,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert

from db.engine import RequestDb
from db.queries.expenses import has_receipt
from db.rows import ExpenseRow, ReceiptRow
from db.tables.expense import expenses, fx_rates
from db.tables.org import businesses, members, teams
from db.tables.receipt import receipt_match_candidates, receipt_match_refusals, receipts
from db.visibility import Visibility, expense_visible

# how far from the receipt's date an expense is looked at at all (scoring decides the rest)
SEARCH_DAYS = 14
# pg_trgm's default similarity threshold: below it a merchant alone does not make a candidate
MERCHANT_FLOOR = 0.3

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


def _local_day(timezone: str) -> Any:
    return func.timezone(timezone, expenses.c.spent_at).cast(Date)


class ExpenseFeaturesRow(Protocol):
    """What scoring needs of an expense a receipt may belong to (:func:`expense_features`)."""

    id: int
    amount_minor: int
    currency: str
    local_day: date
    similarity: float
    rate: Decimal | None
    refused: bool


async def expense_features(
    *,
    db: RequestDb,
    visibility: Visibility,
    receipt: ReceiptRow,
    timezone: str,
    window: tuple[int, int],
) -> list[ExpenseFeaturesRow]:
    """Return what scoring needs of each expense that may belong to ``receipt``.

    Expenses ``visibility`` (the uploader's) shows, live, without a receipt, spent within
    SEARCH_DAYS local days of the receipt's date, and with the same amount and currency,
    or a local day in ``window`` (days before, after the receipt's date), or a similar
    merchant. Each row: id, amount_minor, currency, local_day, merchant similarity, the
    rate from the receipt's currency into the expense's (latest on or before the receipt's
    date) and whether a person refused the pair.
    """
    day = receipt.extracted_spent_on
    if day is None:  # nothing to compare with (the caller matches only dated receipts)
        return []
    local_day = _local_day(timezone)
    merchant = receipt.extracted_merchant or ""
    similarity = func.similarity(expenses.c.merchant_name, merchant)
    rate = (
        select(fx_rates.c.rate)
        .where(
            fx_rates.c.currency == receipt.extracted_currency,
            fx_rates.c.quote_currency == expenses.c.currency,
            fx_rates.c.day <= day,
        )
        .order_by(fx_rates.c.day.desc())
        .limit(1)
        .scalar_subquery()
    )
    refused = exists(
        select(1).where(
            receipt_match_refusals.c.business_id == expenses.c.business_id,
            receipt_match_refusals.c.receipt_id == receipt.id,
            receipt_match_refusals.c.expense_id == expenses.c.id,
        )
    )
    before, after = window
    statement = (
        select(
            expenses.c.id,
            expenses.c.amount_minor,
            expenses.c.currency,
            local_day.label("local_day"),
            similarity.label("similarity"),
            rate.label("rate"),
            refused.label("refused"),
        )
        .where(
            expense_visible(visibility),
            expenses.c.deleted_at.is_(None),
            ~has_receipt(),
            # one day of slack either way for the time zone; the local day decides
            expenses.c.spent_at >= _midnight(day - timedelta(days=SEARCH_DAYS + 1)),
            expenses.c.spent_at < _midnight(day + timedelta(days=SEARCH_DAYS + 2)),
            local_day.between(day - timedelta(days=SEARCH_DAYS), day + timedelta(days=SEARCH_DAYS)),
            or_(
                and_(
                    expenses.c.currency == receipt.extracted_currency,
                    expenses.c.amount_minor == receipt.extracted_total_minor,
                ),
                local_day.between(day - timedelta(days=after), day + timedelta(days=before)),
                similarity >= MERCHANT_FLOOR if merchant else literal(False),
            ),
        )
        .order_by(expenses.c.id)
        .limit(500)
    )
    return list(cast("Sequence[ExpenseFeaturesRow]", await db.rows(statement)))


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


async def replace_candidates(
    *,
    db: RequestDb,
    business_id: int,
    receipt_id: int,
    candidates: Sequence[tuple[int, float, list[str]]],
) -> None:
    """Replace the receipt's stored candidates with (expense id, score, reasons)."""
    await db.rows(
        delete(receipt_match_candidates)
        .where(
            receipt_match_candidates.c.business_id == business_id,
            receipt_match_candidates.c.receipt_id == receipt_id,
        )
        .returning(receipt_match_candidates.c.expense_id)
    )
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
    await db.rows(
        delete(receipt_match_candidates)
        .where(
            receipt_match_candidates.c.business_id == business_id,
            receipt_match_candidates.c.expense_id == expense_id,
        )
        .returning(receipt_match_candidates.c.receipt_id)
    )


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
    day: date = expense.local_day
    before, after = window
    on = receipts.c.extracted_spent_on
    fits = and_(
        receipts.c.business_id == business_id,
        receipts.c.expense_id.is_(None),
        receipts.c.processing == "DONE",
        on.between(day - timedelta(days=SEARCH_DAYS), day + timedelta(days=SEARCH_DAYS)),
        or_(
            and_(
                receipts.c.extracted_currency == expense.currency,
                receipts.c.extracted_total_minor == expense.amount_minor,
            ),
            on.between(day - timedelta(days=before), day + timedelta(days=after)),
            func.similarity(receipts.c.extracted_merchant, expense.merchant_name) >= MERCHANT_FLOOR,
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
