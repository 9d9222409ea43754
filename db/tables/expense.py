"""Expenses, their trail, the spend rollups triggers keep, and exchange rates."""

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

import sqlalchemy as sa

from db.states import ExpenseStatus
from db.tables.base import (
    Timestamp,
    business_id_column,
    business_table,
    created_at_column,
    currency,
    metadata,
    one_of,
    reference,
)

EXPENSE_STATUSES = tuple(ExpenseStatus)  # db/states.py, for the check constraint

expenses = business_table(
    "expenses",
    *reference("member_id", "members"),
    *reference("team_id", "teams", nullable=True),
    *reference("card_id", "cards", nullable=True),
    *reference("category_id", "categories", nullable=True),
    sa.Column("merchant_name", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("amount_minor", sa.BigInteger, nullable=False),
    *currency("currency"),
    sa.Column("home_amount_minor", sa.BigInteger, nullable=False),
    *currency("home_currency"),
    sa.Column("fx_rate", sa.Numeric(20, 10), nullable=False),
    sa.Column("fx_rate_day", sa.Date, nullable=True),
    sa.Column("spent_at", Timestamp, nullable=False),
    sa.Column("status", sa.Text, nullable=False, server_default="DRAFT"),
    sa.Column("submitted_at", Timestamp, nullable=True),
    sa.Column("decided_at", Timestamp, nullable=True),
    *reference("decided_by", "members", nullable=True),
    sa.Column("reimbursed_at", Timestamp, nullable=True),
    sa.Column("exported_at", Timestamp, nullable=True),
    created_at_column(),
    sa.Column("updated_at", Timestamp, nullable=False, server_default=sa.func.now()),
    sa.Column("deleted_at", Timestamp, nullable=True),
    sa.CheckConstraint(one_of("status", EXPENSE_STATUSES), name="status"),
    sa.CheckConstraint("amount_minor > 0", name="amount_positive"),
    sa.CheckConstraint("home_amount_minor >= 0", name="home_amount_nonnegative"),
    sa.CheckConstraint("fx_rate > 0", name="fx_rate_positive"),
    sa.CheckConstraint("length(merchant_name) BETWEEN 1 AND 200", name="merchant_length"),
    # Keyset paging: one index per access path, the ordering column then id.
    # Btree indexes scan both ways, so each serves ASC and DESC.
    sa.Index("ix_expenses_spent", "business_id", "spent_at", "id"),
    sa.Index("ix_expenses_member_spent", "business_id", "member_id", "spent_at", "id"),
    sa.Index("ix_expenses_team_spent", "business_id", "team_id", "spent_at", "id"),
    sa.Index("ix_expenses_card_spent", "business_id", "card_id", "spent_at", "id"),
    sa.Index("ix_expenses_status_spent", "business_id", "status", "spent_at", "id"),
    sa.Index("ix_expenses_updated", "business_id", "updated_at", "id"),
    sa.Index("ix_expenses_created", "business_id", "created_at", "id"),
    sa.Index("ix_expenses_amount", "business_id", "home_amount_minor", "id"),
    sa.Index("ix_expenses_category", "business_id", "category_id"),
    # merchant search: trigram GIN with business_id first (btree_gin)
    sa.Index(
        "ix_expenses_merchant_trgm",
        "business_id",
        "merchant_name",
        postgresql_using="gin",
        postgresql_ops={"merchant_name": "gin_trgm_ops"},
    ),
)


# the expenses' columns their spend is summed by, besides the business and the period
SPEND_DIMENSIONS = ("team_id", "category_id", "currency", "status", "home_currency")


def _spend_totals(name: str, period: str) -> sa.Table:
    """Return a spend rollup: live expenses' home totals per local ``period`` and dimensions.

    Maintained by triggers on ``expenses`` (alembic 0002); NULL team or category is a value
    of the key (NULLS NOT DISTINCT), and the totals ride in the key's index for index-only
    aggregation.
    """
    key = ("business_id", period, *SPEND_DIMENSIONS)
    return sa.Table(
        name,
        metadata,
        business_id_column(),
        sa.Column(period, sa.Date, nullable=False),
        # typed as the expenses' own, with none of their defaults, keys or checks
        *(
            sa.Column(c, expenses.c[c].type, nullable=expenses.c[c].nullable)
            for c in SPEND_DIMENSIONS
        ),
        # numeric: a sum of bigint amounts can outgrow bigint, and must stay exact
        sa.Column("total_minor", sa.Numeric, nullable=False),
        sa.Column("n", sa.BigInteger, nullable=False),
        sa.UniqueConstraint(
            *key,
            name=f"uq_{name}_key",
            postgresql_nulls_not_distinct=True,
            postgresql_include=["total_minor", "n"],
        ),
        # the triggers delete the rows their writes emptied; this finds them at once
        sa.Index(f"ix_{name}_empty", "business_id", postgresql_where=sa.text("n = 0")),
    )


# local calendar days in the business's time zone, and the local months they add up to
expense_day_totals = _spend_totals("expense_day_totals", "day")
expense_month_totals = _spend_totals("expense_month_totals", "month")

expense_events = business_table(
    "expense_events",
    *reference("expense_id", "expenses"),
    *reference("actor_id", "members", nullable=True),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("comment", sa.Text, nullable=True),
    sa.Column("at", Timestamp, nullable=False, server_default=sa.func.now()),
    sa.Index("ix_expense_events_expense", "business_id", "expense_id", "at", "id"),
)

fx_rates = sa.Table(
    "fx_rates",
    metadata,
    *currency("currency"),
    *currency("quote_currency"),
    sa.Column("day", sa.Date, nullable=False),
    sa.Column("rate", sa.Numeric(20, 10), nullable=False),
    sa.PrimaryKeyConstraint("currency", "quote_currency", "day"),
    sa.CheckConstraint("rate > 0", name="rate_positive"),
)


# The row type of each table above (db/rows.py says how they are used).


class ExpenseRow(Protocol):
    """A row of ``expenses`` (``_mapping``: its columns by name, as both kinds of row have)."""

    @property
    def _mapping(self) -> Mapping[str, Any]: ...

    business_id: int
    id: int
    member_id: int
    team_id: int | None
    card_id: int | None
    category_id: int | None
    merchant_name: str
    description: str
    amount_minor: int
    currency: str
    home_amount_minor: int
    home_currency: str
    fx_rate: Decimal
    fx_rate_day: date | None
    spent_at: datetime
    status: str
    submitted_at: datetime | None
    decided_at: datetime | None
    decided_by: int | None
    reimbursed_at: datetime | None
    exported_at: datetime | None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


class _SpendTotalRow(Protocol):
    """The columns both spend rollups share (their period column is their own)."""

    business_id: int
    team_id: int | None
    category_id: int | None
    currency: str
    status: str
    home_currency: str
    total_minor: Decimal
    n: int


class ExpenseDayTotalRow(_SpendTotalRow, Protocol):
    """A row of ``expense_day_totals``."""

    day: date


class ExpenseMonthTotalRow(_SpendTotalRow, Protocol):
    """A row of ``expense_month_totals``."""

    month: date


class ExpenseEventRow(Protocol):
    """A row of ``expense_events``."""

    business_id: int
    id: int
    expense_id: int
    actor_id: int | None
    action: str
    comment: str | None
    at: datetime


class FxRateRow(Protocol):
    """A row of ``fx_rates``."""

    currency: str
    quote_currency: str
    day: date
    rate: Decimal
