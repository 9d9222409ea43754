"""Receipts: the files, what was read from them, the expenses they may belong to."""

from datetime import date, datetime
from typing import Protocol

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    Float,
    Index,
    PrimaryKeyConstraint,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.schema import SchemaItem

from db.tables.base import (
    Timestamp,
    business_id_column,
    business_table,
    created_at_column,
    metadata,
    one_of,
    reference,
)

RECEIPT_PROCESSING = ("QUEUED", "PROCESSING", "DONE", "FAILED")

receipts = business_table(
    "receipts",
    *reference("expense_id", "expenses", nullable=True),
    *reference("uploaded_by", "members"),
    Column("file_name", Text, nullable=False),
    Column("content_type", Text, nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("sha256", Text, nullable=False),
    Column("storage_key", Text, nullable=False),
    Column("uploaded_at", Timestamp, nullable=False, server_default=func.now()),
    # text extraction by the worker: QUEUED -> PROCESSING -> DONE | FAILED (with the reason);
    # an upload sets QUEUED with its job, rows written otherwise (seeds, imports) are DONE
    Column("processing", Text, nullable=False, server_default="DONE"),
    Column("processing_error", Text, nullable=True),
    Column("processed_at", Timestamp, nullable=True),
    # what extraction found; each null when not found; confidence 0..1 per field
    Column("extracted_merchant", Text, nullable=True),
    Column("extracted_spent_on", Date, nullable=True),
    Column("extracted_total_minor", BigInteger, nullable=True),
    Column("extracted_currency", Text, nullable=True),
    Column("extracted_confidence", JSONB, nullable=True),
    CheckConstraint(one_of("processing", RECEIPT_PROCESSING), name="processing"),
    CheckConstraint("size_bytes >= 0", name="size_nonnegative"),
    CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name="sha256_hex"),
    Index("ix_receipts_expense", "business_id", "expense_id"),
    Index("ix_receipts_uploaded", "business_id", "uploaded_at", "id"),
    Index("ix_receipts_uploader", "business_id", "uploaded_by"),
    Index("ix_receipts_sha256", "business_id", "sha256"),
    # the inbox: unmatched receipts by state, newest first
    Index(
        "ix_receipts_unmatched",
        "business_id",
        "processing",
        "uploaded_at",
        "id",
        postgresql_where=text("expense_id IS NULL"),
    ),
)


def _receipt_expense_pairs(name: str, *items: SchemaItem) -> Table:
    """Return a table of pairs of a receipt and an expense of the same business, then ``items``."""
    return Table(
        name,
        metadata,
        business_id_column(),
        *reference("receipt_id", "receipts"),
        *reference("expense_id", "expenses"),
        *items,
        created_at_column(),
        PrimaryKeyConstraint("business_id", "receipt_id", "expense_id"),
    )


# expenses a receipt may belong to, scored by the matcher; shown for a person to confirm
receipt_match_candidates = _receipt_expense_pairs(
    "receipt_match_candidates",
    Column("score", Float, nullable=False),
    Column("reasons", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    CheckConstraint("score >= 0 AND score <= 1", name="score_range"),
    Index("ix_receipt_match_candidates_expense", "business_id", "expense_id"),
)

# pairs a person detached: never attached automatically again
receipt_match_refusals = _receipt_expense_pairs("receipt_match_refusals")


# The row type of each table above (db/rows.py says how they are used).


class ReceiptRow(Protocol):
    """A row of ``receipts``."""

    business_id: int
    id: int
    expense_id: int | None
    uploaded_by: int
    file_name: str
    content_type: str
    size_bytes: int
    sha256: str
    storage_key: str
    uploaded_at: datetime
    processing: str
    processing_error: str | None
    processed_at: datetime | None
    extracted_merchant: str | None
    extracted_spent_on: date | None
    extracted_total_minor: int | None
    extracted_currency: str | None
    extracted_confidence: dict[str, float] | None


class MatchCandidateRow(Protocol):
    """A row of ``receipt_match_candidates``."""

    business_id: int
    receipt_id: int
    expense_id: int
    score: float
    reasons: list[str]
    created_at: datetime


class MatchRefusalRow(Protocol):
    """A row of ``receipt_match_refusals``."""

    business_id: int
    receipt_id: int
    expense_id: int
    created_at: datetime
