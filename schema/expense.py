"""Expense, its audit events, policy violations and receipt candidates; its nested connections."""

from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal
from functools import partial
from operator import attrgetter
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from db.permissions import Permission
from db.queries.match_candidates import ReceiptCandidateRow
from db.rows import ExpenseEventRow, ExpenseRow, NodeRow
from db.sent_together import Following
from db.sql import Columns
from resolvers import expenses as resolve
from resolvers import matching
from resolvers.context import Context
from resolvers.expense_args import ExpenseFilterLike, Ordering
from resolvers.paging import PageArgs, PageResult
from schema.base import Connection, Money, Node, children, connection, enum_column, node_type
from schema.expense_inputs import (
    ExpenseFilter,
    ExpenseOrder,
    ExpenseStatus,
    FilterArg,
    OrderArg,
    ordering,
)
from schema.fields import Sourced, column, fetched, reference

if TYPE_CHECKING:
    from schema.card import Card
    from schema.category import Category
    from schema.member import Member
    from schema.receipt import Receipt
    from schema.team import Team


@strawberry.type(description="A policy rule an expense currently breaks.")
class PolicyViolation:
    code: str = strawberry.field(description="Stable code: AMOUNT_OVER_LIMIT or RECEIPT_REQUIRED.")
    message: str = strawberry.field(description="Human-readable explanation.")
    policy_name: str = strawberry.field(description="Name of the policy broken.")


@strawberry.type(description="One change in an expense's life: who did what, when.")
class ExpenseEvent(Sourced):
    row: strawberry.Private[ExpenseEventRow]
    action: str = column("action", description="What happened (CREATED, SUBMITTED, APPROVED, ...).")
    comment: str | None = column("comment", description="Reason or note given with the change.")
    at: datetime = column("at", description="When it happened.")
    actor: Annotated["Member", strawberry.lazy("schema.member")] | None = reference(
        "members", "actor_id", description="Who made the change; null for the system."
    )


@strawberry.type(description="A receipt the matcher thinks belongs to an expense.")
class ReceiptCandidate(Sourced):
    row: strawberry.Private[
        ReceiptCandidateRow
    ]  # the receipt's row, with match_score and match_reasons
    receipt: Annotated["Receipt", strawberry.lazy("schema.receipt")] = column(
        lambda row: row, description="The unmatched receipt."
    )
    score: float = column("match_score", description="How well it fits, 0 to 1.")
    reasons: list[str] = column(
        lambda row: list(row.match_reasons),
        description='Why, in short phrases: "amount equal", "date +1 day", "merchant 0.82".',
    )


def _money(amount: str, currency: str, *, description: str) -> Any:
    """Declare a Money field of the columns ``amount`` (minor units) and ``currency``."""
    # the Money object's source: the pair itself (schema/base.py)
    return column(attrgetter(amount, currency), description=description, reads=(amount, currency))


def _decimal(name: str, *, description: str) -> Any:
    """Declare a non-null Decimal column; the lane writes a page of it in one loop."""
    read = attrgetter(name)

    def many(rows: list[Any]) -> list[str]:  # schema/scalars.py fixed_point, no call a value
        return [format(value, "f") for value in map(read, rows)]

    return column(name, description=description, many=many)


def _day(name: str, *, description: str) -> Any:
    """Declare a nullable date column shown as an ISO 8601 string."""
    read = attrgetter(name)

    def many(rows: list[Any]) -> list[str | None]:
        return [None if day is None else day.isoformat() for day in map(read, rows)]

    return column(lambda row: many([row])[0], description=description, reads=(name,), many=many)


async def _missing(ctx: Context, expenses: list[ExpenseRow]) -> list[bool]:
    found = await resolve.expenses_violations(ctx, expenses)
    return [any(v.code == "RECEIPT_REQUIRED" for v in violations) for violations in found]


async def _violations(ctx: Context, expenses: list[ExpenseRow]) -> list[list[PolicyViolation]]:
    return [
        [PolicyViolation(code=v.code, message=v.message, policy_name=v.policy_name) for v in found]
        for found in await resolve.expenses_violations(ctx, expenses)
    ]


async def _events(ctx: Context, expenses: list[ExpenseRow]) -> list[list[ExpenseEventRow]]:
    return await resolve.expenses_events(ctx, expenses)


