"""One row of a business, locked for the rest of the request's write transaction."""

from typing import Any, Literal

from sqlalchemy import Row, Table, select

from db.engine import RequestDb

# UPDATE: nobody else may lock or change it; NO_KEY_UPDATE: rows referencing it may still be
# written; SHARE: it cannot change, others may read and share-lock it too
LockMode = Literal["UPDATE", "NO_KEY_UPDATE", "SHARE"]


async def locked_row(
    *, db: RequestDb, table: Table, business_id: int, row_id: int, mode: LockMode = "UPDATE"
) -> Row[Any] | None:
    """Return the row ``row_id`` of ``table`` in the business, locked in ``mode``, or None."""
    statement = (
        select(table)
        .where(table.c.business_id == business_id, table.c.id == row_id)
        .with_for_update(read=mode == "SHARE", key_share=mode == "NO_KEY_UPDATE")
    )
    rows = await db.rows(statement)
    return rows[0] if rows else None
