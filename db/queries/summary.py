"""Spend totals grouped by dimensions and period, in one aggregate statement.

From the maintained rollups when they can answer, from ``expenses`` otherwise.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol, cast

from sqlalchemy import ColumnElement, Select, func, select

from db.engine import RequestDb
from db.queries.expenses import ExpenseSpec, expense_where
from db.queries.summary_rollup import business_zone, period_start, rollup_select, rollup_serves
from db.tables.expense import expenses
from db.visibility import Visibility

DIMENSIONS: dict[str, ColumnElement[Any]] = {
    "TEAM": expenses.c.team_id,
    "MEMBER": expenses.c.member_id,
    "CARD": expenses.c.card_id,
    "CATEGORY": expenses.c.category_id,
    "MERCHANT": expenses.c.merchant_name,
    "CURRENCY": expenses.c.currency,
    "STATUS": expenses.c.status,
}


class TimeInterval(StrEnum):
    """The length of a summary's periods (the GraphQL enum too, schema/summary.py)."""

    DAY = "DAY"
    WEEK = "WEEK"
    MONTH = "MONTH"
    QUARTER = "QUARTER"
    YEAR = "YEAR"


INTERVALS = tuple(TimeInterval)


@dataclass(frozen=True)
class Bucket:
    """One group: its dimension values, period start, home-currency total and count."""

    values: dict[str, Any]
    period: Any
    home_currency: str
    total_minor: int
    count: int


class SummaryRow(Protocol):
    """A bucket as both summary statements give it; its dimensions and period by name."""

    home_currency: str
    total: Decimal  # PostgreSQL sums bigints (and numerics) as numeric
    n: int | Decimal  # count() over expenses; over the rollups, a sum of their counts

    @property
    def _mapping(self) -> Mapping[str, Any]: ...


async def spend_summary(
    *,
    db: RequestDb,
    visibility: Visibility,
    spec: ExpenseSpec,
    group_by: Sequence[str],
    interval: str | None,
    limit: int,
) -> list[Bucket]:
    """Return up to ``limit`` + 1 buckets, ordered by period then dimensions.

    Periods start in the business's time zone: an expense at 23:30 UTC on 31 March in
    New York counts in March. Totals add home-currency amounts, which are exact integers.
    Requests the rollups can answer read them (db/queries/summary_rollup.py); the others, and the
    same buckets, come from one aggregate over ``expenses``.
    """
    if rollup_serves(visibility, spec, group_by):
        statement = rollup_select(visibility, spec, group_by, interval)
    else:
        statement = expense_summary_select(visibility, spec, group_by, interval)
    rows = cast("Sequence[SummaryRow]", await db.rows(statement.limit(limit + 1)))
    return [_bucket(row, group_by, interval) for row in rows]


def expense_summary_select(
    visibility: Visibility, spec: ExpenseSpec, group_by: Sequence[str], interval: str | None
) -> Select[Any]:
    """Return the grouped, ordered summary statement over every matching expense row."""
    columns = [DIMENSIONS[name].label(name.lower()) for name in group_by]
    keys: list[ColumnElement[Any]] = [*columns, expenses.c.home_currency]
    if interval is not None:
        local = func.timezone(business_zone(visibility.business_id), expenses.c.spent_at)
        keys.insert(0, period_start(interval, local).label("period"))
    return (
        select(
            *keys, func.sum(expenses.c.home_amount_minor).label("total"), func.count().label("n")
        )
        .where(expense_where(visibility, spec))
        .group_by(*keys)
        .order_by(*keys)
    )


def _bucket(row: SummaryRow, group_by: Sequence[str], interval: str | None) -> Bucket:
    mapping = row._mapping
    return Bucket(
        values={name: mapping[name.lower()] for name in group_by},
        period=mapping["period"].date() if interval is not None else None,
        home_currency=row.home_currency,
        total_minor=int(row.total),
        count=int(row.n),
    )
