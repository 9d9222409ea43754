"""Receipt: an uploaded file, matched to an expense or not yet."""

from datetime import date, datetime
from enum import Enum
from typing import Any, cast

import strawberry

from db.permissions import Permission
from db.queries.match_candidates import ExpenseCandidateRow
from db.rows import ExpenseRow, ReceiptRow
from resolvers import matching, receipt_files
from resolvers.context import Context
from resolvers.nodes import visible_references
from schema.base import Money, Node, enum_column, money_source, node_type
from schema.expense import Expense
from schema.fields import Sourced, column, fetched, reference
from schema.member import Member


@strawberry.enum(description="Where a receipt is in text extraction and matching.")
class ReceiptProcessing(Enum):
    QUEUED = strawberry.enum_value("QUEUED", description="Waiting for the worker.")
    PROCESSING = strawberry.enum_value("PROCESSING", description="Being read now.")
    DONE = strawberry.enum_value("DONE", description="Read (and matched, when it could be).")
    FAILED = strawberry.enum_value(
        "FAILED", description="Could not be read; `processingError` says why."
    )


@strawberry.type(description="How sure extraction is of each field, 0 (a guess) to 1 (certain).")
class ExtractionConfidence:
    merchant: float | None = strawberry.field(description="Of the merchant's name.")
    total: float | None = strawberry.field(description="Of the total and its currency.")
    date: float | None = strawberry.field(description="Of the date.")


@strawberry.type(
    description="What text extraction found on a receipt; each field null when not found."
)
class ReceiptExtraction(Sourced):
    row: strawberry.Private[ReceiptRow]  # the receipt's, once extraction is DONE
    merchant_name: str | None = column(
        "extracted_merchant", description="The merchant's name as printed."
    )
    spent_at: date | None = column(
        "extracted_spent_on", description="The date printed on the receipt."
    )
    total: Money | None = column(
        lambda row: money_source(row.extracted_total_minor, row.extracted_currency),
        description="The total to pay, in its currency.",
        reads=("extracted_total_minor", "extracted_currency"),
    )
    confidence: ExtractionConfidence = column(
        lambda row: _confidences(row.extracted_confidence or {}),
        description="How sure each field is.",
        reads=("extracted_confidence",),
    )


def _confidences(sure: dict[str, Any]) -> ExtractionConfidence:
    return ExtractionConfidence(
        merchant=_confidence(sure, "merchant"),
        total=_confidence(sure, "total_minor", "total"),
        date=_confidence(sure, "spent_on", "date"),
    )


def _confidence(sure: dict[str, Any], *keys: str) -> float | None:
    """Return the first confidence stored under ``keys`` (the worker's names come first)."""
    for key in keys:
        value = sure.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    return None


@strawberry.type(
    description="An expense the matcher thinks a receipt belongs to, for a person to confirm."
)
class MatchCandidate(Sourced):
    row: strawberry.Private[
        ExpenseCandidateRow
    ]  # the expense's row, with match_score and match_reasons
    expense: Expense = column(lambda row: row, description="The expense.")
    score: float = column("match_score", description="How well it fits, 0 to 1.")
    reasons: list[str] = column(
        lambda row: list(row.match_reasons),
        description='Why, in short phrases: "amount equal", "date +1 day", "merchant 0.82".',
    )


def _extracted(row: ReceiptRow) -> ReceiptRow | None:
    return row if row.processing == "DONE" else None  # the source of its ReceiptExtraction


async def _expenses(ctx: Context, receipts: list[ReceiptRow]) -> list[ExpenseRow | None]:
    rows = await visible_references(ctx, "expenses", [r.expense_id for r in receipts])
    return cast("list[ExpenseRow | None]", rows)


async def _download_urls(ctx: Context, receipts: list[ReceiptRow]) -> list[str]:
    return [receipt_files.download_url(ctx, receipt) for receipt in receipts]


@node_type(description="A receipt file; unmatched until it is attached to an expense.")
class Receipt(Node, Sourced):
    row: strawberry.Private[ReceiptRow]
    file_name: str = column("file_name", description="Sanitised file name as uploaded.")
    content_type: str = column("content_type", description="Type decided from the file's content.")
    size_bytes: int = column("size_bytes", description="File size in bytes.")
    sha256: str = column("sha256", description="SHA-256 of the content, hex.")
    uploaded_at: datetime = column("uploaded_at", description="When it was uploaded.")
    processing: ReceiptProcessing = enum_column(
        "processing", ReceiptProcessing, description="Where it is in text extraction."
    )
    processing_error: str | None = column(
        "processing_error", description="Why extraction failed (FAILED only)."
    )
    extracted: ReceiptExtraction | None = column(
        _extracted, description="What text extraction found; null unless `processing` is DONE."
    )
    expense: Expense | None = fetched(
        _expenses, description="The expense it is attached to, if the viewer may see it."
    )
    uploaded_by: Member = reference(
        "members", "uploaded_by", required=True, description="Who uploaded it."
    )
    download_url: str = fetched(
        _download_urls,
        description=(
            "A fresh signed link to the file, valid for 15 minutes by default: read it again "
            "for a new one rather than storing it."
        ),
        permission=Permission.RECEIPTS_READ,
    )
    match_candidates: list[MatchCandidate] = fetched(
        matching.receipt_match_candidates,
        description=(
            "Expenses it may belong to, best first, for a person to confirm with attachReceipt; "
            "only expenses the viewer sees, and empty once attached. Needs `expenses:read`."
        ),
        permission=Permission.EXPENSES_READ,
    )
