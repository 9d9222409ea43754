"""spendSummary from the maintained rollups (alembic 0002) instead of every expense row.

``expense_month_totals`` and ``expense_day_totals`` hold the exact home-currency totals
and counts of a business's live expenses per local month (day), team, category,
currency, status and home currency. A request is answered from them when it filters and
groups only on those dimensions and its visibility is the whole business. Its time range is
split by local calendar day: the days strictly between the local days of ``spentAfter``
and ``spentBefore`` come from the rollups (whole months from the month rollup when the
interval is a month or coarser, the rest from the day rollup), the two boundary days from
``expenses`` itself with the exact instant bounds. The parts are disjoint as long as a
zone's local date never runs backwards (no zone in use turns its clock back past
midnight), so the sums equal the base-table aggregate.
"""

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    TIMESTAMP,
    BigInteger,
    ColumnElement,
    Date,
    Select,
    Table,
    bindparam,
    case,
    cast,
    func,
    literal,
    literal_column,
    select,
    union_all,
)

from db.queries.expenses import ExpenseSpec, expense_where
from db.sql import any_of
from db.tables.expense import expense_day_totals, expense_month_totals, expenses
from db.tables.org import businesses
from db.visibility import Visibility

# dimension -> column, the same name in expenses and in both rollups
ROLLUP_DIMENSIONS = {
    "TEAM": "team_id",
    "CATEGORY": "category_id",
    "CURRENCY": "currency",
    "STATUS": "status",
}
# intervals whose periods are whole local months: the month rollup can feed them
_MONTHLY = (None, "MONTH", "QUARTER", "YEAR")
# a boundary month starting (ending) this close to the range is read as month minus days
_MOSTLY_INSIDE_FROM_START = 12
_MOSTLY_INSIDE_TO_END = 19
# longer than any local day (25 h at a DST change), so a boundary day's rows lie within it
_LONGEST_DAY = timedelta(hours=27)
# The instants the API takes (spentAfter, spentBefore, updatedSince, spentAt): PostgreSQL
# holds far more, but the boundary-day arithmetic above (27 h either side) and Python's
# datetime, in which asyncpg shifts every value to UTC, stop at years 1 and 9999.
EARLIEST_INSTANT = datetime(1900, 1, 1, tzinfo=UTC)
END_OF_INSTANTS = datetime(9999, 1, 1, tzinfo=UTC)  # the first instant refused


def supported_instant(value: datetime) -> bool:
    """Return True when ``value`` is aware and in [EARLIEST_INSTANT, END_OF_INSTANTS)."""
    return value.utcoffset() is not None and EARLIEST_INSTANT <= value < END_OF_INSTANTS


def rollup_serves(visibility: Visibility, spec: ExpenseSpec, group_by: Sequence[str]) -> bool:
    """Return True when the rollups hold everything the request filters and groups on."""
    if not visibility.sees_all or not set(group_by) <= set(ROLLUP_DIMENSIONS):
        return False
    unkept: tuple[object, ...] = (spec.member_ids, spec.card_ids, spec.has_receipt)
    unkept += (spec.receipt_missing,)
    unkept += (spec.min_home_minor, spec.max_home_minor, spec.updated_since)
    return (
        all(value is None for value in unkept)
        and not spec.merchant_search
        and not spec.include_deleted
    )


def business_zone(business_id: int) -> ColumnElement[str]:
    """Return the business's IANA time zone as a scalar subquery."""
    return select(businesses.c.timezone).where(businesses.c.id == business_id).scalar_subquery()


def period_start(interval: str, local: ColumnElement[Any]) -> ColumnElement[Any]:
    """Return the start of ``local``'s DAY, WEEK (Monday), MONTH, QUARTER or YEAR."""
    return func.date_trunc(literal_column(f"'{interval.lower()}'"), local)


def rollup_select(
    visibility: Visibility, spec: ExpenseSpec, group_by: Sequence[str], interval: str | None
) -> Select[Any]:
    """Return the grouped, ordered summary statement over the rollups and boundary days."""
    zone = business_zone(visibility.business_id)
    lo = _local_day(zone, spec.spent_after) if spec.spent_after else None
    hi = _local_day(zone, spec.spent_before) if spec.spent_before else None
    parts = _rollup_parts(visibility, spec, group_by, interval, lo, hi)
    parts += _edge_parts(visibility, spec, group_by, interval, zone, lo)
    rows = union_all(*parts).subquery("parts")
    keys = [rows.c.period] if interval else []
    keys += [rows.c[name.lower()] for name in group_by] + [rows.c.home_currency]
    count = func.sum(rows.c.n)
    totals = func.sum(rows.c.total).label("total"), count.label("n")
    # a group whose month row was cancelled by its outside days had no expense in range
    return select(*keys, *totals).group_by(*keys).having(count != 0).order_by(*keys)


def _local_day(zone: ColumnElement[str], instant: Any) -> ColumnElement[Any]:
    return cast(func.timezone(zone, bindparam(None, instant, type_=expenses.c.spent_at.type)), Date)


def _month_start(day: ColumnElement[Any], months_later: int = 0) -> ColumnElement[Any]:
    start = func.date_trunc("month", cast(day, TIMESTAMP))
    return cast(start + literal_column(f"interval '{months_later} month'"), Date)