@node_type(description="Money spent by a member, on a card or out of pocket.")
class Expense(Node, Sourced):
    row: strawberry.Private[ExpenseRow]
    merchant_name: str = column("merchant_name", description="Who was paid.")
    description: str = column("description", description="What it was for.")
    amount: Money = _money(
        "amount_minor", "currency", description="Amount in the currency it was spent in."
    )
    home_amount: Money = _money(
        "home_amount_minor",
        "home_currency",
        description="Amount converted to the business's home currency.",
    )
    fx_rate: Decimal = _decimal(
        "fx_rate",
        description="Rate used: home amount = amount x fxRate, rounded to the home currency's decimals.",
    )
    fx_rate_date: str | None = _day(
        "fx_rate_day",
        description="Day (UTC, ISO 8601) of the rate used; null when none was recorded.",
    )
    spent_at: datetime = column("spent_at", description="When the money was spent.")
    status: ExpenseStatus = enum_column("status", ExpenseStatus, description="Life-cycle status.")
    submitted_at: datetime | None = column(
        "submitted_at", description="When it was submitted for approval."
    )
    decided_at: datetime | None = column(
        "decided_at", description="When it was approved or rejected."
    )
    reimbursed_at: datetime | None = column(
        "reimbursed_at", description="When an out-of-pocket expense was paid back."
    )
    exported_at: datetime | None = column(
        "exported_at", description="When it was exported to bookkeeping."
    )
    created_at: datetime = column("created_at", description="When it was recorded.")
    updated_at: datetime = column(
        "updated_at", description="Last change of any kind, status included."
    )
    deleted_at: datetime | None = column(
        "deleted_at", description="When it was deleted (only with includeDeleted)."
    )
    member: Annotated["Member", strawberry.lazy("schema.member")] = reference(
        "members", "member_id", required=True, description="Who spent it."
    )
    team: Annotated["Team", strawberry.lazy("schema.team")] | None = reference(
        "teams", "team_id", description="Team it is booked to."
    )
    card: Annotated["Card", strawberry.lazy("schema.card")] | None = reference(
        "cards", "card_id", description="Card it was paid with; null for out-of-pocket expenses."
    )
    category: Annotated["Category", strawberry.lazy("schema.category")] | None = reference(
        "categories", "category_id", description="Bookkeeping category."
    )
    receipts: list[Annotated["Receipt", strawberry.lazy("schema.receipt")]] = children(
        resolve.EXPENSE_RECEIPTS, description="Receipts attached to it."
    )
    receipt_missing: bool = fetched(
        _missing,
        description="A policy requires a receipt for this amount and none is attached.",
        permission=Permission.EXPENSES_READ,
        whole=("receipts",),  # the receipts of the expenses it checks
    )
    policy_violations: list[PolicyViolation] = fetched(
        _violations,
        description="Policies this expense currently breaks.",
        permission=Permission.EXPENSES_READ,
        whole=("receipts",),  # the receipts of the expenses it checks
    )
    events: list[ExpenseEvent] = fetched(
        _events,
        description="Audit trail, oldest first.",
        permission=Permission.EXPENSES_READ,
        reads=("id",),
    )
    receipt_candidates: list[ReceiptCandidate] = fetched(
        matching.expense_receipt_candidates,
        description=(
            "Unmatched receipts the matcher thinks belong to it, best first, for a person to "
            "confirm with attachReceipt; only receipts the viewer sees. Needs `receipts:read`."
        ),
        permission=Permission.RECEIPTS_READ,
    )


ExpenseConnection = Connection[Expense]
# pages(context, sources, page arguments, filter_=, order=, columns=): a page per source
ExpensePages = Callable[..., Awaitable[list[PageResult]]]


async def _by_parent(
    ctx: Context,
    parents: list[NodeRow],
    args: PageArgs,
    *,
    parent: resolve.ExpenseParent,
    filter_: ExpenseFilterLike | None,
    order: Ordering,
    columns: Columns = None,
) -> list[PageResult]:
    ids = [row.id for row in parents]
    return await resolve.parent_expenses(
        ctx, parent=parent, parent_ids=ids, filter_=filter_, order=order, args=args, columns=columns
    )


def expense_connection(
    pages: ExpensePages,
    *,
    description: str,
    reads: tuple[str, ...] | None = None,
    follow: Callable[..., Following | None] | None = None,
) -> Any:
    """Declare an ``expenses(...)`` connection: the root list's arguments, converted once.

    ``pages(context, sources, page arguments, filter_=, order=, columns=)`` returns a page
    per source, its rows with only ``columns`` when not None (execution/columns.py).
    """

    async def load(
        ctx: Context,
        sources: list[Any],
        args: PageArgs,
        *,
        filter: ExpenseFilter | None = None,
        order_by: ExpenseOrder | None = None,
        columns: Columns = None,
    ) -> list[PageResult]:
        order = ordering(order_by)
        return await pages(ctx, sources, args, filter_=filter, order=order, columns=columns)

    return connection(
        Expense,
        load,
        description=description,
        permission=Permission.EXPENSES_READ,
        arguments={"filter": FilterArg, "order_by": OrderArg},
        narrows="expenses",
        reads=reads,
        follow=follow,
    )


def expenses_field(parent: resolve.ExpenseParent, *, description: str) -> Any:
    """Declare the ``expenses(...)`` connection of a member, team or card, loaded for every
    parent of a level at once."""
    pages = partial(_by_parent, parent=parent)

    def follow(
        ctx: Context,
        table: str,
        columns: Columns = None,
        *,
        filter: ExpenseFilter | None = None,
        order_by: ExpenseOrder | None = None,
        **paging: Any,
    ) -> Following | None:
        return resolve.parent_expenses_following(
            ctx,
            parent=parent,
            table=table,
            filter_=filter,
            order=ordering(order_by),
            args=PageArgs(**paging),
            columns=columns,
        )

    return expense_connection(pages, description=description, reads=("id",), follow=follow)
