"""The inputs of expense lists: ExpenseFilter, ExpenseOrder, and the enums they take.

Shared by the root ``expenses`` field, the nested connections (``expenses_field``) and
``spendSummary``; they refer to no object type.
"""

from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated

import strawberry

from db.states import ExpenseStatus as ExpenseStatus  # re-exported: registered below
from resolvers.expense_args import Ordering
from schema.input_fields import optional

# the one ExpenseStatus (db/states.py) is the GraphQL enum too
strawberry.enum(ExpenseStatus, description="Where an expense is in its life cycle.")


@strawberry.enum(description="What expense lists can be ordered by; ties are broken by id.")
class ExpenseOrderField(Enum):
    SPENT_AT = "SPENT_AT"
    AMOUNT = "AMOUNT"
    UPDATED_AT = "UPDATED_AT"
    CREATED_AT = "CREATED_AT"


@strawberry.enum(description="Sort direction.")
class OrderDirection(Enum):
    ASC = "ASC"
    DESC = "DESC"


@strawberry.input(
    description="Order of an expense list. Default: SPENT_AT DESC. AMOUNT orders by the home-currency amount."
)
class ExpenseOrder:
    field: ExpenseOrderField = strawberry.field(description="Column to order by.")
    direction: OrderDirection = strawberry.field(
        default=OrderDirection.DESC, description="Direction."
    )


@strawberry.input(description="Narrows an expense list. All given conditions must hold.")
class ExpenseFilter:
    spent_after: datetime | None = optional("Spent at or after this instant (with offset).")
    spent_before: datetime | None = optional("Spent strictly before this instant (with offset).")
    statuses: list[ExpenseStatus] | None = optional("Any of these statuses.")
    member_ids: list[strawberry.ID] | None = optional(
        "Spent by any of these members (at most 100)."
    )
    team_ids: list[strawberry.ID] | None = optional("Booked to any of these teams (at most 100).")
    card_ids: list[strawberry.ID] | None = optional("Paid with any of these cards (at most 100).")
    category_ids: list[strawberry.ID] | None = optional("In any of these categories (at most 100).")
    currencies: list[str] | None = optional("Spent in any of these ISO 4217 currencies.")
    min_amount: Decimal | None = optional("Home-currency amount at least this (major units).")
    max_amount: Decimal | None = optional("Home-currency amount at most this (major units).")
    merchant_search: str | None = optional("Merchant name contains this text, case-insensitive.")
    has_receipt: bool | None = optional("Has (true) or lacks (false) an attached receipt.")
    receipt_missing: bool | None = optional(
        "A policy requires a receipt for the amount and none is attached (true: the receipts to chase), or not (false)."
    )
    updated_since: datetime | None = optional(
        "Changed at or after this instant: for incremental sync, with orderBy UPDATED_AT ASC."
    )
    include_deleted: bool | None = strawberry.field(
        default=False,
        description="Include deleted expenses (they carry `deletedAt`), so syncs see deletions.",
    )


FilterArg = Annotated[
    ExpenseFilter | None, strawberry.argument(description="Conditions the expenses must meet.")
]
OrderArg = Annotated[
    ExpenseOrder | None,
    strawberry.argument(description="Order of the list (default SPENT_AT DESC)."),
]


def ordering(order_by: ExpenseOrder | None) -> Ordering:
    """Return the resolver's ordering for an ExpenseOrder argument."""
    if order_by is None:
        return Ordering()
    return Ordering(
        field=order_by.field.value, descending=order_by.direction is OrderDirection.DESC
    )
