"""Writes of the card mutations. Run inside RequestDb.savepoint(); nothing here commits."""

from typing import Any, cast

from db.engine import RequestDb
from db.locks import locked_row
from db.rows import CardRow
from db.tables.org import cards
from db.writes.rows import insert_row, update_row


async def locked_card(*, db: RequestDb, business_id: int, card_id: int) -> CardRow | None:
    """Return a card of the business locked until the transaction ends, or None."""
    return await locked_row(db=db, table=cards, business_id=business_id, row_id=card_id)


async def update_card(
    *, db: RequestDb, business_id: int, card_id: int, values: dict[str, Any]
) -> CardRow:
    """Update a locked card and return it."""
    return await update_row(
        db=db, table=cards, business_id=business_id, row_id=card_id, values=values
    )


async def insert_card(*, db: RequestDb, business_id: int, values: dict[str, Any]) -> CardRow:
    """Store a new card and return it."""
    return cast(
        CardRow, await insert_row(db=db, table=cards, business_id=business_id, values=values)
    )
