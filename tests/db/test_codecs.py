"""Timestamps and numerics read as text (db/codecs.py) give the values binary gave."""

import asyncio
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import asyncpg
from sqlalchemy import literal, select
from sqlalchemy.ext.asyncio import AsyncEngine

from db.connect import plain_url
from db.engine import RequestDb
from db.tables.expense import expenses
from tests.world import World


async def test_rows_read_as_text_equal_rows_read_in_binary(
    engine: AsyncEngine, database_url: str, world: World
) -> None:
    page = select(expenses).where(expenses.c.business_id == world.a.id).order_by(expenses.c.id)
    db = RequestDb(engine)
    try:
        alone = await db.rows(page)
        merged = await _together(db, page)
    finally:
        await db.close()
    binary = await asyncpg.connect(plain_url(database_url))  # asyncpg's own codecs
    try:
        sql = "SELECT * FROM expenses WHERE business_id = $1 ORDER BY id"
        expected = [tuple(record) for record in await binary.fetch(sql, world.a.id)]
    finally:
        await binary.close()
    assert len(expected) > 3
    for got in (alone, merged):
        assert [tuple(row) for row in got] == expected
        assert [[type(v) for v in row] for row in got] == [[type(v) for v in e] for e in expected]
        assert {row.spent_at.tzinfo for row in got} == {UTC}
        assert all(isinstance(row.fx_rate, Decimal) for row in got)


async def _together(db: RequestDb, statement: Any) -> Any:
    """Return the rows of ``statement`` read in the same turn as another read (merged)."""
    found = await asyncio.gather(db.rows(statement), db.rows(select(literal(1).label("one"))))
    return found[0]


async def test_parameters_keep_their_instant_and_digits(engine: AsyncEngine) -> None:
    india = timezone(timedelta(hours=5, minutes=30))
    moment = datetime(2026, 3, 1, 9, 15, 30, 123456, tzinfo=india)
    amount = Decimal("12345678901.0123456789")
    db = RequestDb(engine)
    try:
        (row,) = await db.rows(
            select(literal(moment).label("moment"), literal(amount).label("amount"))
        )
    finally:
        await db.close()
    assert row.moment == moment and row.moment.tzinfo is UTC
    assert row.moment.isoformat() == "2026-03-01T03:45:30.123456+00:00"
    assert row.amount == amount and str(row.amount) == str(amount)
