"""Writes of the card mutations. Run inside RequestDb.savepoint(); nothing here commits."""

from typing import Any

from sqlalchemy import Row, select, update

from db.engine import RequestDb
from db.tables import cards


async def locked_card(*, db: RequestDb, business_id: int, card_id: int) -> Row[Any] | None:
    """Return a card of the business locked until the transaction ends, or None."""
    statement = (
        select(cards)
        .where(cards.c.business_id == business_id, cards.c.id == card_id)
        .with_for_update()
    )
    rows = await db.rows(statement)
    return rows[0] if rows else None


async def update_card(
    *, db: RequestDb, business_id: int, card_id: int, values: dict[str, Any]
) -> Row[Any]:
    """Update a locked card and return it."""
    statement = (
        update(cards)
        .where(cards.c.business_id == business_id, cards.c.id == card_id)
        .values(**values)
        .returning(*cards.c)
    )
    return (await db.rows(statement))[0]
