"""The organisation: businesses, their teams, members, cards, categories and policies."""

from datetime import datetime
from typing import Protocol

import sqlalchemy as sa

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

businesses = sa.Table(
    "businesses",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(always=False), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    *currency("home_currency"),
    sa.Column("timezone", sa.Text, nullable=False, server_default="UTC"),
    created_at_column(),
    sa.CheckConstraint("length(name) BETWEEN 1 AND 200", name="name_length"),
)

teams = business_table(
    "teams",
    sa.Column("name", sa.Text, nullable=False),
    # teams and members reference each other; this side is added after both exist
    *reference("manager_id", "members", nullable=True, use_alter=True),
    created_at_column(),
    # archived teams keep their history but take no new members, cards or expenses
    sa.Column("archived_at", Timestamp, nullable=True),
    sa.UniqueConstraint("business_id", "name"),
    sa.Index(None, "business_id", "manager_id"),
)

members = business_table(
    "members",
    *reference("team_id", "teams", nullable=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("email", sa.Text, nullable=False),
    sa.Column("role", sa.Text, nullable=False),
    created_at_column(),
    # a deactivated member's credentials stop at once; their history stays
    sa.Column("deactivated_at", Timestamp, nullable=True),
    sa.CheckConstraint(one_of("role", ROLES), name="role"),
    sa.CheckConstraint("email = lower(email) AND email LIKE '%_@_%'", name="email"),
    sa.UniqueConstraint("business_id", "email"),
    sa.Index(None, "business_id", "team_id"),
    # a team's member count (Team.memberCount) reads this index alone, no row
    sa.Index(
        "ix_members_active_business_id_team_id",
        "business_id",
        "team_id",
        postgresql_where=sa.text("deactivated_at IS NULL"),
    ),
    # the members list's order (oldest first): a page reads its rows, not the business's
    sa.Index(None, "business_id", "created_at", "id"),
    # `expensegraph token --member EMAIL` looks a member up by email alone
    sa.Index(None, "email"),
)

cards = business_table(
    "cards",
    *reference("holder_id", "members"),
    *reference("team_id", "teams", nullable=True),
    sa.Column("last4", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False, server_default="ACTIVE"),
    *currency("currency"),
    sa.Column("spend_limit_minor", sa.BigInteger, nullable=True),
    sa.Column("limit_period", sa.Text, nullable=True),
    created_at_column(),
    sa.CheckConstraint("last4 ~ '^[0-9]{4}$'", name="last4"),
    sa.CheckConstraint(one_of("kind", CARD_KINDS), name="kind"),
    sa.CheckConstraint(one_of("status", CARD_STATUSES), name="status"),
    sa.CheckConstraint(one_of("limit_period", LIMIT_PERIODS), name="limit_period"),
    sa.CheckConstraint("spend_limit_minor > 0", name="spend_limit_positive"),
    sa.CheckConstraint(
        "(spend_limit_minor IS NULL) = (limit_period IS NULL)", name="limit_needs_period"
    ),
    sa.Index(None, "business_id", "holder_id"),
    sa.Index(None, "business_id", "team_id"),
    # the cards list's order (oldest first): a page reads its rows, not the business's
    sa.Index(None, "business_id", "created_at", "id"),
)

categories = business_table(
    "categories",
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("gl_code", sa.Text, nullable=True),
    created_at_column(),
    sa.Column("archived_at", Timestamp, nullable=True),
    sa.UniqueConstraint("business_id", "name"),
    # an ERP's chart of accounts is keyed by GL code (upsertCategories)
    sa.Index(
        "uq_categories_business_id_gl_code",
        "business_id",
        "gl_code",
        unique=True,
        postgresql_where=sa.text("gl_code IS NOT NULL"),
    ),
)

policies = business_table(
    "policies",
    sa.Column("name", sa.Text, nullable=False),
    *reference("category_id", "categories", nullable=True),
    sa.Column("max_amount_minor", sa.BigInteger, nullable=True),
    sa.Column("receipt_required_above_minor", sa.BigInteger, nullable=True),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.text("true")),
    created_at_column(),
    sa.CheckConstraint("max_amount_minor > 0", name="max_amount_positive"),
    sa.CheckConstraint("receipt_required_above_minor >= 0", name="receipt_threshold"),
    sa.Index(None, "business_id", "category_id"),
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
