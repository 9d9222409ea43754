"""What cards have spent in their current limit period, for many cards in one statement."""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, case, func, literal, select

from db.engine import RequestDb
from db.sql import any_of
from db.tables.base import Timestamp
from db.tables.expense import expenses
from db.tables.org import LIMIT_PERIODS, cards


def period_bounds(period: str, now: datetime) -> tuple[datetime, datetime]:
    """Return [start, end) of the UTC day, ISO week (from Monday) or month holding ``now``."""
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "DAY":
        return day, day + timedelta(days=1)
    if period == "WEEK":
        monday = day - timedelta(days=day.weekday())
        return monday, monday + timedelta(days=7)
    if period == "MONTH":
        first = day.replace(day=1)
        return first, (first + timedelta(days=32)).replace(day=1)
    raise ValueError(f"unknown limit period {period!r}")


def _bound(now: datetime, index: int) -> ColumnElement[datetime]:
    """Return the card's period start (0) or end (1) as a CASE on ``limit_period``."""
    whens = {p: literal(period_bounds(p, now)[index], Timestamp) for p in LIMIT_PERIODS}
    return case(whens, value=cards.c.limit_period)


async def spend_this_period(
    *, db: RequestDb, business_id: int, card_ids: Sequence[int], now: datetime
) -> dict[int, int]:
    """Return, per card with a limit period, its spend in the period holding ``now``.

    Counted: the card's live (not deleted) expenses that are not REJECTED, in minor
    units of the card currency. An expense in the card currency counts its amount;
    otherwise it counts its home amount when the home currency is the card currency
    (a home-currency card sees every expense). Other expenses on a foreign-currency
    card are left out rather than converted at a rate nobody agreed on.
    """
    in_card_currency = case(
        (expenses.c.currency == cards.c.currency, expenses.c.amount_minor),
        (expenses.c.home_currency == cards.c.currency, expenses.c.home_amount_minor),
        else_=None,
    )
    # a correlated subquery per card: a range scan of ix_expenses_card_spent each
    spent = (
        select(func.coalesce(func.sum(in_card_currency), 0))
        .where(
            expenses.c.business_id == business_id,
            expenses.c.card_id == cards.c.id,
            expenses.c.spent_at >= _bound(now, 0),
            expenses.c.spent_at < _bound(now, 1),
            expenses.c.deleted_at.is_(None),
            expenses.c.status != "REJECTED",
        )
        .scalar_subquery()
    )
    statement = select(cards.c.id, spent.label("spent")).where(
        cards.c.business_id == business_id,
        any_of(cards.c.id, card_ids),
        cards.c.limit_period.is_not(None),
    )
    return {row.id: int(row.spent) for row in await db.rows(statement)}
