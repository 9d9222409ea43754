"""SQLAlchemy Core tables: the data model of DESIGN.md section 2.

Every table but ``businesses`` and ``fx_rates`` is keyed by ``business_id`` first, so
a row can never reference another business's row and every lookup starts on an index.
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TIMESTAMP

from db.roles import Role

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

ROLES = tuple(Role)  # db/roles.py, for the check constraint
CARD_KINDS = ("PHYSICAL", "VIRTUAL")
CARD_STATUSES = ("ACTIVE", "FROZEN", "CANCELLED")
LIMIT_PERIODS = ("DAY", "WEEK", "MONTH")
EXPENSE_STATUSES = ("DRAFT", "SUBMITTED", "APPROVED", "REJECTED", "REIMBURSED")
RECEIPT_PROCESSING = ("QUEUED", "PROCESSING", "DONE", "FAILED")

Timestamp = TIMESTAMP(timezone=True)


def _in(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


def _currency_check(column: str) -> CheckConstraint:
    return CheckConstraint(f"{column} ~ '^[A-Z]{{3}}$'", name=f"{column}_iso4217")


def _id() -> Column[int]:
    # BY DEFAULT (not ALWAYS) so bulk COPY can supply ids and then move the sequence.
    return Column("id", BigInteger, Identity(always=False), nullable=False)


def _business_id() -> Column[int]:
    return Column(
        "business_id",
        BigInteger,
        ForeignKey("businesses.id", ondelete="CASCADE"),
        nullable=False,
    )


def _created_at() -> Column[object]:
    return Column("created_at", Timestamp, nullable=False, server_default=func.now())


def _member_fk(column: str) -> ForeignKeyConstraint:
    return ForeignKeyConstraint(["business_id", column], ["members.business_id", "members.id"])


businesses = Table(
    "businesses",
    metadata,
    Column("id", BigInteger, Identity(always=False), primary_key=True),
    Column("name", Text, nullable=False),
    Column("home_currency", Text, nullable=False),
    Column("timezone", Text, nullable=False, server_default="UTC"),
    _created_at(),
    _currency_check("home_currency"),
    CheckConstraint("length(name) BETWEEN 1 AND 200", name="name_length"),
)

teams = Table(
    "teams",
    metadata,
    _business_id(),
    _id(),
    Column("name", Text, nullable=False),
    Column("manager_id", BigInteger, nullable=True),
    _created_at(),
    # archived teams keep their history but take no new members, cards or expenses
    Column("archived_at", Timestamp, nullable=True),
    PrimaryKeyConstraint("business_id", "id"),
    # teams and members reference each other; this side is added after both exist
    ForeignKeyConstraint(
        ["business_id", "manager_id"],
        ["members.business_id", "members.id"],
        use_alter=True,
    ),
    UniqueConstraint("business_id", "name"),
    Index(None, "business_id", "manager_id"),
)

members = Table(
    "members",
    metadata,
    _business_id(),
    _id(),
    Column("team_id", BigInteger, nullable=True),
    Column("name", Text, nullable=False),
    Column("email", Text, nullable=False),
    Column("role", Text, nullable=False),
    _created_at(),
    # a deactivated member's credentials stop at once; their history stays
    Column("deactivated_at", Timestamp, nullable=True),
    PrimaryKeyConstraint("business_id", "id"),
    ForeignKeyConstraint(["business_id", "team_id"], ["teams.business_id", "teams.id"]),
    CheckConstraint(_in("role", ROLES), name="role"),
    CheckConstraint("email = lower(email) AND email LIKE '%_@_%'", name="email"),
    UniqueConstraint("business_id", "email"),
    Index(None, "business_id", "team_id"),
    # `expensegraph token --member EMAIL` looks a member up by email alone
    Index(None, "email"),
)

cards = Table(
    "cards",
    metadata,
    _business_id(),
    _id(),
    Column("holder_id", BigInteger, nullable=False),
    Column("team_id", BigInteger, nullable=True),
    Column("last4", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("status", Text, nullable=False, server_default="ACTIVE"),
    Column("currency", Text, nullable=False),
    Column("spend_limit_minor", BigInteger, nullable=True),
    Column("limit_period", Text, nullable=True),
    _created_at(),
    PrimaryKeyConstraint("business_id", "id"),
    _member_fk("holder_id"),
    ForeignKeyConstraint(["business_id", "team_id"], ["teams.business_id", "teams.id"]),
    CheckConstraint("last4 ~ '^[0-9]{4}$'", name="last4"),
    CheckConstraint(_in("kind", CARD_KINDS), name="kind"),
    CheckConstraint(_in("status", CARD_STATUSES), name="status"),
    CheckConstraint(_in("limit_period", LIMIT_PERIODS), name="limit_period"),
    CheckConstraint("spend_limit_minor > 0", name="spend_limit_positive"),
    CheckConstraint(
        "(spend_limit_minor IS NULL) = (limit_period IS NULL)", name="limit_needs_period"
    ),
    _currency_check("currency"),
    Index(None, "business_id", "holder_id"),
    Index(None, "business_id", "team_id"),
)

categories = Table(
    "categories",
    metadata,
    _business_id(),
    _id(),
    Column("name", Text, nullable=False),
    Column("gl_code", Text, nullable=True),
    _created_at(),
    Column("archived_at", Timestamp, nullable=True),
    PrimaryKeyConstraint("business_id", "id"),
    UniqueConstraint("business_id", "name"),
    # an ERP's chart of accounts is keyed by GL code (upsertCategories)
    Index(
        "uq_categories_business_id_gl_code",
        "business_id",
        "gl_code",
        unique=True,
        postgresql_where=text("gl_code IS NOT NULL"),
    ),
)

# who changed the organisation, and how: teams, members, categories, policies, cards,
# business settings (expense changes have their own trail, expense_events)
audit_events = Table(
    "audit_events",
    metadata,
    _business_id(),
    _id(),
    # a member, or an API key, or neither (the system, the command line)
    Column("actor_member_id", BigInteger, nullable=True),
    Column("actor_api_key_id", BigInteger, nullable=True),
    Column("action", Text, nullable=False),
    Column("object_type", Text, nullable=False),
    Column("object_id", BigInteger, nullable=False),
    Column("details", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("at", Timestamp, nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("business_id", "id"),
    _member_fk("actor_member_id"),
    Index("ix_audit_events_object", "business_id", "object_type", "object_id", "at"),
    Index("ix_audit_events_at", "business_id", "at", "id"),
)

# the change feed (db/writes/events.py): one row per change, in the change's transaction
events = Table(
    "events",
    metadata,
    _business_id(),
    _id(),
    # the writing transaction (xid8 as bigint): readers page by (tx, id), see db/writes/events.py
    Column(
        "tx",
        BigInteger,
        nullable=False,
        server_default=text("(pg_current_xact_id())::text::bigint"),
    ),
    Column("type", Text, nullable=False),
    Column("occurred_at", Timestamp, nullable=False, server_default=func.clock_timestamp()),
    # a member, or an API key, or neither (the system: the worker, the command line)
    Column("actor_member_id", BigInteger, nullable=True),
    Column("actor_api_key_id", BigInteger, nullable=True),
    Column("object_type", Text, nullable=False),
    Column("object_id", BigInteger, nullable=False),
    Column("data", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    PrimaryKeyConstraint("business_id", "id"),
    Index("ix_events_feed", "business_id", "tx", "id"),
    Index("ix_events_object", "business_id", "object_type", "object_id"),
    Index("ix_events_occurred_at", "occurred_at"),
)

# webhooks (db/writes/webhooks.py, app/webhooks.py): where a business wants its events sent
webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    _business_id(),
    _id(),
    Column("url", Text, nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("event_types", ARRAY(Text), nullable=False, server_default="{}"),  # empty: all
    Column("secret", Text, nullable=False),  # whsec_..., shown once
    # the secret before the last rotation, still signing until previous_secret_until
    Column("previous_secret", Text, nullable=True),
    Column("previous_secret_until", Timestamp, nullable=True),
    Column("enabled", Boolean, nullable=False, server_default=text("true")),
    Column("disabled_reason", Text, nullable=True),
    Column("failing_since", Timestamp, nullable=True),
    # the endpoint's position in the change feed (db/writes/events.py): events after it are not
    # yet turned into deliveries
    Column("feed_tx", BigInteger, nullable=True),
    Column("feed_id", BigInteger, nullable=True),
    Column("created_at", Timestamp, nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("business_id", "id"),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("business_id", BigInteger, nullable=False),
    _id(),
    Column("endpoint_id", BigInteger, nullable=False),
    Column("event_id", BigInteger, nullable=False),
    Column("status", Text, nullable=False, server_default="PENDING"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", Timestamp, nullable=False, server_default=func.now()),
    Column("first_attempt_at", Timestamp, nullable=True),
    Column("last_http_code", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("delivered_at", Timestamp, nullable=True),
    Column("created_at", Timestamp, nullable=False, server_default=func.now()),
    CheckConstraint("status IN ('PENDING', 'DELIVERED', 'FAILED')", name="status"),
    PrimaryKeyConstraint("business_id", "id"),
    ForeignKeyConstraint(
        ["business_id", "endpoint_id"],
        ["webhook_endpoints.business_id", "webhook_endpoints.id"],
        ondelete="CASCADE",
    ),
    UniqueConstraint("business_id", "endpoint_id", "event_id"),
    Index(
        "ix_webhook_deliveries_due", "next_attempt_at", postgresql_where=text("status = 'PENDING'")
    ),
)

expenses = Table(
    "expenses",
    metadata,
    _business_id(),
    _id(),
    Column("member_id", BigInteger, nullable=False),
    Column("team_id", BigInteger, nullable=True),
    Column("card_id", BigInteger, nullable=True),
    Column("category_id", BigInteger, nullable=True),
    Column("merchant_name", Text, nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", Text, nullable=False),
    Column("home_amount_minor", BigInteger, nullable=False),
    Column("home_currency", Text, nullable=False),
    Column("fx_rate", Numeric(20, 10), nullable=False),
    Column("fx_rate_day", Date, nullable=True),
    Column("spent_at", Timestamp, nullable=False),
    Column("status", Text, nullable=False, server_default="DRAFT"),
    Column("submitted_at", Timestamp, nullable=True),
    Column("decided_at", Timestamp, nullable=True),
    Column("decided_by", BigInteger, nullable=True),
    Column("reimbursed_at", Timestamp, nullable=True),
    Column("exported_at", Timestamp, nullable=True),
    _created_at(),
    Column("updated_at", Timestamp, nullable=False, server_default=func.now()),
    Column("deleted_at", Timestamp, nullable=True),
    PrimaryKeyConstraint("business_id", "id"),
    _member_fk("member_id"),
    _member_fk("decided_by"),
    ForeignKeyConstraint(["business_id", "team_id"], ["teams.business_id", "teams.id"]),
    ForeignKeyConstraint(["business_id", "card_id"], ["cards.business_id", "cards.id"]),
    ForeignKeyConstraint(
        ["business_id", "category_id"], ["categories.business_id", "categories.id"]
    ),
    CheckConstraint(_in("status", EXPENSE_STATUSES), name="status"),
    CheckConstraint("amount_minor > 0", name="amount_positive"),
    CheckConstraint("home_amount_minor >= 0", name="home_amount_nonnegative"),
    CheckConstraint("fx_rate > 0", name="fx_rate_positive"),
    CheckConstraint("length(merchant_name) BETWEEN 1 AND 200", name="merchant_length"),
    _currency_check("currency"),
    _currency_check("home_currency"),
    # Keyset paging: one index per access path, the ordering column then id.
    # Btree indexes scan both ways, so each serves ASC and DESC.
    Index("ix_expenses_spent", "business_id", "spent_at", "id"),
    Index("ix_expenses_member_spent", "business_id", "member_id", "spent_at", "id"),
    Index("ix_expenses_team_spent", "business_id", "team_id", "spent_at", "id"),
    Index("ix_expenses_card_spent", "business_id", "card_id", "spent_at", "id"),
    Index("ix_expenses_status_spent", "business_id", "status", "spent_at", "id"),
    Index("ix_expenses_updated", "business_id", "updated_at", "id"),
    Index("ix_expenses_created", "business_id", "created_at", "id"),
    Index("ix_expenses_amount", "business_id", "home_amount_minor", "id"),
    Index("ix_expenses_category", "business_id", "category_id"),
    # merchant search: trigram GIN with business_id first (btree_gin)
    Index(
        "ix_expenses_merchant_trgm",
        "business_id",
        "merchant_name",
        postgresql_using="gin",
        postgresql_ops={"merchant_name": "gin_trgm_ops"},
    ),
)


def _spend_totals(name: str, period: str) -> Table:
    """Return a spend rollup: live expenses' home totals per local ``period`` and dimensions.

    Maintained by triggers on ``expenses`` (alembic 0002); NULL team or category is a value
    of the key (NULLS NOT DISTINCT), and the totals ride in the key's index for index-only
    aggregation.
    """
    key = ("business_id", period, "team_id", "category_id", "currency", "status", "home_currency")
    return Table(
        name,
        metadata,
        _business_id(),
        Column(period, Date, nullable=False),
        Column("team_id", BigInteger, nullable=True),
        Column("category_id", BigInteger, nullable=True),
        Column("currency", Text, nullable=False),
        Column("status", Text, nullable=False),
        Column("home_currency", Text, nullable=False),
        # numeric: a sum of bigint amounts can outgrow bigint, and must stay exact
        Column("total_minor", Numeric, nullable=False),
        Column("n", BigInteger, nullable=False),
        UniqueConstraint(
            *key,
            name=f"uq_{name}_key",
            postgresql_nulls_not_distinct=True,
            postgresql_include=["total_minor", "n"],
        ),
        # the triggers delete the rows their writes emptied; this finds them at once
        Index(f"ix_{name}_empty", "business_id", postgresql_where=text("n = 0")),
    )


# local calendar days in the business's time zone, and the local months they add up to
expense_day_totals = _spend_totals("expense_day_totals", "day")
expense_month_totals = _spend_totals("expense_month_totals", "month")

receipts = Table(
    "receipts",
    metadata,
    _business_id(),
    _id(),
    Column("expense_id", BigInteger, nullable=True),
    Column("uploaded_by", BigInteger, nullable=False),
    Column("file_name", Text, nullable=False),
    Column("content_type", Text, nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("sha256", Text, nullable=False),
    Column("storage_key", Text, nullable=False),
    Column("uploaded_at", Timestamp, nullable=False, server_default=func.now()),
    # text extraction by the worker: QUEUED -> PROCESSING -> DONE | FAILED (with the reason);
    # an upload sets QUEUED with its job, rows written otherwise (seeds, imports) are DONE
    Column("processing", Text, nullable=False, server_default="DONE"),
    Column("processing_error", Text, nullable=True),
    Column("processed_at", Timestamp, nullable=True),
    # what extraction found; each null when not found; confidence 0..1 per field
    Column("extracted_merchant", Text, nullable=True),
    Column("extracted_spent_on", Date, nullable=True),
    Column("extracted_total_minor", BigInteger, nullable=True),
    Column("extracted_currency", Text, nullable=True),
    Column("extracted_confidence", JSONB, nullable=True),
    PrimaryKeyConstraint("business_id", "id"),
    ForeignKeyConstraint(["business_id", "expense_id"], ["expenses.business_id", "expenses.id"]),
    _member_fk("uploaded_by"),
    CheckConstraint(_in("processing", RECEIPT_PROCESSING), name="processing"),
    CheckConstraint("size_bytes >= 0", name="size_nonnegative"),
    CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name="sha256_hex"),
    Index("ix_receipts_expense", "business_id", "expense_id"),
    Index("ix_receipts_uploaded", "business_id", "uploaded_at", "id"),
    Index("ix_receipts_uploader", "business_id", "uploaded_by"),
    Index("ix_receipts_sha256", "business_id", "sha256"),
    # the inbox: unmatched receipts by state, newest first
    Index(
        "ix_receipts_unmatched",
        "business_id",
        "processing",
        "uploaded_at",
        "id",
        postgresql_where=text("expense_id IS NULL"),
    ),
)

# expenses a receipt may belong to, scored by the matcher; shown for a person to confirm
receipt_match_candidates = Table(
    "receipt_match_candidates",
    metadata,
    _business_id(),
    Column("receipt_id", BigInteger, nullable=False),
    Column("expense_id", BigInteger, nullable=False),
    Column("score", Float, nullable=False),
    Column("reasons", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    _created_at(),
    PrimaryKeyConstraint("business_id", "receipt_id", "expense_id"),
    ForeignKeyConstraint(["business_id", "receipt_id"], ["receipts.business_id", "receipts.id"]),
    ForeignKeyConstraint(["business_id", "expense_id"], ["expenses.business_id", "expenses.id"]),
    CheckConstraint("score >= 0 AND score <= 1", name="score_range"),
    Index("ix_receipt_match_candidates_expense", "business_id", "expense_id"),
)

# pairs a person detached: never attached automatically again
receipt_match_refusals = Table(
    "receipt_match_refusals",
    metadata,
    _business_id(),
    Column("receipt_id", BigInteger, nullable=False),
    Column("expense_id", BigInteger, nullable=False),
    _created_at(),
    PrimaryKeyConstraint("business_id", "receipt_id", "expense_id"),
    ForeignKeyConstraint(["business_id", "receipt_id"], ["receipts.business_id", "receipts.id"]),
    ForeignKeyConstraint(["business_id", "expense_id"], ["expenses.business_id", "expenses.id"]),
)

expense_events = Table(
    "expense_events",
    metadata,
    _business_id(),
    _id(),
    Column("expense_id", BigInteger, nullable=False),
    Column("actor_id", BigInteger, nullable=True),
    Column("action", Text, nullable=False),
    Column("comment", Text, nullable=True),
    Column("at", Timestamp, nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("business_id", "id"),
    ForeignKeyConstraint(["business_id", "expense_id"], ["expenses.business_id", "expenses.id"]),
    _member_fk("actor_id"),
    Index("ix_expense_events_expense", "business_id", "expense_id", "at", "id"),
)

policies = Table(
    "policies",
    metadata,
    _business_id(),
    _id(),
    Column("name", Text, nullable=False),
    Column("category_id", BigInteger, nullable=True),
    Column("max_amount_minor", BigInteger, nullable=True),
    Column("receipt_required_above_minor", BigInteger, nullable=True),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    _created_at(),
    PrimaryKeyConstraint("business_id", "id"),
    ForeignKeyConstraint(
        ["business_id", "category_id"], ["categories.business_id", "categories.id"]
    ),
    CheckConstraint("max_amount_minor > 0", name="max_amount_positive"),
    CheckConstraint("receipt_required_above_minor >= 0", name="receipt_threshold"),
    Index(None, "business_id", "category_id"),
)

api_keys = Table(
    "api_keys",
    metadata,
    _business_id(),
    _id(),
    Column("name", Text, nullable=False),
    Column("prefix", Text, nullable=False),
    Column("secret_hash", LargeBinary, nullable=False),
    Column("scopes", ARRAY(Text), nullable=False),
    Column("created_by", BigInteger, nullable=True),
    _created_at(),
    Column("last_used_at", Timestamp, nullable=True),
    Column("revoked_at", Timestamp, nullable=True),
    PrimaryKeyConstraint("business_id", "id"),
    _member_fk("created_by"),
    # one of the two global lookups: a key is found by its prefix before any business is known
    UniqueConstraint("prefix"),
    CheckConstraint("octet_length(secret_hash) = 32", name="secret_hash_sha256"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    _business_id(),
    Column("principal", Text, nullable=False),
    Column("key", Text, nullable=False),
    Column("request_hash", Text, nullable=False),
    Column("response", JSONB, nullable=True),
    _created_at(),
    PrimaryKeyConstraint("business_id", "principal", "key"),
    CheckConstraint("length(key) BETWEEN 1 AND 255", name="key_length"),
    Index(None, "business_id", "created_at"),
)

fx_rates = Table(
    "fx_rates",
    metadata,
    Column("currency", Text, nullable=False),
    Column("quote_currency", Text, nullable=False),
    Column("day", Date, nullable=False),
    Column("rate", Numeric(20, 10), nullable=False),
    PrimaryKeyConstraint("currency", "quote_currency", "day"),
    CheckConstraint("rate > 0", name="rate_positive"),
    _currency_check("currency"),
    _currency_check("quote_currency"),
)

__all__ = [
    "CARD_KINDS",
    "CARD_STATUSES",
    "EXPENSE_STATUSES",
    "LIMIT_PERIODS",
    "ROLES",
    "api_keys",
    "businesses",
    "cards",
    "categories",
    "expense_day_totals",
    "expense_events",
    "expense_month_totals",
    "expenses",
    "fx_rates",
    "idempotency_keys",
    "members",
    "metadata",
    "policies",
    "receipts",
    "teams",
]
