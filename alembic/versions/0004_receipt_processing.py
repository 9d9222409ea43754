"""receipts that file themselves: processing state, what extraction found, match candidates

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 06:30:00.000000

A receipt goes QUEUED -> PROCESSING -> DONE or FAILED (with the reason) as the worker
extracts its merchant, date and total. Receipts uploaded before this revision are DONE
(nothing was extracted from them), as are rows written by seeds
and imports; an upload sets QUEUED in the transaction that enqueues its extraction job. The matcher keeps scored candidates for a person to
confirm, and remembers the pairs a person detached so it never attaches them again.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op
from db.migration_ddl import JSONB, TIMESTAMP, business_fk, now_column, same_business_fk

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATES = "processing IN ('QUEUED', 'PROCESSING', 'DONE', 'FAILED')"


def upgrade() -> None:
    # existing receipts were never queued: DONE; an upload sets QUEUED with its job
    op.add_column(
        "receipts", sa.Column("processing", sa.Text(), server_default="DONE", nullable=False)
    )
    op.add_column("receipts", sa.Column("processing_error", sa.Text(), nullable=True))
    op.add_column("receipts", sa.Column("processed_at", TIMESTAMP, nullable=True))
    op.add_column("receipts", sa.Column("extracted_merchant", sa.Text(), nullable=True))
    op.add_column("receipts", sa.Column("extracted_spent_on", sa.Date(), nullable=True))
    op.add_column("receipts", sa.Column("extracted_total_minor", sa.BigInteger(), nullable=True))
    op.add_column("receipts", sa.Column("extracted_currency", sa.Text(), nullable=True))
    op.add_column("receipts", sa.Column("extracted_confidence", JSONB, nullable=True))
    op.create_check_constraint(op.f("ck_receipts_processing"), "receipts", STATES)
    op.create_index(
        "ix_receipts_unmatched",
        "receipts",
        ["business_id", "processing", "uploaded_at", "id"],
        postgresql_where=sa.text("expense_id IS NULL"),
    )
    for name in ("receipt_match_candidates", "receipt_match_refusals"):
        columns = [
            sa.Column("business_id", sa.BigInteger(), nullable=False),
            sa.Column("receipt_id", sa.BigInteger(), nullable=False),
            sa.Column("expense_id", sa.BigInteger(), nullable=False),
        ]
        if name == "receipt_match_candidates":
            columns += [
                sa.Column("score", sa.Float(), nullable=False),
                sa.Column("reasons", JSONB, server_default=sa.text("'[]'::jsonb"), nullable=False),
            ]
        op.create_table(
            name,
            *columns,
            now_column("created_at"),
            business_fk(name),
            same_business_fk(name, "receipt_id", "receipts"),
            same_business_fk(name, "expense_id", "expenses"),
            sa.PrimaryKeyConstraint(
                "business_id", "receipt_id", "expense_id", name=op.f(f"pk_{name}")
            ),
        )
    op.create_check_constraint(
        op.f("ck_receipt_match_candidates_score_range"),
        "receipt_match_candidates",
        "score >= 0 AND score <= 1",
    )
    op.create_index(
        "ix_receipt_match_candidates_expense",
        "receipt_match_candidates",
        ["business_id", "expense_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_receipt_match_candidates_expense", table_name="receipt_match_candidates")
    op.drop_table("receipt_match_refusals")
    op.drop_table("receipt_match_candidates")
    op.drop_index("ix_receipts_unmatched", table_name="receipts")
    op.drop_constraint(op.f("ck_receipts_processing"), "receipts", type_="check")
    for column in ("extracted_confidence", "extracted_currency", "extracted_total_minor",
                   "extracted_spent_on", "extracted_merchant", "processed_at",
                   "processing_error", "processing"):  # fmt: skip
        op.drop_column("receipts", column)
