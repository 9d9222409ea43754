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
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = postgresql.TIMESTAMP(timezone=True)


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
    op.create_table(
        "audit_events",
        sa.Column("business_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("actor_member_id", sa.BigInteger(), nullable=True),
        sa.Column("actor_api_key_id", sa.BigInteger(), nullable=True),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("object_type", sa.Text(), nullable=False),
        sa.Column("object_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "details",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("at", TIMESTAMP, server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["business_id"],
            ["businesses.id"],
            name=op.f("fk_audit_events_business_id_businesses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["business_id", "actor_member_id"],
            ["members.business_id", "members.id"],
            name=op.f("fk_audit_events_business_id_actor_member_id_members"),
        ),
        sa.PrimaryKeyConstraint("business_id", "id", name=op.f("pk_audit_events")),
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
