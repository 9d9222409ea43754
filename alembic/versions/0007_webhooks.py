"""webhooks: endpoints businesses register, and one delivery per endpoint and event

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 11:20:00.000000

An endpoint keeps its own position in the change feed (``feed_tx``, ``feed_id``, the
cursor of db/writes/events.py): the worker turns the events after it into deliveries, then
moves it. A delivery is retried with backoff until it is delivered or a day has passed.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op
from db.migration_ddl import TIMESTAMP, create_business_table, now_column, same_business_fk

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_business_table(
        "webhook_endpoints",
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("event_types", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("previous_secret", sa.Text(), nullable=True),
        sa.Column("previous_secret_until", TIMESTAMP, nullable=True),
        sa.Column("enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("disabled_reason", sa.Text(), nullable=True),
        sa.Column("failing_since", TIMESTAMP, nullable=True),
        sa.Column("feed_tx", sa.BigInteger(), nullable=True),
        sa.Column("feed_id", sa.BigInteger(), nullable=True),
        now_column("created_at"),
    )
    # not create_business_table: a delivery is deleted with its endpoint (the foreign key
    # below), which is deleted with its business
    op.create_table(
        "webhook_deliveries",
        sa.Column("business_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("endpoint_id", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.Text(), server_default="PENDING", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        now_column("next_attempt_at"),
        sa.Column("first_attempt_at", TIMESTAMP, nullable=True),
        sa.Column("last_http_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", TIMESTAMP, nullable=True),
        now_column("created_at"),
        sa.CheckConstraint(
            "status IN ('PENDING', 'DELIVERED', 'FAILED')",
            name=op.f("ck_webhook_deliveries_status"),
        ),
        same_business_fk(
            "webhook_deliveries", "endpoint_id", "webhook_endpoints", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("business_id", "id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint(
            "business_id",
            "endpoint_id",
            "event_id",
            name=op.f("uq_webhook_deliveries_business_id_endpoint_id_event_id"),
        ),
    )
    op.create_index(
        "ix_webhook_deliveries_due", "webhook_deliveries", ["next_attempt_at"],
        postgresql_where=sa.text("status = 'PENDING'"),
    )  # fmt: skip


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_due", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_endpoints")
