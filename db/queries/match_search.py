"""The expenses a receipt may belong to, and what scoring needs of each (the matcher's search).

Read with the uploader's visibility; db/writes/matching.py stores what the scoring finds.
"""

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Protocol, cast

from sqlalchemy import ColumnElement, Date, and_, exists, func, literal, or_, select

from db.engine import RequestDb
from db.queries.expenses import has_receipt
from db.rows import ReceiptRow
from db.tables.expense import expenses, fx_rates
from db.tables.receipt import receipt_match_refusals
from db.visibility import Visibility, expense_visible

# how far from the receipt's date an expense is looked at at all (scoring decides the rest)
SEARCH_DAYS = 14
# pg_trgm's default similarity threshold: below it a merchant alone does not make a candidate
MERCHANT_FLOOR = 0.3


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
            may_match(
                local_day,
                day,
                # the window dates a receipt from its expense: an expense from its receipt
                # is dated the other way round
                window=(after, before),
                same_money=and_(
                    expenses.c.currency == receipt.extracted_currency,
                    expenses.c.amount_minor == receipt.extracted_total_minor,
                ),
                similar=similarity >= MERCHANT_FLOOR if merchant else literal(False),
            ),
        )
        .order_by(expenses.c.id)
        .limit(500)
    )
    return list(cast("Sequence[ExpenseFeaturesRow]", await db.rows(statement)))


def may_match(
    day: ColumnElement[date],
    around: date,
    *,
    window: tuple[int, int],
    same_money: ColumnElement[bool],
    similar: ColumnElement[bool],
) -> ColumnElement[bool]:
    """Return the search's rule for the other side of a pair, dated ``day``, seen from ``around``.

    Dated within SEARCH_DAYS of ``around``, and the same money, or dated from ``window[0]``
    days before ``around`` to ``window[1]`` days after, or ``similar`` (the merchant).
    """
    earlier, later = window
    return and_(
        _days_around(day, around, SEARCH_DAYS, SEARCH_DAYS),
        or_(same_money, _days_around(day, around, earlier, later), similar),
    )


def _days_around(
    day: ColumnElement[date], around: date, before: int, after: int
) -> ColumnElement[bool]:
    return day.between(around - timedelta(days=before), around + timedelta(days=after))


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)
