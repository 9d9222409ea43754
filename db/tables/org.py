"""The organisation: businesses, their teams, members, cards, categories and policies."""

from datetime import datetime
from typing import Protocol

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Identity,
    Index,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from db.roles import Role
from db.states import CardKind, CardStatus, LimitPeriod
from db.tables.base import (
    Timestamp,
    business_table,
    created_at_column,
    currency,
    metadata,
    one_of,
    reference,
)

# db/roles.py and db/states.py, for the check constraints
ROLES = tuple(Role)
CARD_KINDS = tuple(CardKind)
CARD_STATUSES = tuple(CardStatus)
LIMIT_PERIODS = tuple(LimitPeriod)

businesses = Table(
    "businesses",
    metadata,
    Column("id", BigInteger, Identity(always=False), primary_key=True),
    Column("name", Text, nullable=False),
    *currency("home_currency"),
    Column("timezone", Text, nullable=False, server_default="UTC"),
    created_at_column(),
    CheckConstraint("length(name) BETWEEN 1 AND 200", name="name_length"),
)

teams = business_table(
    "teams",
    Column("name", Text, nullable=False),
    # teams and members reference each other; this side is added after both exist
    *reference("manager_id", "members", nullable=True, use_alter=True),
    created_at_column(),
    # archived teams keep their history but take no new members, cards or expenses
    Column("archived_at", Timestamp, nullable=True),
    UniqueConstraint("business_id", "name"),
    Index(None, "business_id", "manager_id"),
)

members = business_table(
    "members",
    *reference("team_id", "teams", nullable=True),
    Column("name", Text, nullable=False),
    Column("email", Text, nullable=False),
    Column("role", Text, nullable=False),
    created_at_column(),
    # a deactivated member's credentials stop at once; their history stays
    Column("deactivated_at", Timestamp, nullable=True),
    CheckConstraint(one_of("role", ROLES), name="role"),
    CheckConstraint("email = lower(email) AND email LIKE '%_@_%'", name="email"),
    UniqueConstraint("business_id", "email"),
    Index(None, "business_id", "team_id"),
    # a team's member count (Team.memberCount) reads this index alone, no row
    Index(
        "ix_members_active_business_id_team_id",
        "business_id",
        "team_id",
        postgresql_where=text("deactivated_at IS NULL"),
    ),
    # the members list's order (oldest first): a page reads its rows, not the business's
    Index(None, "business_id", "created_at", "id"),
    # `expensegraph token --member EMAIL` looks a member up by email alone
    Index(None, "email"),
)

cards = business_table(
    "cards",
    *reference("holder_id", "members"),
    *reference("team_id", "teams", nullable=True),
    Column("last4", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("status", Text, nullable=False, server_default="ACTIVE"),
    *currency("currency"),
    Column("spend_limit_minor", BigInteger, nullable=True),
    Column("limit_period", Text, nullable=True),
    created_at_column(),
    CheckConstraint("last4 ~ '^[0-9]{4}$'", name="last4"),
    CheckConstraint(one_of("kind", CARD_KINDS), name="kind"),
    CheckConstraint(one_of("status", CARD_STATUSES), name="status"),
    CheckConstraint(one_of("limit_period", LIMIT_PERIODS), name="limit_period"),
    CheckConstraint("spend_limit_minor > 0", name="spend_limit_positive"),
    CheckConstraint(
        "(spend_limit_minor IS NULL) = (limit_period IS NULL)", name="limit_needs_period"
    ),
    Index(None, "business_id", "holder_id"),
    Index(None, "business_id", "team_id"),
    # the cards list's order (oldest first): a page reads its rows, not the business's
    Index(None, "business_id", "created_at", "id"),
)

categories = business_table(
    "categories",
    Column("name", Text, nullable=False),
    Column("gl_code", Text, nullable=True),
    created_at_column(),
    Column("archived_at", Timestamp, nullable=True),
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

policies = business_table(
    "policies",
    Column("name", Text, nullable=False),
    *reference("category_id", "categories", nullable=True),
    Column("max_amount_minor", BigInteger, nullable=True),
    Column("receipt_required_above_minor", BigInteger, nullable=True),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    created_at_column(),
    CheckConstraint("max_amount_minor > 0", name="max_amount_positive"),
    CheckConstraint("receipt_required_above_minor >= 0", name="receipt_threshold"),
    Index(None, "business_id", "category_id"),
)


# The row type of each table above (db/rows.py says how they are used).


class BusinessRow(Protocol):
    """A row of ``businesses``."""

    id: int
    name: str
    home_currency: str
    timezone: str
    created_at: datetime


class TeamRow(Protocol):
    """A row of ``teams``."""

    business_id: int
    id: int
    name: str
    manager_id: int | None
    created_at: datetime
    archived_at: datetime | None


class MemberRow(Protocol):
    """A row of ``members``."""

    business_id: int
    id: int
    team_id: int | None
    name: str
    email: str
    role: str
    created_at: datetime
    deactivated_at: datetime | None


class CardRow(Protocol):
    """A row of ``cards``."""

    business_id: int
    id: int
    holder_id: int
    team_id: int | None
    last4: str
    kind: str
    status: str
    currency: str
    spend_limit_minor: int | None
    limit_period: str | None
    created_at: datetime


class CategoryRow(Protocol):
    """A row of ``categories``."""

    business_id: int
    id: int
    name: str
    gl_code: str | None
    created_at: datetime
    archived_at: datetime | None


class PolicyRow(Protocol):
    """A row of ``policies``."""

    business_id: int
    id: int
    name: str
    category_id: int | None
    max_amount_minor: int | None
    receipt_required_above_minor: int | None
    active: bool
    created_at: datetime
