"""events: the change feed, one row per committed change, written in the change's transaction

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 11:10:00.000000

``tx`` is the writing transaction's id (``pg_current_xact_id()``, an xid8 as bigint).
Readers page by ``(tx, id)`` and only below the oldest transaction still running
(``pg_snapshot_xmin(pg_current_snapshot())``): a transaction that started earlier but
commits later can never appear behind a cursor that has moved past it (db/writes/events.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op
from db.migration_ddl import JSONB, TIMESTAMP, create_business_table

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_business_table(
        "events",
        sa.Column(
            "tx",
            sa.BigInteger(),
            server_default=sa.text("(pg_current_xact_id())::text::bigint"),
            nullable=False,
        ),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column(
            "occurred_at", TIMESTAMP, server_default=sa.text("clock_timestamp()"), nullable=False
        ),
        sa.Column("actor_member_id", sa.BigInteger(), nullable=True),
        sa.Column("actor_api_key_id", sa.BigInteger(), nullable=True),
        sa.Column("object_type", sa.Text(), nullable=False),
        sa.Column("object_id", sa.BigInteger(), nullable=False),
        sa.Column("data", JSONB, server_default=sa.text("'{}'::jsonb"), nullable=False),
    )
    op.create_index("ix_events_feed", "events", ["business_id", "tx", "id"])
    op.create_index("ix_events_object", "events", ["business_id", "object_type", "object_id"])
    op.create_index("ix_events_occurred_at", "events", ["occurred_at"])


def downgrade() -> None:
    op.drop_index("ix_events_occurred_at", table_name="events")
    op.drop_index("ix_events_object", table_name="events")
    op.drop_index("ix_events_feed", table_name="events")
    op.drop_table("events")
