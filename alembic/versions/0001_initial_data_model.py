"""initial data model

Revision ID: 0001
Revises:
Create Date: 2026-11-24 14:38:34.717506
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op
from db.migration_ddl import (
    JSONB,
    TIMESTAMP,
    business_fk,
    create_business_index,
    create_business_table,
    currency,
    drop_business_index,
    now_column,
    reference,
)

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# the btree indexes of expenses and receipts after business_id: for keyset paging, the
# ordering column and then id
EXPENSE_INDEXES = {
    "ix_expenses_amount": ["home_amount_minor", "id"],
    "ix_expenses_card_spent": ["card_id", "spent_at", "id"],
    "ix_expenses_category": ["category_id"],
    "ix_expenses_created": ["created_at", "id"],
    "ix_expenses_member_spent": ["member_id", "spent_at", "id"],
    "ix_expenses_spent": ["spent_at", "id"],
    "ix_expenses_status_spent": ["status", "spent_at", "id"],
    "ix_expenses_team_spent": ["team_id", "spent_at", "id"],
    "ix_expenses_updated": ["updated_at", "id"],
}
RECEIPT_INDEXES = {
    "ix_receipts_expense": ["expense_id"],
    "ix_receipts_sha256": ["sha256"],
    "ix_receipts_uploaded": ["uploaded_at", "id"],
    "ix_receipts_uploader": ["uploaded_by"],
}


def upgrade() -> None:
    # trigram search on merchant names, in a GIN index that leads with business_id
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
    op.create_table(
        "businesses",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        *currency("businesses", "home_currency"),
        sa.Column("timezone", sa.Text(), server_default="UTC", nullable=False),
        now_column("created_at"),
        sa.CheckConstraint(
            "length(name) BETWEEN 1 AND 200", name=op.f("ck_businesses_name_length")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_businesses")),
    )
    op.create_table(
        "fx_rates",
        *currency("fx_rates", "currency"),
        *currency("fx_rates", "quote_currency"),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("rate", sa.Numeric(precision=20, scale=10), nullable=False),
        sa.CheckConstraint("rate > 0", name=op.f("ck_fx_rates_rate_positive")),
        sa.PrimaryKeyConstraint("currency", "quote_currency", "day", name=op.f("pk_fx_rates")),
    )
    create_business_table(
        "categories",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("gl_code", sa.Text(), nullable=True),
        now_column("created_at"),
        sa.UniqueConstraint("business_id", "name", name=op.f("uq_categories_business_id_name")),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("business_id", sa.BigInteger(), nullable=False),
        sa.Column("principal", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("request_hash", sa.Text(), nullable=False),
        sa.Column("response", JSONB, nullable=True),
        now_column("created_at"),
        sa.CheckConstraint(
            "length(key) BETWEEN 1 AND 255", name=op.f("ck_idempotency_keys_key_length")
        ),
        business_fk("idempotency_keys"),
        sa.PrimaryKeyConstraint(
            "business_id", "principal", "key", name=op.f("pk_idempotency_keys")
        ),
    )
    create_business_index("idempotency_keys", "created_at")
    create_business_table(
        "teams",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("manager_id", sa.BigInteger(), nullable=True),
        now_column("created_at"),
        sa.UniqueConstraint("business_id", "name", name=op.f("uq_teams_business_id_name")),
    )
    create_business_index("teams", "manager_id")
    create_business_table(
        "members",
        *reference("members", "team_id", "teams", nullable=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        now_column("created_at"),
        sa.CheckConstraint(
            "email = lower(email) AND email LIKE '%_@_%'", name=op.f("ck_members_email")
        ),
        sa.CheckConstraint(
            "role IN ('ADMIN', 'FINANCE', 'MANAGER', 'EMPLOYEE')", name=op.f("ck_members_role")
        ),
        sa.UniqueConstraint("business_id", "email", name=op.f("uq_members_business_id_email")),
    )
    create_business_index("members", "team_id")
    op.create_index(op.f("ix_members_email"), "members", ["email"], unique=False)
    # teams and members reference each other: the manager side is added once both exist
    op.create_foreign_key(
        op.f("fk_teams_business_id_manager_id_members"),
        "teams",
        "members",
        ["business_id", "manager_id"],
        ["business_id", "id"],
    )
    create_business_table(
        "policies",
        sa.Column("name", sa.Text(), nullable=False),
        *reference("policies", "category_id", "categories", nullable=True),
        sa.Column("max_amount_minor", sa.BigInteger(), nullable=True),
        sa.Column("receipt_required_above_minor", sa.BigInteger(), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        now_column("created_at"),
        sa.CheckConstraint("max_amount_minor > 0", name=op.f("ck_policies_max_amount_positive")),
        sa.CheckConstraint(
            "receipt_required_above_minor >= 0", name=op.f("ck_policies_receipt_threshold")
        ),
    )
    create_business_index("policies", "category_id")
    create_business_table(
        "api_keys",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("prefix", sa.Text(), nullable=False),
        sa.Column("secret_hash", sa.LargeBinary(), nullable=False),
        sa.Column("scopes", postgresql.ARRAY(sa.Text()), nullable=False),
        *reference("api_keys", "created_by", "members", nullable=True),
        now_column("created_at"),
        sa.Column("last_used_at", TIMESTAMP, nullable=True),
        sa.Column("revoked_at", TIMESTAMP, nullable=True),
        sa.CheckConstraint(
            "octet_length(secret_hash) = 32", name=op.f("ck_api_keys_secret_hash_sha256")
        ),
        sa.UniqueConstraint("prefix", name=op.f("uq_api_keys_prefix")),
    )
    create_business_table(
        "cards",
        *reference("cards", "holder_id", "members"),
        *reference("cards", "team_id", "teams", nullable=True),
        sa.Column("last4", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default="ACTIVE", nullable=False),
        *currency("cards", "currency"),
        sa.Column("spend_limit_minor", sa.BigInteger(), nullable=True),
        sa.Column("limit_period", sa.Text(), nullable=True),
        now_column("created_at"),
        sa.CheckConstraint("kind IN ('PHYSICAL', 'VIRTUAL')", name=op.f("ck_cards_kind")),
        sa.CheckConstraint("last4 ~ '^[0-9]{4}$'", name=op.f("ck_cards_last4")),
        sa.CheckConstraint(
            "limit_period IN ('DAY', 'WEEK', 'MONTH')", name=op.f("ck_cards_limit_period")
        ),
        sa.CheckConstraint(
            "status IN ('ACTIVE', 'FROZEN', 'CANCELLED')", name=op.f("ck_cards_status")
        ),
        sa.CheckConstraint(
            "(spend_limit_minor IS NULL) = (limit_period IS NULL)",
            name=op.f("ck_cards_limit_needs_period"),
        ),
        sa.CheckConstraint("spend_limit_minor > 0", name=op.f("ck_cards_spend_limit_positive")),
    )
    create_business_index("cards", "holder_id")
    create_business_index("cards", "team_id")
    create_business_table(
        "expenses",
        *reference("expenses", "member_id", "members"),
        *reference("expenses", "team_id", "teams", nullable=True),
        *reference("expenses", "card_id", "cards", nullable=True),
        *reference("expenses", "category_id", "categories", nullable=True),
        sa.Column("merchant_name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        *currency("expenses", "currency"),
        sa.Column("home_amount_minor", sa.BigInteger(), nullable=False),
        *currency("expenses", "home_currency"),
        sa.Column("fx_rate", sa.Numeric(precision=20, scale=10), nullable=False),
        sa.Column("fx_rate_day", sa.Date(), nullable=True),
        sa.Column("spent_at", TIMESTAMP, nullable=False),
        sa.Column("status", sa.Text(), server_default="DRAFT", nullable=False),
        sa.Column("submitted_at", TIMESTAMP, nullable=True),
        sa.Column("decided_at", TIMESTAMP, nullable=True),
        *reference("expenses", "decided_by", "members", nullable=True),
        sa.Column("reimbursed_at", TIMESTAMP, nullable=True),
        sa.Column("exported_at", TIMESTAMP, nullable=True),
        now_column("created_at"),
        now_column("updated_at"),
        sa.Column("deleted_at", TIMESTAMP, nullable=True),
        sa.CheckConstraint(
            "status IN ('DRAFT', 'SUBMITTED', 'APPROVED', 'REJECTED', 'REIMBURSED')",
            name=op.f("ck_expenses_status"),
        ),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_expenses_amount_positive")),
        sa.CheckConstraint("fx_rate > 0", name=op.f("ck_expenses_fx_rate_positive")),
        sa.CheckConstraint(
            "home_amount_minor >= 0", name=op.f("ck_expenses_home_amount_nonnegative")
        ),
        sa.CheckConstraint(
            "length(merchant_name) BETWEEN 1 AND 200", name=op.f("ck_expenses_merchant_length")
        ),
    )
    for name, columns in EXPENSE_INDEXES.items():
        op.create_index(name, "expenses", ["business_id", *columns], unique=False)
    op.create_index(
        "ix_expenses_merchant_trgm",
        "expenses",
        ["business_id", "merchant_name"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"merchant_name": "gin_trgm_ops"},
    )
    create_business_table(
        "expense_events",
        *reference("expense_events", "expense_id", "expenses"),
        *reference("expense_events", "actor_id", "members", nullable=True),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        now_column("at"),
    )
    op.create_index(
        "ix_expense_events_expense",
        "expense_events",
        ["business_id", "expense_id", "at", "id"],
        unique=False,
    )
    create_business_table(
        "receipts",
        *reference("receipts", "expense_id", "expenses", nullable=True),
        *reference("receipts", "uploaded_by", "members"),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("content_type", sa.Text(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.Text(), nullable=False),
        sa.Column("storage_key", sa.Text(), nullable=False),
        now_column("uploaded_at"),
        sa.CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name=op.f("ck_receipts_sha256_hex")),
        sa.CheckConstraint("size_bytes >= 0", name=op.f("ck_receipts_size_nonnegative")),
    )
    for name, columns in RECEIPT_INDEXES.items():
        op.create_index(name, "receipts", ["business_id", *columns], unique=False)


def downgrade() -> None:
    for name in reversed(RECEIPT_INDEXES):
        op.drop_index(name, table_name="receipts")
    op.drop_table("receipts")
    op.drop_index("ix_expense_events_expense", table_name="expense_events")
    op.drop_table("expense_events")
    op.drop_index("ix_expenses_merchant_trgm", table_name="expenses", postgresql_using="gin")
    for name in reversed(EXPENSE_INDEXES):
        op.drop_index(name, table_name="expenses")
    op.drop_table("expenses")
    drop_business_index("cards", "team_id")
    drop_business_index("cards", "holder_id")
    op.drop_table("cards")
    op.drop_table("api_keys")
    drop_business_index("policies", "category_id")
    op.drop_table("policies")
    op.drop_constraint(op.f("fk_teams_business_id_manager_id_members"), "teams", type_="foreignkey")
    op.drop_index(op.f("ix_members_email"), table_name="members")
    drop_business_index("members", "team_id")
    op.drop_table("members")
    drop_business_index("teams", "manager_id")
    op.drop_table("teams")
    drop_business_index("idempotency_keys", "created_at")
    op.drop_table("idempotency_keys")
    op.drop_table("categories")
    op.drop_table("fx_rates")
    op.drop_table("businesses")
    op.execute("DROP EXTENSION IF EXISTS btree_gin")
    op.execute("DROP EXTENSION IF EXISTS pg_trgm")
