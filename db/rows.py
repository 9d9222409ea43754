"""The row types: what a read of each table returns, column by column, for the type checker.

Each table's row type is defined next to the table (db/tables/<domain>.py); they are all
imported from here. Rows are never converted: a read returns what the engine made (asyncpg records as named
tuples, db/fastread.py, or SQLAlchemy ``Row`` objects), and both answer attribute access by
column name. Each type here is a ``Protocol`` naming a table's columns with their Python
types, so ``Sequence[ExpenseRow]`` costs nothing at run time: the function whose statement
made the rows says what they are with ``typing.cast``. Rows are read-only; the members are
written as attributes only to keep a column one line. A read that adds columns to a table's
has its own type extending the table's, next to its statement
(``db.queries.match_candidates.ExpenseCandidateRow``). ``tests/db/test_rows.py`` fails when
a type and its table disagree on a column.
"""

from typing import Protocol

from db.tables.api import (
    ApiKeyRow,
    IdempotencyKeyRow,
)
from db.tables.expense import (
    ExpenseDayTotalRow,
    ExpenseEventRow,
    ExpenseMonthTotalRow,
    ExpenseRow,
    FxRateRow,
)
from db.tables.feed import (
    AuditEventRow,
    EventRow,
    WebhookDeliveryRow,
    WebhookEndpointRow,
)
from db.tables.org import (
    BusinessRow,
    CardRow,
    CategoryRow,
    MemberRow,
    PolicyRow,
    TeamRow,
)
from db.tables.receipt import (
    MatchCandidateRow,
    MatchRefusalRow,
    ReceiptRow,
)

__all__ = [
    "ApiKeyRow",
    "AuditEventRow",
    "BusinessRow",
    "CardRow",
    "CategoryRow",
    "EventRow",
    "ExpenseDayTotalRow",
    "ExpenseEventRow",
    "ExpenseMonthTotalRow",
    "ExpenseRow",
    "FxRateRow",
    "IdempotencyKeyRow",
    "MatchCandidateRow",
    "MatchRefusalRow",
    "MemberRow",
    "NodeRow",
    "PolicyRow",
    "ReceiptRow",
    "TeamRow",
    "WebhookDeliveryRow",
    "WebhookEndpointRow",
]


class NodeRow(Protocol):
    """A row of any node type's table (db/nodes.py), known only by its id."""

    id: int
