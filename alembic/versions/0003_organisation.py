"""organisation API: archived teams and categories, deactivated members, GL codes, audit

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 06:10:00.000000

Teams and categories are archived, never deleted (expenses keep pointing at them);
members are deactivated (their credentials stop, their history stays). A category's GL
code is unique within its business, so an ERP can upsert a chart of accounts by it.
``audit_events`` records who changed the organisation.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op
from db.migration_ddl import JSONB, TIMESTAMP, create_business_table, now_column, reference

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("teams", sa.Column("archived_at", TIMESTAMP, nullable=True))
    op.add_column("members", sa.Column("deactivated_at", TIMESTAMP, nullable=True))
    op.add_column("categories", sa.Column("archived_at", TIMESTAMP, nullable=True))
    op.create_index(
        "uq_categories_business_id_gl_code",
        "categories",
        ["business_id", "gl_code"],
        unique=True,
        postgresql_where=sa.text("gl_code IS NOT NULL"),
    )
    create_business_table(
        "audit_events",
        *reference("audit_events", "actor_member_id", "members", nullable=True),
        sa.Column("actor_api_key_id", sa.BigInteger(), nullable=True),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("object_type", sa.Text(), nullable=False),
        sa.Column("object_id", sa.BigInteger(), nullable=False),
        sa.Column("details", JSONB, server_default=sa.text("'{}'::jsonb"), nullable=False),
        now_column("at"),
    )
    op.create_index(
        "ix_audit_events_object", "audit_events", ["business_id", "object_type", "object_id", "at"]
    )
    op.create_index("ix_audit_events_at", "audit_events", ["business_id", "at", "id"])


def downgrade() -> None:
    op.drop_index("ix_audit_events_at", table_name="audit_events")
    op.drop_index("ix_audit_events_object", table_name="audit_events")
    op.drop_table("audit_events")
    op.drop_index("uq_categories_business_id_gl_code", table_name="categories")
    op.drop_column("categories", "archived_at")
    op.drop_column("members", "deactivated_at")
    op.drop_column("teams", "archived_at")
