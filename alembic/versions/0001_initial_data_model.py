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
    create_business_table,
    currency_check,
    now_column,
    same_business_fk,
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
        sa.Column("home_currency", sa.Text(), nullable=False),
        sa.Column("timezone", sa.Text(), server_default="UTC", nullable=False),
        now_column("created_at"),
        currency_check("businesses", "home_currency"),
        sa.CheckConstraint(
            "length(name) BETWEEN 1 AND 200", name=op.f("ck_businesses_name_length")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_businesses")),
    )
    op.create_table(
        "fx_rates",
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("quote_currency", sa.Text(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("rate", sa.Numeric(precision=20, scale=10), nullable=False),
        currency_check("fx_rates", "currency"),
        currency_check("fx_rates", "quote_currency"),
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
    op.create_index(
        op.f("ix_idempotency_keys_business_id_created_at"),
        "idempotency_keys",
        ["business_id", "created_at"],
        unique=False,
    )
    create_business_table(
        "teams",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("manager_id", sa.BigInteger(), nullable=True),
        now_column("created_at"),
        sa.UniqueConstraint("business_id", "name", name=op.f("uq_teams_business_id_name")),
    )
    op.create_index(
        op.f("ix_teams_business_id_manager_id"),
        "teams",
        ["business_id", "manager_id"],
        unique=False,
    )
    create_business_table(
        "members",
        sa.Column("team_id", sa.BigInteger(), nullable=True),
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
        same_business_fk("members", "team_id", "teams"),
        sa.UniqueConstraint("business_id", "email", name=op.f("uq_members_business_id_email")),
    )
    op.create_index(
        op.f("ix_members_business_id_team_id"), "members", ["business_id", "team_id"], unique=False
    )
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
        sa.Column("category_id", sa.BigInteger(), nullable=True),
        sa.Column("max_amount_minor", sa.BigInteger(), nullable=True),
        sa.Column("receipt_required_above_minor", sa.BigInteger(), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        now_column("created_at"),
        sa.CheckConstraint("max_amount_minor > 0", name=op.f("ck_policies_max_amount_positive")),
        sa.CheckConstraint(
            "receipt_required_above_minor >= 0", name=op.f("ck_policies_receipt_threshold")
        ),
        same_business_fk("policies", "category_id", "categories"),
    )
    op.create_index(
        op.f("ix_policies_business_id_category_id"),
        "policies",
        ["business_id", "category_id"],
        unique=False,
    )
    create_business_table(
        "api_keys",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("prefix", sa.Text(), nullable=False),
        sa.Column("secret_hash", sa.LargeBinary(), nullable=False),
        sa.Column("scopes", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        now_column("created_at"),
        sa.Column("last_used_at", TIMESTAMP, nullable=True),
        sa.Column("revoked_at", TIMESTAMP, nullable=True),
        sa.CheckConstraint(
            "octet_length(secret_hash) = 32", name=op.f("ck_api_keys_secret_hash_sha256")
        ),
        same_business_fk("api_keys", "created_by", "members"),
        sa.UniqueConstraint("prefix", name=op.f("uq_api_keys_prefix")),
    )
    create_business_table(
        "cards",
        sa.Column("holder_id", sa.BigInteger(), nullable=False),
        sa.Column("team_id", sa.BigInteger(), nullable=True),
        sa.Column("last4", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default="ACTIVE", nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("spend_limit_minor", sa.BigInteger(), nullable=True),
        sa.Column("limit_period", sa.Text(), nullable=True),
        now_column("created_at"),
        currency_check("cards", "currency"),
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
        same_business_fk("cards", "holder_id", "members"),
        same_business_fk("cards", "team_id", "teams"),
    )
    op.create_index(
        op.f("ix_cards_business_id_holder_id"), "cards", ["business_id", "holder_id"], unique=False
    )
    op.create_index(
        op.f("ix_cards_business_id_team_id"), "cards", ["business_id", "team_id"], unique=False
    )
    create_business_table(
        "expenses",
        sa.Column("member_id", sa.BigInteger(), nullable=False),
        sa.Column("team_id", sa.BigInteger(), nullable=True),
        sa.Column("card_id", sa.BigInteger(), nullable=True),
        sa.Column("category_id", sa.BigInteger(), nullable=True),
        sa.Column("merchant_name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("home_amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("home_currency", sa.Text(), nullable=False),
        sa.Column("fx_rate", sa.Numeric(precision=20, scale=10), nullable=False),
        sa.Column("fx_rate_day", sa.Date(), nullable=True),
        sa.Column("spent_at", TIMESTAMP, nullable=False),
        sa.Column("status", sa.Text(), server_default="DRAFT", nullable=False),
        sa.Column("submitted_at", TIMESTAMP, nullable=True),
        sa.Column("decided_at", TIMESTAMP, nullable=True),
        sa.Column("decided_by", sa.BigInteger(), nullable=True),
        sa.Column("reimbursed_at", TIMESTAMP, nullable=True),
        sa.Column("exported_at", TIMESTAMP, nullable=True),
        now_column("created_at"),
        now_column("updated_at"),
        sa.Column("deleted_at", TIMESTAMP, nullable=True),
        currency_check("expenses", "currency"),
        currency_check("expenses", "home_currency"),
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
        same_business_fk("expenses", "card_id", "cards"),
        same_business_fk("expenses", "category_id", "categories"),
        same_business_fk("expenses", "decided_by", "members"),
        same_business_fk("expenses", "member_id", "members"),
        same_business_fk("expenses", "team_id", "teams"),
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
        sa.Column("expense_id", sa.BigInteger(), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        now_column("at"),
        same_business_fk("expense_events", "actor_id", "members"),
        same_business_fk("expense_events", "expense_id", "expenses"),
    )
    op.create_index(
        "ix_expense_events_expense",
        "expense_events",
        ["business_id", "expense_id", "at", "id"],
        unique=False,
    )
    create_business_table(
        "receipts",
        sa.Column("expense_id", sa.BigInteger(), nullable=True),
        sa.Column("uploaded_by", sa.BigInteger(), nullable=False),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("content_type", sa.Text(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.Text(), nullable=False),
        sa.Column("storage_key", sa.Text(), nullable=False),
        now_column("uploaded_at"),
        sa.CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name=op.f("ck_receipts_sha256_hex")),
        sa.CheckConstraint("size_bytes >= 0", name=op.f("ck_receipts_size_nonnegative")),
        same_business_fk("receipts", "expense_id", "expenses"),
        same_business_fk("receipts", "uploaded_by", "members"),
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
    op.drop_index(op.f("ix_cards_business_id_team_id"), table_name="cards")
    op.drop_index(op.f("ix_cards_business_id_holder_id"), table_name="cards")
    op.drop_table("cards")
    op.drop_table("api_keys")
    op.drop_index(op.f("ix_policies_business_id_category_id"), table_name="policies")
    op.drop_table("policies")
    op.drop_constraint(op.f("fk_teams_business_id_manager_id_members"), "teams", type_="foreignkey")
    op.drop_index(op.f("ix_members_email"), table_name="members")
    op.drop_index(op.f("ix_members_business_id_team_id"), table_name="members")
    op.drop_table("members")
    op.drop_index(op.f("ix_teams_business_id_manager_id"), table_name="teams")
    op.drop_table("teams")
    op.drop_index(op.f("ix_idempotency_keys_business_id_created_at"), table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
    op.drop_table("categories")
    op.drop_table("fx_rates")
    op.drop_table("businesses")
    op.execute("DROP EXTENSION IF EXISTS btree_gin")
    op.execute("DROP EXTENSION IF EXISTS pg_trgm")
