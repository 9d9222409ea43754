"""Receipt rows: insert, lock, match to an expense, find stored content, processing state.

Nothing here commits.
"""

from typing import Any, cast

from sqlalchemy import Update, func, insert, select, update

from db.engine import RequestDb
from db.locks import locked_row
from db.rows import ReceiptRow
from db.tables.expense import expenses
from db.tables.receipt import receipts
from db.writes import events
from db.writes.rows import row_of, update_row


async def insert_receipt(*, db: RequestDb, values: dict[str, Any]) -> ReceiptRow:
    """Insert a receipt and return it."""
    statement = (
        insert(receipts).values(**values, uploaded_at=func.clock_timestamp()).returning(*receipts.c)
    )
    return cast(ReceiptRow, (await db.rows(statement))[0])


async def locked_receipt(*, db: RequestDb, business_id: int, receipt_id: int) -> ReceiptRow | None:
    """Return a receipt locked until the transaction ends (attach/detach of it serialise)."""
    return await locked_row(db=db, table=receipts, business_id=business_id, row_id=receipt_id)


async def set_expense(
    *, db: RequestDb, business_id: int, receipt_id: int, expense_id: int | None
) -> ReceiptRow:
    """Match a locked receipt to an expense (None: unmatch it) and return it."""
    return cast(ReceiptRow, await update_row(
        db=db, table=receipts, business_id=business_id, row_id=receipt_id,
        values={"expense_id": expense_id},
    ))  # fmt: skip


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


async def receipt(*, db: RequestDb, business_id: int, receipt_id: int) -> ReceiptRow | None:
    """Return a receipt of the business."""
    row = await row_of(db=db, table=receipts, business_id=business_id, row_id=receipt_id)
    return cast("ReceiptRow | None", row)


# processing states an extraction job may (re)start from: DONE is final, so a job run
# again after it committed (a retry, a re-picked job) changes nothing
_UNFINISHED = ("QUEUED", "PROCESSING", "FAILED")
MAX_ERROR_CHARS = 200


def _unfinished(business_id: int, receipt_id: int) -> Update:
    """Return the UPDATE of the receipt while its processing is unfinished."""
    return update(receipts).where(
        receipts.c.business_id == business_id,
        receipts.c.id == receipt_id,
        receipts.c.processing.in_(_UNFINISHED),
    )


async def start_processing(
    *, db: RequestDb, business_id: int, receipt_id: int
) -> ReceiptRow | None:
    """Mark an unfinished receipt PROCESSING and return it; None when it is DONE or gone."""
    statement = (
        _unfinished(business_id, receipt_id)
        .values(processing="PROCESSING", processing_error=None)
        .returning(*receipts.c)
    )
    rows = await db.rows(statement)
    return cast(ReceiptRow, rows[0]) if rows else None


async def finish_processing(
    *, db: RequestDb, business_id: int, receipt_id: int, found: dict[str, Any]
) -> bool:
    """Store what extraction found and mark the receipt DONE; False if it was not PROCESSING.

    ``found`` holds the ``extracted_*`` columns and ``extracted_confidence``.
    """
    statement = (
        update(receipts)
        .where(
            receipts.c.business_id == business_id,
            receipts.c.id == receipt_id,
            receipts.c.processing == "PROCESSING",
        )
        .values(**found, processing="DONE", processing_error=None, processed_at=func.now())
        .returning(receipts.c.id)
    )
    if not await db.rows(statement):
        return False
    await _processed(db, business_id, receipt_id, "DONE")
    return True


async def fail_processing(*, db: RequestDb, business_id: int, receipt_id: int, reason: str) -> None:
    """Mark an unfinished receipt FAILED with a short ``reason`` (a DONE one stays DONE)."""
    statement = (
        _unfinished(business_id, receipt_id)
        .values(
            processing="FAILED",
            processing_error=reason.strip()[:MAX_ERROR_CHARS] or "failed",
            processed_at=func.now(),
        )
        .returning(receipts.c.id)
    )
    if await db.rows(statement):
        await _processed(db, business_id, receipt_id, "FAILED")


async def _processed(db: RequestDb, business_id: int, receipt_id: int, outcome: str) -> None:
    """Add the feed's event of a receipt the worker has read (or could not)."""
    await events.emit(
        db=db, business_id=business_id, type="receipt.processed", object_type="Receipt",
        object_id=receipt_id, actor=events.SYSTEM, data={"from": "PROCESSING", "to": outcome},
    )  # fmt: skip


async def known_merchants(*, db: RequestDb, business_id: int, limit: int = 500) -> list[str]:
    """Return the business's most used merchant names, most used first."""
    statement = (
        select(expenses.c.merchant_name)
        .where(expenses.c.business_id == business_id)
        .group_by(expenses.c.merchant_name)
        .order_by(func.count().desc(), expenses.c.merchant_name)
        .limit(limit)
    )
    return [row.merchant_name for row in await db.rows(statement)]
