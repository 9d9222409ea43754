"""Receipts: the files, what was read from them, the expenses they may belong to."""

from datetime import date, datetime
from typing import Protocol

import sqlalchemy as sa
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
    sa.Column("file_name", sa.Text, nullable=False),
    sa.Column("content_type", sa.Text, nullable=False),
    sa.Column("size_bytes", sa.BigInteger, nullable=False),
    sa.Column("sha256", sa.Text, nullable=False),
    sa.Column("storage_key", sa.Text, nullable=False),
    sa.Column("uploaded_at", Timestamp, nullable=False, server_default=sa.func.now()),
    # text extraction by the worker: QUEUED -> PROCESSING -> DONE | FAILED (with the reason);
    # an upload sets QUEUED with its job, rows written otherwise (seeds, imports) are DONE
    sa.Column("processing", sa.Text, nullable=False, server_default="DONE"),
    sa.Column("processing_error", sa.Text, nullable=True),
    sa.Column("processed_at", Timestamp, nullable=True),
    # what extraction found; each null when not found; confidence 0..1 per field
    sa.Column("extracted_merchant", sa.Text, nullable=True),
    sa.Column("extracted_spent_on", sa.Date, nullable=True),
    sa.Column("extracted_total_minor", sa.BigInteger, nullable=True),
    sa.Column("extracted_currency", sa.Text, nullable=True),
    sa.Column("extracted_confidence", JSONB, nullable=True),
    sa.CheckConstraint(one_of("processing", RECEIPT_PROCESSING), name="processing"),
    sa.CheckConstraint("size_bytes >= 0", name="size_nonnegative"),
    sa.CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name="sha256_hex"),
    sa.Index("ix_receipts_expense", "business_id", "expense_id"),
    sa.Index("ix_receipts_uploaded", "business_id", "uploaded_at", "id"),
    sa.Index("ix_receipts_uploader", "business_id", "uploaded_by"),
    sa.Index("ix_receipts_sha256", "business_id", "sha256"),
    # the inbox: unmatched receipts by state, newest first
    sa.Index(
        "ix_receipts_unmatched",
        "business_id",
        "processing",
        "uploaded_at",
        "id",
        postgresql_where=sa.text("expense_id IS NULL"),
    ),
)


def _receipt_expense_pairs(name: str, *items: SchemaItem) -> sa.Table:
    """Return a table of pairs of a receipt and an expense of the same business, then ``items``."""
    return sa.Table(
        name,
        metadata,
        business_id_column(),
        *reference("receipt_id", "receipts"),
        *reference("expense_id", "expenses"),
        *items,
        created_at_column(),
        sa.PrimaryKeyConstraint("business_id", "receipt_id", "expense_id"),
    )


# expenses a receipt may belong to, scored by the matcher; shown for a person to confirm
receipt_match_candidates = _receipt_expense_pairs(
    "receipt_match_candidates",
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("reasons", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
    sa.CheckConstraint("score >= 0 AND score <= 1", name="score_range"),
    sa.Index("ix_receipt_match_candidates_expense", "business_id", "expense_id"),
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
