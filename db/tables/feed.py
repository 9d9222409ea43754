"""What happened: the organisation's audit trail, the change feed, and its webhooks."""

from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from db.tables.base import (
    Timestamp,
    business_table,
    created_at_column,
    id_column,
    metadata,
    reference,
)

# who changed the organisation, and how: teams, members, categories, policies, cards,
# business settings (expense changes have their own trail, expense_events)
audit_events = business_table(
    "audit_events",
    # a member, or an API key, or neither (the system, the command line)
    *reference("actor_member_id", "members", nullable=True),
    Column("actor_api_key_id", BigInteger, nullable=True),
    Column("action", Text, nullable=False),
    Column("object_type", Text, nullable=False),
    Column("object_id", BigInteger, nullable=False),
    Column("details", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("at", Timestamp, nullable=False, server_default=func.now()),
    Index("ix_audit_events_object", "business_id", "object_type", "object_id", "at"),
    Index("ix_audit_events_at", "business_id", "at", "id"),
)

# the change feed (db/writes/events.py): one row per change, in the change's transaction
events = business_table(
    "events",
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
    Index("ix_events_feed", "business_id", "tx", "id"),
    Index("ix_events_object", "business_id", "object_type", "object_id"),
    Index("ix_events_occurred_at", "occurred_at"),
)

# webhooks (db/writes/webhooks.py, app/webhooks.py): where a business wants its events sent
webhook_endpoints = business_table(
    "webhook_endpoints",
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
    created_at_column(),
)

# not a business_table: a delivery is deleted with its endpoint, which is deleted with its business
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("business_id", BigInteger, nullable=False),
    id_column(),
    *reference("endpoint_id", "webhook_endpoints", ondelete="CASCADE"),
    Column("event_id", BigInteger, nullable=False),
    Column("status", Text, nullable=False, server_default="PENDING"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", Timestamp, nullable=False, server_default=func.now()),
    Column("first_attempt_at", Timestamp, nullable=True),
    Column("last_http_code", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("delivered_at", Timestamp, nullable=True),
    created_at_column(),
    CheckConstraint("status IN ('PENDING', 'DELIVERED', 'FAILED')", name="status"),
    PrimaryKeyConstraint("business_id", "id"),
    UniqueConstraint("business_id", "endpoint_id", "event_id"),
    Index(
        "ix_webhook_deliveries_due", "next_attempt_at", postgresql_where=text("status = 'PENDING'")
    ),
)


# The row type of each table above (db/rows.py says how they are used).


class AuditEventRow(Protocol):
    """A row of ``audit_events``."""

    business_id: int
    id: int
    actor_member_id: int | None
    actor_api_key_id: int | None
    action: str
    object_type: str
    object_id: int
    details: dict[str, Any]
    at: datetime


class EventRow(Protocol):
    """A row of ``events`` (the change feed)."""

    business_id: int
    id: int
    tx: int
    type: str
    occurred_at: datetime
    actor_member_id: int | None
    actor_api_key_id: int | None
    object_type: str
    object_id: int
    data: dict[str, Any]


class WebhookEndpointRow(Protocol):
    """A row of ``webhook_endpoints``."""

    business_id: int
    id: int
    url: str
    description: str
    event_types: list[str]
    secret: str
    previous_secret: str | None
    previous_secret_until: datetime | None
    enabled: bool
    disabled_reason: str | None
    failing_since: datetime | None
    feed_tx: int | None
    feed_id: int | None
    created_at: datetime


class WebhookDeliveryRow(Protocol):
    """A row of ``webhook_deliveries``."""

    business_id: int
    id: int
    endpoint_id: int
    event_id: int
    status: str
    attempts: int
    next_attempt_at: datetime
    first_attempt_at: datetime | None
    last_http_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime
