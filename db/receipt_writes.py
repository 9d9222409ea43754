"""Receipt rows: insert, lock, match to an expense, find stored content. Nothing here commits."""

from typing import Any

from sqlalchemy import Row, func, insert, select, update

from db.engine import RequestDb
from db.tables import receipts


async def insert_receipt(*, db: RequestDb, values: dict[str, Any]) -> Row[Any]:
    """Insert a receipt and return it."""
    statement = (
        insert(receipts).values(**values, uploaded_at=func.clock_timestamp()).returning(*receipts.c)
    )
    return (await db.rows(statement))[0]


async def locked_receipt(*, db: RequestDb, business_id: int, receipt_id: int) -> Row[Any] | None:
    """Return a receipt locked until the transaction ends (attach/detach of it serialise)."""
    statement = (
        select(receipts)
        .where(receipts.c.business_id == business_id, receipts.c.id == receipt_id)
        .with_for_update()
    )
    rows = await db.rows(statement)
    return rows[0] if rows else None


async def set_expense(
    *, db: RequestDb, business_id: int, receipt_id: int, expense_id: int | None
) -> Row[Any]:
    """Match a locked receipt to an expense (None: unmatch it) and return it."""
    statement = (
        update(receipts)
        .where(receipts.c.business_id == business_id, receipts.c.id == receipt_id)
        .values(expense_id=expense_id)
        .returning(*receipts.c)
    )
    return (await db.rows(statement))[0]


async def storage_key_of_content(*, db: RequestDb, business_id: int, sha256: str) -> str | None:
    """Return the storage key already holding this content in the business, if any."""
    statement = (
        select(receipts.c.storage_key)
        .where(receipts.c.business_id == business_id, receipts.c.sha256 == sha256)
        .order_by(receipts.c.id)
        .limit(1)
    )
    rows = await db.rows(statement)
    return rows[0].storage_key if rows else None


async def receipt(*, db: RequestDb, business_id: int, receipt_id: int) -> Row[Any] | None:
    """Return a receipt of the business."""
    rows = await db.rows(
        select(receipts).where(receipts.c.business_id == business_id, receipts.c.id == receipt_id)
    )
    return rows[0] if rows else None
