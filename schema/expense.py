"""Expense, its audit events and policy violations; the ExpenseFilter and ExpenseOrder inputs."""

from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from sqlalchemy import Row

from resolvers import expenses as resolve
from resolvers import matching
from resolvers.expenses import Ordering
from resolvers.ids import encode_id
from resolvers.nodes import reference, required_reference
from schema.base import After, Before, Connection, First, Info, Last, Money, Node, page_args
from schema.batch import batched, references

if TYPE_CHECKING:
    from schema.card import Card
    from schema.category import Category
    from schema.member import Member
    from schema.receipt import Receipt
    from schema.team import Team


@strawberry.enum(description="Where an expense is in its life cycle.")
class ExpenseStatus(Enum):
    DRAFT = "DRAFT"
    SUBMITTED = "SUBMITTED"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    REIMBURSED = "REIMBURSED"


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
    spent_after: datetime | None = strawberry.field(
        default=None, description="Spent at or after this instant (with offset)."
    )
    spent_before: datetime | None = strawberry.field(
        default=None, description="Spent strictly before this instant (with offset)."
    )
    statuses: list[ExpenseStatus] | None = strawberry.field(
        default=None, description="Any of these statuses."
    )
    member_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Spent by any of these members (at most 100)."
    )
    team_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Booked to any of these teams (at most 100)."
    )
    card_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Paid with any of these cards (at most 100)."
    )
    category_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="In any of these categories (at most 100)."
    )
    currencies: list[str] | None = strawberry.field(
        default=None, description="Spent in any of these ISO 4217 currencies."
    )
    min_amount: Decimal | None = strawberry.field(
        default=None, description="Home-currency amount at least this (major units)."
    )
    max_amount: Decimal | None = strawberry.field(
        default=None, description="Home-currency amount at most this (major units)."
    )
    merchant_search: str | None = strawberry.field(
        default=None, description="Merchant name contains this text, case-insensitive."
    )
    has_receipt: bool | None = strawberry.field(
        default=None, description="Has (true) or lacks (false) an attached receipt."
    )
    receipt_missing: bool | None = strawberry.field(
        default=None,
        description="A policy requires a receipt for the amount and none is attached (true: the receipts to chase), or not (false).",
    )
    updated_since: datetime | None = strawberry.field(
        default=None,
        description="Changed at or after this instant: for incremental sync, with orderBy UPDATED_AT ASC.",
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


@strawberry.type(description="A policy rule an expense currently breaks.")
class PolicyViolation:
    code: str = strawberry.field(description="Stable code: AMOUNT_OVER_LIMIT or RECEIPT_REQUIRED.")
    message: str = strawberry.field(description="Human-readable explanation.")
    policy_name: str = strawberry.field(description="Name of the policy broken.")


@strawberry.type(description="One change in an expense's life: who did what, when.")
class ExpenseEvent:
    row: strawberry.Private[Row[Any]]
    action: str = strawberry.field(description="What happened (CREATED, SUBMITTED, APPROVED, ...).")
    comment: str | None = strawberry.field(description="Reason or note given with the change.")
    at: datetime = strawberry.field(description="When it happened.")

    @strawberry.field(description="Who made the change; null for the system.")
    @references("members", "actor_id", "schema.member:Member")
    async def actor(
        self, info: Info
    ) -> Annotated["Member", strawberry.lazy("schema.member")] | None:
        from schema.member import Member

        row = await reference(info.context, "members", self.row.actor_id)
        return Member.from_row(row) if row else None

    @classmethod
    def from_row(cls, row: Row[Any]) -> "ExpenseEvent":
        return cls(row=row, action=row.action, comment=row.comment, at=row.at)


@strawberry.type(description="A receipt the matcher thinks belongs to an expense.")
class ReceiptCandidate:
    receipt: Annotated["Receipt", strawberry.lazy("schema.receipt")] = strawberry.field(
        description="The unmatched receipt."
    )
    score: float = strawberry.field(description="How well it fits, 0 to 1.")
    reasons: list[str] = strawberry.field(
        description='Why, in short phrases: "amount equal", "date +1 day", "merchant 0.82".'
    )

    @classmethod
    def from_row(cls, row: Row[Any]) -> "ReceiptCandidate":
        from schema.receipt import Receipt

        return cls(
            receipt=Receipt.from_row(row), score=row.match_score, reasons=list(row.match_reasons)
        )


@strawberry.type(description="Money spent by a member, on a card or out of pocket.")
class Expense(Node):
    row: strawberry.Private[Row[Any]]
    merchant_name: str = strawberry.field(description="Who was paid.")
    description: str = strawberry.field(description="What it was for.")
    amount: Money = strawberry.field(description="Amount in the currency it was spent in.")
    home_amount: Money = strawberry.field(
        description="Amount converted to the business's home currency."
    )
    fx_rate: Decimal = strawberry.field(
        description="Rate used: home amount = amount x fxRate, rounded to the home currency's decimals."
    )
    fx_rate_date: str | None = strawberry.field(
        description="Day (UTC, ISO 8601) of the rate used; null when none was recorded."
    )
    spent_at: datetime = strawberry.field(description="When the money was spent.")
    status: ExpenseStatus = strawberry.field(description="Life-cycle status.")
    submitted_at: datetime | None = strawberry.field(
        description="When it was submitted for approval."
    )
    decided_at: datetime | None = strawberry.field(description="When it was approved or rejected.")
    reimbursed_at: datetime | None = strawberry.field(
        description="When an out-of-pocket expense was paid back."
    )
    exported_at: datetime | None = strawberry.field(
        description="When it was exported to bookkeeping."
    )
    created_at: datetime = strawberry.field(description="When it was recorded.")
    updated_at: datetime = strawberry.field(description="Last change of any kind, status included.")
    deleted_at: datetime | None = strawberry.field(
        description="When it was deleted (only with includeDeleted)."
    )

    @classmethod
    def from_row(cls, row: Row[Any]) -> "Expense":
        return cls(
            row=row,
            id=strawberry.ID(encode_id("Expense", row.id)),
            merchant_name=row.merchant_name,
            description=row.description,
            amount=Money.of(row.amount_minor, row.currency),
            home_amount=Money.of(row.home_amount_minor, row.home_currency),
            fx_rate=row.fx_rate,
            fx_rate_date=row.fx_rate_day.isoformat() if row.fx_rate_day else None,
            spent_at=row.spent_at,
            status=ExpenseStatus(row.status),
            submitted_at=row.submitted_at,
            decided_at=row.decided_at,
            reimbursed_at=row.reimbursed_at,
            exported_at=row.exported_at,
            created_at=row.created_at,
            updated_at=row.updated_at,
            deleted_at=row.deleted_at,
        )

    @strawberry.field(description="Who spent it.")
    @references("members", "member_id", "schema.member:Member", required=True)
    async def member(self, info: Info) -> Annotated["Member", strawberry.lazy("schema.member")]:
        from schema.member import Member

        return Member.from_row(
            await required_reference(info.context, "members", self.row.member_id)
        )

    @strawberry.field(description="Team it is booked to.")
    @references("teams", "team_id", "schema.team:Team")
    async def team(self, info: Info) -> Annotated["Team", strawberry.lazy("schema.team")] | None:
        from schema.team import Team

        row = await reference(info.context, "teams", self.row.team_id)
        return Team.from_row(row) if row else None

    @strawberry.field(description="Card it was paid with; null for out-of-pocket expenses.")
    @references("cards", "card_id", "schema.card:Card")
    async def card(self, info: Info) -> Annotated["Card", strawberry.lazy("schema.card")] | None:
        from schema.card import Card

        row = await reference(info.context, "cards", self.row.card_id)
        return Card.from_row(row) if row else None

    @strawberry.field(description="Bookkeeping category.")
    @references("categories", "category_id", "schema.category:Category")
    async def category(
        self, info: Info
    ) -> Annotated["Category", strawberry.lazy("schema.category")] | None:
        from schema.category import Category

        row = await reference(info.context, "categories", self.row.category_id)
        return Category.from_row(row) if row else None

    @strawberry.field(description="Receipts attached to it.")
    @batched(lambda info, expenses: _each(resolve.expenses_receipts, info, expenses, _receipts))
    async def receipts(
        self, info: Info
    ) -> list[Annotated["Receipt", strawberry.lazy("schema.receipt")]]:
        return _receipts(await resolve.expense_receipts(info.context, self.row))

    @strawberry.field(
        description=(
            "Unmatched receipts the matcher thinks belong to it, best first, for a person to "
            "confirm with attachReceipt; only receipts the viewer sees. Needs `receipts:read`."
        )
    )
    async def receipt_candidates(self, info: Info) -> list[ReceiptCandidate]:
        rows = await matching.expense_receipt_candidates(info.context, self.row)
        return [ReceiptCandidate.from_row(row) for row in rows]

    @strawberry.field(
        description="A policy requires a receipt for this amount and none is attached."
    )
    @batched(lambda info, expenses: _each(resolve.expenses_violations, info, expenses, _missing))
    async def receipt_missing(self, info: Info) -> bool:
        return _missing(await resolve.policy_violations(info.context, self.row))

    @strawberry.field(description="Policies this expense currently breaks.")
    @batched(lambda info, expenses: _each(resolve.expenses_violations, info, expenses, _violations))
    async def policy_violations(self, info: Info) -> list[PolicyViolation]:
        return _violations(await resolve.policy_violations(info.context, self.row))

    @strawberry.field(description="Audit trail, oldest first.")
    @batched(lambda info, expenses: _each(resolve.expenses_events, info, expenses, _events))
    async def events(self, info: Info) -> list[ExpenseEvent]:
        return _events(await resolve.expense_events(info.context, self.row))


def _receipts(rows: list[Row[Any]]) -> list["Receipt"]:
    from schema.receipt import Receipt

    return [Receipt.from_row(row) for row in rows]


def _missing(violations: list[resolve.Violation]) -> bool:
    return any(v.code == "RECEIPT_REQUIRED" for v in violations)


def _violations(violations: list[resolve.Violation]) -> list[PolicyViolation]:
    return [
        PolicyViolation(code=v.code, message=v.message, policy_name=v.policy_name)
        for v in violations
    ]


def _events(rows: list[Row[Any]]) -> list[ExpenseEvent]:
    return [ExpenseEvent.from_row(row) for row in rows]


async def _each(
    many: Callable[[Any, list[Row[Any]]], Awaitable[list[Any]]],
    info: Info,
    expenses: list[Expense],
    wrap: Callable[[Any], Any],
) -> list[Any]:
    """Return ``wrap`` of what the batch resolver ``many`` gives for each expense (batch twins)."""
    return [wrap(value) for value in await many(info.context, [e.row for e in expenses])]


ExpenseConnection = Connection[Expense]


async def nested_expenses(
    info: Info,
    parent: resolve.ExpenseParent,
    parent_id: int,
    *,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
    filter: ExpenseFilter | None,
    order_by: ExpenseOrder | None,
) -> Connection[Expense]:
    """Return the expense connection under a member, team or card."""
    result = await resolve.parent_expenses(
        info.context,
        parent=parent,
        parent_id=parent_id,
        filter_=filter,
        order=ordering(order_by),
        args=page_args(first, after, last, before),
    )
    return Connection.of(result, Expense.from_row)


__all__ = ["After", "Before", "First", "Last"]
