"""What API callers hold: their keys, and the answers kept for their idempotency keys."""

from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from db.tables.base import (
    Timestamp,
    business_id_column,
    business_table,
    created_at_column,
    metadata,
    reference,
)

api_keys = business_table(
    "api_keys",
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("prefix", sa.Text, nullable=False),
    sa.Column("secret_hash", sa.LargeBinary, nullable=False),
    sa.Column("scopes", ARRAY(sa.Text), nullable=False),
    *reference("created_by", "members", nullable=True),
    created_at_column(),
    sa.Column("last_used_at", Timestamp, nullable=True),
    sa.Column("revoked_at", Timestamp, nullable=True),
    # one of the two global lookups: a key is found by its prefix before any business is known
    sa.UniqueConstraint("prefix"),
    sa.CheckConstraint("octet_length(secret_hash) = 32", name="secret_hash_sha256"),
)

idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    business_id_column(),
    sa.Column("principal", sa.Text, nullable=False),
    sa.Column("key", sa.Text, nullable=False),
    sa.Column("request_hash", sa.Text, nullable=False),
    sa.Column("response", JSONB, nullable=True),
    created_at_column(),
    sa.PrimaryKeyConstraint("business_id", "principal", "key"),
    sa.CheckConstraint("length(key) BETWEEN 1 AND 255", name="key_length"),
    sa.Index(None, "business_id", "created_at"),
)


# The row type of each table above (db/rows.py says how they are used).


class ApiKeyRow(Protocol):
    """A row of ``api_keys``."""

    business_id: int
    id: int
    name: str
    prefix: str
    secret_hash: bytes
    scopes: list[str]
    created_by: int | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class IdempotencyKeyRow(Protocol):
    """A row of ``idempotency_keys``."""

    business_id: int
    principal: str
    key: str
    request_hash: str
    response: dict[str, Any] | None
    created_at: datetime
