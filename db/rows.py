"""The row types: what a read of each table returns, column by column, for the type checker.

Rows are never converted: a read returns what the engine made (asyncpg records as named
tuples, db/fastread.py, or SQLAlchemy ``Row`` objects), and both answer attribute access by
column name. Each type here is a ``Protocol`` naming a table's columns with their Python
types, so ``Sequence[ExpenseRow]`` costs nothing at run time: the function whose statement
made the rows says what they are with ``typing.cast``. Rows are read-only; the members are
written as attributes only to keep a column one line. A read that adds columns to a table's
has its own type extending the table's, next to its statement
(``db.queries.match_candidates.ExpenseCandidateRow``). ``tests/db/test_rows.py`` fails when
a type and its table disagree on a column.
"""

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol


class NodeRow(Protocol):
    """A row of any node type's table (db/nodes.py), known only by its id."""

    id: int


# db/tables/org.py


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


# db/tables/expense.py


class ExpenseRow(Protocol):
    """A row of ``expenses`` (``_mapping``: its columns by name, as both kinds of row have)."""

    @property
    def _mapping(self) -> Mapping[str, Any]: ...

    business_id: int
    id: int
    member_id: int
    team_id: int | None
    card_id: int | None
    category_id: int | None
    merchant_name: str
    description: str
    amount_minor: int
    currency: str
    home_amount_minor: int
    home_currency: str
    fx_rate: Decimal
    fx_rate_day: date | None
    spent_at: datetime
    status: str
    submitted_at: datetime | None
    decided_at: datetime | None
    decided_by: int | None
    reimbursed_at: datetime | None
    exported_at: datetime | None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


class _SpendTotalRow(Protocol):
    """The columns both spend rollups share (their period column is their own)."""

    business_id: int
    team_id: int | None
    category_id: int | None
    currency: str
    status: str
    home_currency: str
    total_minor: Decimal
    n: int


class ExpenseDayTotalRow(_SpendTotalRow, Protocol):
    """A row of ``expense_day_totals``."""

    day: date


class ExpenseMonthTotalRow(_SpendTotalRow, Protocol):
    """A row of ``expense_month_totals``."""

    month: date


class ExpenseEventRow(Protocol):
    """A row of ``expense_events``."""

    business_id: int
    id: int
    expense_id: int
    actor_id: int | None
    action: str
    comment: str | None
    at: datetime


class FxRateRow(Protocol):
    """A row of ``fx_rates``."""

    currency: str
    quote_currency: str
    day: date
    rate: Decimal


# db/tables/receipt.py


class ReceiptRow(Protocol):
    """A row of ``receipts``."""

    business_id: int
    id: int
    expense_id: int | None
    uploaded_by: int
    file_name: str
    content_type: str
    size_bytes: int
    sha256: str
    storage_key: str
    uploaded_at: datetime
    processing: str
    processing_error: str | None
    processed_at: datetime | None
    extracted_merchant: str | None
    extracted_spent_on: date | None
    extracted_total_minor: int | None
    extracted_currency: str | None
    extracted_confidence: dict[str, float] | None


class MatchCandidateRow(Protocol):
    """A row of ``receipt_match_candidates``."""

    business_id: int
    receipt_id: int
    expense_id: int
    score: float
    reasons: list[str]
    created_at: datetime


class MatchRefusalRow(Protocol):
    """A row of ``receipt_match_refusals``."""

    business_id: int
    receipt_id: int
    expense_id: int
    created_at: datetime


# db/tables/feed.py


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


# db/tables/api.py


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
