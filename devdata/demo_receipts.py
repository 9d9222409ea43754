"""The demo's receipts: a few files for expenses that lack one, for the worker to file.

Rendered as PDFs with a text layer and one photo (extraction/samples.py), stored like uploads, QUEUED,
their extraction jobs enqueued in the same transaction: within seconds of `demo` starting,
the worker reads them and attaches each to its expense, so a first-time user sees it.
"""

import hashlib
from pathlib import Path
from zoneinfo import ZoneInfo

from db.engine import RequestDb
from db.receipt_storage import LocalStorage, content_key
from db.writes import jobs
from db.writes import receipts as receipt_writes
from devdata.demo import DemoExpenseRow, demo_receipt_count, expenses_without_receipts
from extraction.samples import Kind, SampleTruth, render

DEMO_RECEIPTS = 3
_TYPES = {"pdf": "application/pdf", "png": "image/png"}


def _truth(expense: DemoExpenseRow) -> SampleTruth:
    """Return what the expense's receipt says: its merchant, local day and amount."""
    amount: int = expense.amount_minor
    return SampleTruth(
        merchant=expense.merchant_name,
        spent_on=expense.spent_at.astimezone(ZoneInfo(expense.timezone)).date(),
        currency=expense.currency,
        items=(((expense.description or "Purchase")[:28], amount),),
        subtotal_minor=amount,
        tax_minor=0,
        total_minor=amount,
    )


async def seed_demo_receipts(*, db: RequestDb, receipts_dir: Path, business_id: int) -> int:
    """Store and queue receipts for expenses that have none, each from its spender; return how many.

    Runs once per business: a demo that already has its receipts adds none.
    """
    await db.begin_write()
    if await demo_receipt_count(db=db, business_id=business_id):
        return 0
    storage = LocalStorage(receipts_dir)
    expenses = await expenses_without_receipts(db=db, business_id=business_id, limit=DEMO_RECEIPTS)
    for n, expense in enumerate(expenses, start=1):
        # the last one is a photo, read by OCR; the others are PDFs with a text layer
        kind: Kind = "png" if n == DEMO_RECEIPTS else "pdf"
        try:
            data = render(_truth(expense), kind=kind, seed=n)
        except RuntimeError:  # no fonts to draw a photo with: a PDF needs none
            kind = "pdf"
            data = render(_truth(expense), kind=kind, seed=n)
        sha256 = hashlib.sha256(data).hexdigest()
        key = content_key(business_id, sha256)
        storage.put(key, data)
        row = await receipt_writes.insert_receipt(
            db=db,
            values={
                "business_id": business_id, "expense_id": None, "uploaded_by": expense.member_id,
                "file_name": f"demo-receipt-{n}.{kind}", "content_type": _TYPES[kind],
                "size_bytes": len(data), "sha256": sha256, "storage_key": key,
                "processing": "QUEUED",
            },
        )  # fmt: skip
        await jobs.enqueue(
            db=db,
            entrypoint=jobs.EXTRACT_RECEIPT,
            payload={"business_id": business_id, "receipt_id": row.id},
        )
    return len(expenses)
