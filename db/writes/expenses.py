"""Writes of the expense workflow. Run inside RequestDb.savepoint(); nothing here commits."""

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import func, insert, select

from db.engine import RequestDb
from db.rows import CardRow, ExpenseRow, MemberRow
from db.sql import any_of
from db.tables.expense import expense_events, expenses, fx_rates
from db.tables.org import cards, members, teams
from db.writes.rows import row_of, update_row


async def fx_rate(*, db: RequestDb, currency: str, quote: str, day: date) -> Decimal | None:
    """Return the rate converting ``currency`` into ``quote`` on ``day``, or None if unknown."""
    statement = select(fx_rates.c.rate).where(
        fx_rates.c.currency == currency, fx_rates.c.quote_currency == quote, fx_rates.c.day == day
    )
    rows = await db.rows(statement)
    return rows[0].rate if rows else None


async def member(*, db: RequestDb, business_id: int, member_id: int) -> MemberRow | None:
    """Return a member of the business."""
    row = await row_of(db=db, table=members, business_id=business_id, row_id=member_id)
    return cast("MemberRow | None", row)


async def card(*, db: RequestDb, business_id: int, card_id: int) -> CardRow | None:
    """Return a card of the business."""
    row = await row_of(db=db, table=cards, business_id=business_id, row_id=card_id)
    return cast("CardRow | None", row)


async def team_manager(*, db: RequestDb, business_id: int, team_id: int) -> int | None:
    """Return the manager's member id of a team."""
    rows = await db.rows(
        select(teams.c.manager_id).where(teams.c.business_id == business_id, teams.c.id == team_id)
    )
    return rows[0].manager_id if rows else None


async def locked_expenses(
    *, db: RequestDb, business_id: int, ids: list[int]
) -> dict[int, ExpenseRow]:
    """Return live expenses by id, locked until the transaction ends (in id order: no deadlocks)."""
    statement = (
        select(expenses)
        .where(expenses.c.business_id == business_id, any_of(expenses.c.id, ids))
        .where(expenses.c.deleted_at.is_(None))
        .order_by(expenses.c.id)
        .with_for_update()
    )
    return {row.id: row for row in cast("Sequence[ExpenseRow]", await db.rows(statement))}


async def insert_expense(*, db: RequestDb, values: dict[str, Any]) -> ExpenseRow:
    """Insert an expense and return it."""
    rows = await db.rows(insert(expenses).values(**values).returning(*expenses.c))
    return cast(ExpenseRow, rows[0])


async def update_expense(
    *,
    db: RequestDb,
    business_id: int,
    expense_id: int,
    values: dict[str, Any],
    now: tuple[str, ...] = (),
) -> ExpenseRow:
    """Update a locked expense, set the ``now`` columns and ``updated_at``, and return it."""
    stamped = {column: func.clock_timestamp() for column in (*now, "updated_at")}
    return cast(ExpenseRow, await update_row(
        db=db, table=expenses, business_id=business_id, row_id=expense_id,
        values={**values, **stamped},
    ))  # fmt: skip


async def insert_event(
    *,
    db: RequestDb,
    business_id: int,
    expense_id: int,
    actor_id: int | None,
    action: str,
    comment: str | None = None,
) -> None:
    """Append to an expense's audit trail."""
    await db.rows(
        insert(expense_events)
        .values(
            business_id=business_id, expense_id=expense_id, actor_id=actor_id,
            action=action, comment=comment, at=func.clock_timestamp(),
        )
        .returning(expense_events.c.id)
    )  # fmt: skip
