"""Writes of the card mutations. Run inside RequestDb.savepoint(); nothing here commits."""

from typing import Any

from sqlalchemy import Row, insert, update

from db.engine import RequestDb
from db.locks import locked_row
from db.tables import cards, members, teams


async def locked_card(*, db: RequestDb, business_id: int, card_id: int) -> Row[Any] | None:
    """Return a card of the business locked until the transaction ends, or None."""
    return await locked_row(db=db, table=cards, business_id=business_id, row_id=card_id)


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


async def shared_member(*, db: RequestDb, business_id: int, member_id: int) -> Row[Any] | None:
    """Return a member of the business, share-locked: it cannot be deactivated meanwhile."""
    return await locked_row(
        db=db, table=members, business_id=business_id, row_id=member_id, mode="SHARE"
    )


async def shared_team(*, db: RequestDb, business_id: int, team_id: int) -> Row[Any] | None:
    """Return a team of the business, share-locked: it cannot be archived meanwhile."""
    return await locked_row(
        db=db, table=teams, business_id=business_id, row_id=team_id, mode="SHARE"
    )


async def insert_card(*, db: RequestDb, business_id: int, values: dict[str, Any]) -> Row[Any]:
    """Store a new card and return it."""
    statement = insert(cards).values(business_id=business_id, **values).returning(*cards.c)
    return (await db.rows(statement))[0]
