"""indexes for the member and card lists and for team member counts

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 09:25:00.000000

The members and cards lists page oldest first: without an index on that order, each page
sorted every member (card) of the business, 0.9 ms of PostgreSQL for a page of 20 in a
business of 2,300 (bench/RESULTS.md). A team's member count reads only active members:
a partial index answers it without reading a row (0.57 -> 0.22 ms for 20 teams of 1,318).
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_members_active_business_id_team_id",
        "members",
        ["business_id", "team_id"],
        postgresql_where=sa.text("deactivated_at IS NULL"),
    )
    op.create_index(
        "ix_members_business_id_created_at_id", "members", ["business_id", "created_at", "id"]
    )
    op.create_index(
        "ix_cards_business_id_created_at_id", "cards", ["business_id", "created_at", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_cards_business_id_created_at_id", table_name="cards")
    op.drop_index("ix_members_business_id_created_at_id", table_name="members")
    op.drop_index("ix_members_active_business_id_team_id", table_name="members")
