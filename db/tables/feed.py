"""What happened: the organisation's audit trail, the change feed, and its webhooks."""

from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa
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
    sa.Column("actor_api_key_id", sa.BigInteger, nullable=True),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("object_type", sa.Text, nullable=False),
    sa.Column("object_id", sa.BigInteger, nullable=False),
    sa.Column("details", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    sa.Column("at", Timestamp, nullable=False, server_default=sa.func.now()),
    sa.Index("ix_audit_events_object", "business_id", "object_type", "object_id", "at"),
    sa.Index("ix_audit_events_at", "business_id", "at", "id"),
)

# the change feed (db/writes/events.py): one row per change, in the change's transaction
events = business_table(
    "events",
    # the writing transaction (xid8 as bigint): readers page by (tx, id), see db/writes/events.py
    sa.Column(
        "tx",
        sa.BigInteger,
        nullable=False,
        server_default=sa.text("(pg_current_xact_id())::text::bigint"),
    ),
    sa.Column("type", sa.Text, nullable=False),
    sa.Column("occurred_at", Timestamp, nullable=False, server_default=sa.func.clock_timestamp()),
    # a member, or an API key, or neither (the system: the worker, the command line)
    sa.Column("actor_member_id", sa.BigInteger, nullable=True),
    sa.Column("actor_api_key_id", sa.BigInteger, nullable=True),
    sa.Column("object_type", sa.Text, nullable=False),
    sa.Column("object_id", sa.BigInteger, nullable=False),
    sa.Column("data", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    sa.Index("ix_events_feed", "business_id", "tx", "id"),
    sa.Index("ix_events_object", "business_id", "object_type", "object_id"),
    sa.Index("ix_events_occurred_at", "occurred_at"),
)

# webhooks (db/writes/webhooks.py, app/webhooks.py): where a business wants its events sent
webhook_endpoints = business_table(
    "webhook_endpoints",
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("event_types", ARRAY(sa.Text), nullable=False, server_default="{}"),  # empty: all
    sa.Column("secret", sa.Text, nullable=False),  # whsec_..., shown once
    # the secret before the last rotation, still signing until previous_secret_until
    sa.Column("previous_secret", sa.Text, nullable=True),
    sa.Column("previous_secret_until", Timestamp, nullable=True),
    sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.text("true")),
    sa.Column("disabled_reason", sa.Text, nullable=True),
    sa.Column("failing_since", Timestamp, nullable=True),
    # the endpoint's position in the change feed (db/writes/events.py): events after it are not
    # yet turned into deliveries
    sa.Column("feed_tx", sa.BigInteger, nullable=True),
    sa.Column("feed_id", sa.BigInteger, nullable=True),
    created_at_column(),
)

# not a business_table: a delivery is deleted with its endpoint, which is deleted with its business
webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("business_id", sa.BigInteger, nullable=False),
    id_column(),
    *reference("endpoint_id", "webhook_endpoints", ondelete="CASCADE"),
    sa.Column("event_id", sa.BigInteger, nullable=False),
    sa.Column("status", sa.Text, nullable=False, server_default="PENDING"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", Timestamp, nullable=False, server_default=sa.func.now()),
    sa.Column("first_attempt_at", Timestamp, nullable=True),
    sa.Column("last_http_code", sa.Integer, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("delivered_at", Timestamp, nullable=True),
    created_at_column(),
    sa.CheckConstraint("status IN ('PENDING', 'DELIVERED', 'FAILED')", name="status"),
    sa.PrimaryKeyConstraint("business_id", "id"),
    sa.UniqueConstraint("business_id", "endpoint_id", "event_id"),
    sa.Index(
        "ix_webhook_deliveries_due",
        "next_attempt_at",
        postgresql_where=sa.text("status = 'PENDING'"),
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
