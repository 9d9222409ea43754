"""Spend totals grouped by dimensions and period, in one aggregate statement."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Row, func, literal_column, select

from db.engine import RequestDb
from db.expenses import ExpenseSpec, expense_where
from db.scope import Scope
from db.tables import businesses, expenses

DIMENSIONS: dict[str, ColumnElement[Any]] = {
    "TEAM": expenses.c.team_id,
    "MEMBER": expenses.c.member_id,
    "CARD": expenses.c.card_id,
    "CATEGORY": expenses.c.category_id,
    "MERCHANT": expenses.c.merchant_name,
    "CURRENCY": expenses.c.currency,
    "STATUS": expenses.c.status,
}
INTERVALS = ("DAY", "WEEK", "MONTH", "QUARTER", "YEAR")


@dataclass(frozen=True)
class Bucket:
    """One group: its dimension values, period start, home-currency total and count."""

    values: dict[str, Any]
    period: Any
    home_currency: str
    total_minor: int
    count: int


async def spend_summary(
    *,
    db: RequestDb,
    scope: Scope,
    spec: ExpenseSpec,
    group_by: Sequence[str],
    interval: str | None,
    limit: int,
) -> list[Bucket]:
    """Return up to ``limit`` + 1 buckets, ordered by period then dimensions.

    Periods start in the business's time zone: an expense at 23:30 UTC on 31 March in
    New York counts in March. Totals add home-currency amounts, which are exact integers.
    """
    columns = [DIMENSIONS[name].label(name.lower()) for name in group_by]
    keys: list[ColumnElement[Any]] = [*columns, expenses.c.home_currency]
    if interval is not None:
        zone = (
            select(businesses.c.timezone)
            .where(businesses.c.id == scope.business_id)
            .scalar_subquery()
        )
        local = func.timezone(zone, expenses.c.spent_at)
        keys.insert(
            0, func.date_trunc(literal_column(f"'{interval.lower()}'"), local).label("period")
        )
    statement = (
        select(
            *keys, func.sum(expenses.c.home_amount_minor).label("total"), func.count().label("n")
        )
        .where(expense_where(scope, spec))
        .group_by(*keys)
        .order_by(*keys)
        .limit(limit + 1)
    )
    return [_bucket(row, group_by, interval) for row in await db.rows(statement)]


def _bucket(row: Row[Any], group_by: Sequence[str], interval: str | None) -> Bucket:
    mapping = row._mapping
    return Bucket(
        values={name: mapping[name.lower()] for name in group_by},
        period=mapping["period"].date() if interval is not None else None,
        home_currency=row.home_currency,
        total_minor=int(row.total),
        count=int(row.n),
    )
