"""initial data model

Revision ID: 0001
Revises:
Create Date: 2026-11-24 14:38:34.717506
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


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
        sa.Column(
            "created_at",
            postgresql.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "home_currency ~ '^[A-Z]{3}$'", name=op.f("ck_businesses_home_currency_iso4217")
        ),
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
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f("ck_fx_rates_currency_iso4217")),
        sa.CheckConstraint(
            "quote_currency ~ '^[A-Z]{3}$'", name=op.f("ck_fx_rates_quote_currency_iso4217")
        ),
        sa.CheckConstraint("rate > 0", name=op.f("ck_fx_rates_rate_positive")),
        sa.PrimaryKeyConstraint("currency", "quote_currency", "day", name=op.f("pk_fx_rates")),
    )
    op.create_table(
        "categories",
        sa.Column("business_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("gl_code", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            postgresql.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["business_id"],
            ["businesses.id"],
            name=op.f("fk_categories_business_id_businesses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("business_id", "id", name=op.f("pk_categories")),
        sa.UniqueConstraint("business_id", "name", name=op.f("uq_categories_business_id_name")),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("business_id", sa.BigInteger(), nullable=False),
        sa.Column("principal", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("request_hash", sa.Text(), nullable=False),
        sa.Column("response", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "created_at",
            postgresql.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "length(key) BETWEEN 1 AND 255", name=op.f("ck_idempotency_keys_key_length")
        ),
        sa.ForeignKeyConstraint(
            ["business_id"],
            ["businesses.id"],
            name=op.f("fk_idempotency_keys_business_id_businesses"),
            ondelete="CASCADE",
        ),
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
    op.create_table(
        "teams",
        sa.Column("business_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("manager_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "created_at",
            postgresql.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["business_id"],
            ["businesses.id"],
            name=op.f("fk_teams_business_id_businesses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("business_id", "id", name=op.f("pk_teams")),
        sa.UniqueConstraint("business_id", "name", name=op.f("uq_teams_business_id_name")),
    )
    op.create_index(
        op.f("ix_teams_business_id_manager_id"),
        "teams",
        ["business_id", "manager_id"],
        unique=False,
    )
    op.create_table(
        "members",
        sa.Column("business_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("team_id", sa.BigInteger(), nullable=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            postgresql.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "email = lower(email) AND email LIKE '%_@_%'", name=op.f("ck_members_email")
        ),
        sa.CheckConstraint(
            "role IN ('ADMIN', 'FINANCE', 'MANAGER', 'EMPLOYEE')", name=op.f("ck_members_role")
        ),
        sa.ForeignKeyConstraint(
            ["business_id", "team_id"],
            ["teams.business_id", "teams.id"],
            name=op.f("fk_members_business_id_team_id_teams"),
        ),
        sa.ForeignKeyConstraint(
            ["business_id"],
            ["businesses.id"],
            name=op.f("fk_members_business_id_businesses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("business_id", "id", name=op.f("pk_members")),
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
    op.create_table(
        "policies",
        sa.Column("business_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("category_id", sa.BigInteger(), nullable=True),
        sa.Column("max_amount_minor", sa.BigInteger(), nullable=True),
        sa.Column("receipt_required_above_minor", sa.BigInteger(), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "created_at",
            postgresql.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("max_amount_minor > 0", name=op.f("ck_policies_max_amount_positive")),
        sa.CheckConstraint(
            "receipt_required_above_minor >= 0", name=op.f("ck_policies_receipt_threshold")
        ),
        sa.ForeignKeyConstraint(
            ["business_id", "category_id"],
            ["categories.business_id", "categories.id"],
            name=op.f("fk_policies_business_id_category_id_categories"),
        ),
        sa.ForeignKeyConstraint(
            ["business_id"],
            ["businesses.id"],
            name=op.f("fk_policies_business_id_businesses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("business_id", "id", name=op.f("pk_policies")),
    )
    op.create_index(
        op.f("ix_policies_business_id_category_id"),
        "policies",
        ["business_id", "category_id"],
        unique=False,
    )
    op.create_table(
        "api_keys",
        sa.Column("business_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("prefix", sa.Text(), nullable=False),
        sa.Column("secret_hash", sa.LargeBinary(), nullable=False),
        sa.Column("scopes", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column(
            "created_at",
            postgresql.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("last_used_at", postgresql.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("revoked_at", postgresql.TIMESTAMP(timezone=True), nullable=True),
        sa.CheckConstraint(
            "octet_length(secret_hash) = 32", name=op.f("ck_api_keys_secret_hash_sha256")
        ),
        sa.ForeignKeyConstraint(
            ["business_id", "created_by"],
            ["members.business_id", "members.id"],
            name=op.f("fk_api_keys_business_id_created_by_members"),
        ),
        sa.ForeignKeyConstraint(
            ["business_id"],
            ["businesses.id"],
            name=op.f("fk_api_keys_business_id_businesses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("business_id", "id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("prefix", name=op.f("uq_api_keys_prefix")),
    )
    op.create_table(
        "cards",
        sa.Column("business_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("holder_id", sa.BigInteger(), nullable=False),
        sa.Column("team_id", sa.BigInteger(), nullable=True),
        sa.Column("last4", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default="ACTIVE", nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("spend_limit_minor", sa.BigInteger(), nullable=True),
        sa.Column("limit_period", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            postgresql.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f("ck_cards_currency_iso4217")),
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
        sa.ForeignKeyConstraint(
            ["business_id", "holder_id"],
            ["members.business_id", "members.id"],
            name=op.f("fk_cards_business_id_holder_id_members"),
        ),
        sa.ForeignKeyConstraint(
            ["business_id", "team_id"],
            ["teams.business_id", "teams.id"],
            name=op.f("fk_cards_business_id_team_id_teams"),
        ),
        sa.ForeignKeyConstraint(
            ["business_id"],
            ["businesses.id"],
            name=op.f("fk_cards_business_id_businesses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("business_id", "id", name=op.f("pk_cards")),
    )
    op.create_index(
        op.f("ix_cards_business_id_holder_id"), "cards", ["business_id", "holder_id"], unique=False
    )
    op.create_index(
        op.f("ix_cards_business_id_team_id"), "cards", ["business_id", "team_id"], unique=False
    )
    op.create_table(
        "expenses",
        sa.Column("business_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
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
        sa.Column("spent_at", postgresql.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("status", sa.Text(), server_default="DRAFT", nullable=False),
        sa.Column("submitted_at", postgresql.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("decided_at", postgresql.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("decided_by", sa.BigInteger(), nullable=True),
        sa.Column("reimbursed_at", postgresql.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("exported_at", postgresql.TIMESTAMP(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            postgresql.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            postgresql.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("deleted_at", postgresql.TIMESTAMP(timezone=True), nullable=True),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f("ck_expenses_currency_iso4217")),
        sa.CheckConstraint(
            "home_currency ~ '^[A-Z]{3}$'", name=op.f("ck_expenses_home_currency_iso4217")
        ),
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
        sa.ForeignKeyConstraint(
            ["business_id", "card_id"],
            ["cards.business_id", "cards.id"],
            name=op.f("fk_expenses_business_id_card_id_cards"),
        ),
        sa.ForeignKeyConstraint(
            ["business_id", "category_id"],
            ["categories.business_id", "categories.id"],
            name=op.f("fk_expenses_business_id_category_id_categories"),
        ),
        sa.ForeignKeyConstraint(
            ["business_id", "decided_by"],
            ["members.business_id", "members.id"],
            name=op.f("fk_expenses_business_id_decided_by_members"),
        ),
        sa.ForeignKeyConstraint(
            ["business_id", "member_id"],
            ["members.business_id", "members.id"],
            name=op.f("fk_expenses_business_id_member_id_members"),
        ),
        sa.ForeignKeyConstraint(
            ["business_id", "team_id"],
            ["teams.business_id", "teams.id"],
            name=op.f("fk_expenses_business_id_team_id_teams"),
        ),
        sa.ForeignKeyConstraint(
            ["business_id"],
            ["businesses.id"],
            name=op.f("fk_expenses_business_id_businesses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("business_id", "id", name=op.f("pk_expenses")),
    )
    op.create_index(
        "ix_expenses_amount", "expenses", ["business_id", "home_amount_minor", "id"], unique=False
    )
    op.create_index(
        "ix_expenses_card_spent",
        "expenses",
        ["business_id", "card_id", "spent_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_expenses_category", "expenses", ["business_id", "category_id"], unique=False
    )
    op.create_index(
        "ix_expenses_created", "expenses", ["business_id", "created_at", "id"], unique=False
    )
    op.create_index(
        "ix_expenses_member_spent",
        "expenses",
        ["business_id", "member_id", "spent_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_expenses_merchant_trgm",
        "expenses",
        ["business_id", "merchant_name"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"merchant_name": "gin_trgm_ops"},
    )
    op.create_index(
        "ix_expenses_spent", "expenses", ["business_id", "spent_at", "id"], unique=False
    )
    op.create_index(
        "ix_expenses_status_spent",
        "expenses",
        ["business_id", "status", "spent_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_expenses_team_spent",
        "expenses",
        ["business_id", "team_id", "spent_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_expenses_updated", "expenses", ["business_id", "updated_at", "id"], unique=False
    )
    op.create_table(
        "expense_events",
        sa.Column("business_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("expense_id", sa.BigInteger(), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column(
            "at",
            postgresql.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["business_id", "actor_id"],
            ["members.business_id", "members.id"],
            name=op.f("fk_expense_events_business_id_actor_id_members"),
        ),
        sa.ForeignKeyConstraint(
            ["business_id", "expense_id"],
            ["expenses.business_id", "expenses.id"],
            name=op.f("fk_expense_events_business_id_expense_id_expenses"),
        ),
        sa.ForeignKeyConstraint(
            ["business_id"],
            ["businesses.id"],
            name=op.f("fk_expense_events_business_id_businesses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("business_id", "id", name=op.f("pk_expense_events")),
    )
    op.create_index(
        "ix_expense_events_expense",
        "expense_events",
        ["business_id", "expense_id", "at", "id"],
        unique=False,
    )
    op.create_table(
        "receipts",
        sa.Column("business_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("expense_id", sa.BigInteger(), nullable=True),
        sa.Column("uploaded_by", sa.BigInteger(), nullable=False),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("content_type", sa.Text(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.Text(), nullable=False),
        sa.Column("storage_key", sa.Text(), nullable=False),
        sa.Column(
            "uploaded_at",
            postgresql.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name=op.f("ck_receipts_sha256_hex")),
        sa.CheckConstraint("size_bytes >= 0", name=op.f("ck_receipts_size_nonnegative")),
        sa.ForeignKeyConstraint(
            ["business_id", "expense_id"],
            ["expenses.business_id", "expenses.id"],
            name=op.f("fk_receipts_business_id_expense_id_expenses"),
        ),
        sa.ForeignKeyConstraint(
            ["business_id", "uploaded_by"],
            ["members.business_id", "members.id"],
            name=op.f("fk_receipts_business_id_uploaded_by_members"),
        ),
        sa.ForeignKeyConstraint(
            ["business_id"],
            ["businesses.id"],
            name=op.f("fk_receipts_business_id_businesses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("business_id", "id", name=op.f("pk_receipts")),
    )
    op.create_index("ix_receipts_expense", "receipts", ["business_id", "expense_id"], unique=False)
    op.create_index("ix_receipts_sha256", "receipts", ["business_id", "sha256"], unique=False)
    op.create_index(
        "ix_receipts_uploaded", "receipts", ["business_id", "uploaded_at", "id"], unique=False
    )
    op.create_index(
        "ix_receipts_uploader", "receipts", ["business_id", "uploaded_by"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_receipts_uploader", table_name="receipts")
    op.drop_index("ix_receipts_uploaded", table_name="receipts")
    op.drop_index("ix_receipts_sha256", table_name="receipts")
    op.drop_index("ix_receipts_expense", table_name="receipts")
    op.drop_table("receipts")
    op.drop_index("ix_expense_events_expense", table_name="expense_events")
    op.drop_table("expense_events")
    op.drop_index("ix_expenses_updated", table_name="expenses")
    op.drop_index("ix_expenses_team_spent", table_name="expenses")
    op.drop_index("ix_expenses_status_spent", table_name="expenses")
    op.drop_index("ix_expenses_spent", table_name="expenses")
    op.drop_index("ix_expenses_merchant_trgm", table_name="expenses", postgresql_using="gin")
    op.drop_index("ix_expenses_member_spent", table_name="expenses")
    op.drop_index("ix_expenses_created", table_name="expenses")
    op.drop_index("ix_expenses_category", table_name="expenses")
    op.drop_index("ix_expenses_card_spent", table_name="expenses")
    op.drop_index("ix_expenses_amount", table_name="expenses")
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