def _rollup_parts(
    visibility: Visibility,
    spec: ExpenseSpec,
    group_by: Sequence[str],
    interval: str | None,
    lo: ColumnElement[Any] | None,
    hi: ColumnElement[Any] | None,
) -> list[Select[Any]]:
    """Return the rollup reads covering the local days strictly between ``lo`` and ``hi``."""

    def part(table: Table, *where: ColumnElement[bool], sign: int = 1) -> Select[Any]:
        return _totals(table, visibility, spec, group_by, interval, sign).where(*where)

    day, month = expense_day_totals.c.day, expense_month_totals.c.month
    if interval not in _MONTHLY:  # weeks and days cut across months
        inside = [*([day > lo] if lo is not None else []), *([day < hi] if hi is not None else [])]
        return [part(expense_day_totals, *inside)]
    if lo is not None and hi is not None and _far_apart(spec):
        return _far_apart_parts(part, lo, hi)
    # whole months: from the first after lo's month up to hi's month (exclusive)
    first = _month_start(lo, 1) if lo is not None else None
    last = _month_start(hi) if hi is not None else None
    whole = [*([month >= first] if first is not None else [])]
    whole += [month < last] if last is not None else []
    parts = [part(expense_month_totals, *whole)]
    # the days around them, in two disjoint ranges
    if lo is not None and first is not None:
        parts.append(part(expense_day_totals, day > lo, day < _least(first, hi)))
    if hi is not None and last is not None:
        start = func.greatest(last, first) if first is not None else last
        parts.append(part(expense_day_totals, day >= start, day < hi))
    return parts


def _far_apart(spec: ExpenseSpec) -> bool:
    """Return True when the local days of the two bounds are in different months, surely."""
    after, before = spec.spent_after, spec.spent_before
    return after is not None and before is not None and before - after >= timedelta(days=64)


def _far_apart_parts(
    part: Callable[..., Select[Any]], lo: ColumnElement[Any], hi: ColumnElement[Any]
) -> list[Select[Any]]:
    """Return the reads of a range whose boundary months differ.

    A boundary month mostly inside the range is read as its month row minus its days
    outside (about twice cheaper than most of its days); which way is decided in SQL,
    where the local days are known, and the unused reads stop at a one-time filter.
    """
    day, month = expense_day_totals.c.day, expense_month_totals.c.month
    lo_whole = func.extract("day", lo) <= _MOSTLY_INSIDE_FROM_START
    hi_whole = func.extract("day", hi) >= _MOSTLY_INSIDE_TO_END
    first = case((lo_whole, _month_start(lo)), else_=_month_start(lo, 1))
    last = case((hi_whole, _month_start(hi, 1)), else_=_month_start(hi))
    return [
        part(expense_month_totals, month >= first, month < last),
        part(expense_day_totals, day > lo, day < _month_start(lo, 1), ~lo_whole),
        part(expense_day_totals, day >= _month_start(lo), day <= lo, lo_whole, sign=-1),
        part(expense_day_totals, day >= _month_start(hi), day < hi, ~hi_whole),
        part(expense_day_totals, day >= hi, day < _month_start(hi, 1), hi_whole, sign=-1),
    ]


def _least(a: ColumnElement[Any], b: ColumnElement[Any] | None) -> ColumnElement[Any]:
    return func.least(a, b) if b is not None else a


def _totals(
    table: Table,
    visibility: Visibility,
    spec: ExpenseSpec,
    group_by: Sequence[str],
    interval: str | None,
    sign: int,
) -> Select[Any]:
    c = table.c
    columns: list[ColumnElement[Any]] = []
    if interval:
        start = c.day if table is expense_day_totals else c.month
        columns.append(period_start(interval, cast(start, TIMESTAMP)).label("period"))
    columns += [c[ROLLUP_DIMENSIONS[name]].label(name.lower()) for name in group_by]
    columns.append(c.home_currency)
    total, n = (c.total_minor, c.n) if sign > 0 else (-c.total_minor, -c.n)
    columns += [total.label("total"), n.label("n")]
    filters = [
        any_of(c[column], values)
        for column, values in (
            ("status", spec.statuses),
            ("team_id", spec.team_ids),
            ("category_id", spec.category_ids),
            ("currency", spec.currencies),
        )
        if values is not None
    ]
    return select(*columns).where(c.business_id == visibility.business_id, *filters)


def _edge_parts(
    visibility: Visibility,
    spec: ExpenseSpec,
    group_by: Sequence[str],
    interval: str | None,
    zone: ColumnElement[str],
    lo: ColumnElement[Any] | None,
) -> list[Select[Any]]:
    """Return the expense rows of the boundary days, each read by a short instant range."""
    after, before = spec.spent_after, spec.spent_before
    local = func.timezone(zone, expenses.c.spent_at)
    day = cast(local, Date)
    columns: list[ColumnElement[Any]] = (
        [period_start(interval, local).label("period")] if interval else []
    )
    columns += [expenses.c[ROLLUP_DIMENSIONS[name]].label(name.lower()) for name in group_by]
    columns += [expenses.c.home_currency, expenses.c.home_amount_minor.label("total")]
    rows = select(*columns, literal(1, BigInteger).label("n")).where(
        expense_where(visibility, spec)
    )
    parts = []
    if after is not None:
        end = min(after + _LONGEST_DAY, before) if before is not None else after + _LONGEST_DAY
        parts.append(rows.where(expenses.c.spent_at < end, day == _local_day(zone, after)))
    if before is not None:
        start = max(before - _LONGEST_DAY, after) if after is not None else before - _LONGEST_DAY
        last = [day == _local_day(zone, before)] + ([day != lo] if lo is not None else [])
        parts.append(rows.where(expenses.c.spent_at >= start, *last))
    return parts
