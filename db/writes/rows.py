"""One row of a business written and returned: the UPDATE, INSERT and read the mutations share.

Run inside the caller's transaction; nothing here commits. The statements are also given
alone, for writes that turn a unique violation into their own exception.
"""

from typing import Any

from sqlalchemy import Row, Table, insert, select, update
from sqlalchemy.sql.dml import ReturningInsert, ReturningUpdate

from db.engine import RequestDb


def updating(
    table: Table, *, business_id: int, row_id: int, values: dict[str, Any]
) -> ReturningUpdate[Any]:
    """Return the UPDATE of the business's row ``row_id`` of ``table``, returning the row."""
    return (
        update(table)
        .where(table.c.business_id == business_id, table.c.id == row_id)
        .values(**values)
        .returning(*table.c)
    )


def inserting(table: Table, *, business_id: int, values: dict[str, Any]) -> ReturningInsert[Any]:
    """Return the INSERT of a row of the business into ``table``, returning the row."""
    return insert(table).values(business_id=business_id, **values).returning(*table.c)


async def update_row(
    *, db: RequestDb, table: Table, business_id: int, row_id: int, values: dict[str, Any]
) -> Row[Any]:
    """Update a locked row of the business and return it."""
    statement = updating(table, business_id=business_id, row_id=row_id, values=values)
    return (await db.rows(statement))[0]


async def insert_row(
    *, db: RequestDb, table: Table, business_id: int, values: dict[str, Any]
) -> Row[Any]:
    """Store a new row of the business and return it."""
    return (await db.rows(inserting(table, business_id=business_id, values=values)))[0]


async def row_of(*, db: RequestDb, table: Table, business_id: int, row_id: int) -> Row[Any] | None:
    """Return the business's row ``row_id`` of ``table``, unlocked, or None."""
    statement = select(table).where(table.c.business_id == business_id, table.c.id == row_id)
    rows = await db.rows(statement)
    return rows[0] if rows else None
