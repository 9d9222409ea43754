"""Receipt: an uploaded file, matched to an expense or not yet."""

from datetime import date, datetime
from enum import Enum
from typing import Any

import strawberry
from sqlalchemy import Row

from resolvers import matching, receipt_files
from resolvers.ids import encode_id
from resolvers.nodes import required_reference, visible_reference
from schema.base import Info, Money, Node
from schema.batch import references
from schema.expense import Expense
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
class ReceiptExtraction:
    merchant_name: str | None = strawberry.field(description="The merchant's name as printed.")
    spent_at: date | None = strawberry.field(description="The date printed on the receipt.")
    total: Money | None = strawberry.field(description="The total to pay, in its currency.")
    confidence: ExtractionConfidence = strawberry.field(description="How sure each field is.")

    @classmethod
    def from_row(cls, row: Row[Any]) -> "ReceiptExtraction":
        sure = row.extracted_confidence or {}
        total = None
        if row.extracted_total_minor is not None and row.extracted_currency is not None:
            total = Money.of(row.extracted_total_minor, row.extracted_currency)
        return cls(
            merchant_name=row.extracted_merchant,
            spent_at=row.extracted_spent_on,
            total=total,
            confidence=ExtractionConfidence(
                merchant=_confidence(sure, "merchant"),
                total=_confidence(sure, "total_minor", "total"),
                date=_confidence(sure, "spent_on", "date"),
            ),
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
class MatchCandidate:
    expense: Expense = strawberry.field(description="The expense.")
    score: float = strawberry.field(description="How well it fits, 0 to 1.")
    reasons: list[str] = strawberry.field(
        description='Why, in short phrases: "amount equal", "date +1 day", "merchant 0.82".'
    )

    @classmethod
    def from_row(cls, row: Row[Any]) -> "MatchCandidate":
        return cls(
            expense=Expense.from_row(row), score=row.match_score, reasons=list(row.match_reasons)
        )


@strawberry.type(description="A receipt file; unmatched until it is attached to an expense.")
class Receipt(Node):
    row: strawberry.Private[Row[Any]]
    file_name: str = strawberry.field(description="Sanitised file name as uploaded.")
    content_type: str = strawberry.field(description="Type decided from the file's content.")
    size_bytes: int = strawberry.field(description="File size in bytes.")
    sha256: str = strawberry.field(description="SHA-256 of the content, hex.")
    uploaded_at: datetime = strawberry.field(description="When it was uploaded.")

    @classmethod
    def from_row(cls, row: Row[Any]) -> "Receipt":
        return cls(
            row=row,
            id=strawberry.ID(encode_id("Receipt", row.id)),
            file_name=row.file_name,
            content_type=row.content_type,
            size_bytes=row.size_bytes,
            sha256=row.sha256,
            uploaded_at=row.uploaded_at,
        )

    @strawberry.field(description="Where it is in text extraction.")
    def processing(self) -> ReceiptProcessing:
        return ReceiptProcessing(self.row.processing)

    @strawberry.field(description="Why extraction failed (FAILED only).")
    def processing_error(self) -> str | None:
        return self.row.processing_error  # type: ignore[no-any-return]

    @strawberry.field(description="What text extraction found; null unless `processing` is DONE.")
    def extracted(self) -> ReceiptExtraction | None:
        if self.row.processing != "DONE":
            return None
        return ReceiptExtraction.from_row(self.row)

    @strawberry.field(
        description=(
            "Expenses it may belong to, best first, for a person to confirm with attachReceipt; "
            "only expenses the viewer sees, and empty once attached. Needs `expenses:read`."
        )
    )
    async def match_candidates(self, info: Info) -> list[MatchCandidate]:
        rows = await matching.receipt_match_candidates(info.context, self.row)
        return [MatchCandidate.from_row(row) for row in rows]

    @strawberry.field(description="The expense it is attached to, if the viewer may see it.")
    async def expense(self, info: Info) -> Expense | None:
        row = await visible_reference(info.context, "expenses", self.row.expense_id)
        return Expense.from_row(row) if row else None

    @strawberry.field(description="Who uploaded it.")
    @references("members", "uploaded_by", "schema.member:Member", required=True)
    async def uploaded_by(self, info: Info) -> Member:
        return Member.from_row(
            await required_reference(info.context, "members", self.row.uploaded_by)
        )

    @strawberry.field(
        description=(
            "A fresh signed link to the file, valid for 15 minutes by default: read it again "
            "for a new one rather than storing it."
        )
    )
    def download_url(self, info: Info) -> str:
        return receipt_files.download_url(info.context, self.row)
