"""Expense life-cycle mutations. Business-rule failures are userErrors, nothing changes."""

from datetime import datetime
from typing import Annotated

import strawberry

from db.rows import ExpenseRow
from resolvers.context import Context
from resolvers.mutations import decisions
from resolvers.mutations import expenses as recording
from resolvers.mutations.expenses import ExpenseFields
from schema.expense import Expense
from schema.input_fields import optional
from schema.payloads import Changes, MoneyInput, one_changed, outcome, payload


@payload("Result of a mutation on several expenses: all of them changed, or none.")
class ExpensesPayload:
    expenses: list[Expense] = strawberry.field(
        default_factory=list, description="The expenses after the change; empty when userErrors."
    )


@strawberry.input(description="A new expense, recorded as a DRAFT.")
class CreateExpenseInput:
    amount: MoneyInput = strawberry.field(description="Amount in the currency it was spent in.")
    spent_at: datetime = strawberry.field(description="When it was spent (with offset).")
    merchant_name: str = strawberry.field(description="Who was paid.")
    description: str | None = optional("What it was for.")
    category_id: strawberry.ID | None = optional("Bookkeeping category.")
    card_id: strawberry.ID | None = optional("Card paid with; omit for out-of-pocket.")
    member_id: strawberry.ID | None = optional(
        "Whose expense (API keys, finance and admins); default: the caller."
    )


@strawberry.input(
    description="Changes to a DRAFT or REJECTED expense; omitted fields stay as they are."
)
class UpdateExpenseInput:
    amount: MoneyInput | None = optional("New amount.")
    spent_at: datetime | None = optional("New time of spending.")
    merchant_name: str | None = optional("New merchant.")
    description: str | None = optional("New description.")
    category_id: strawberry.ID | None = optional("New category.")
    card_id: strawberry.ID | None = optional("New card.")


def _fields(data: CreateExpenseInput | UpdateExpenseInput) -> ExpenseFields:
    return ExpenseFields(
        amount=data.amount.amount if data.amount else None,
        currency=data.amount.currency if data.amount else None,
        spent_at=data.spent_at, merchant_name=data.merchant_name, description=data.description,
        category_id=data.category_id, card_id=data.card_id,
        member_id=getattr(data, "member_id", None),
    )  # fmt: skip


_one = one_changed(Expense, "expense")
_many = outcome(
    ExpensesPayload,
    lambda rows: ExpensesPayload(expenses=[Expense.from_row(row) for row in rows]),
)


ExpenseId = Annotated[strawberry.ID, strawberry.argument(description="Global id of the expense.")]
ExpenseIds = Annotated[
    list[strawberry.ID], strawberry.argument(description="1 to 100 expense ids.")
]


@strawberry.type(description="Mutations of the expense life cycle.")
class ExpenseMutations:
    @_one.mutation(
        "Record a new expense as a DRAFT, converted to the home currency at the day's rate."
    )
    async def create_expense(
        ctx: Context,
        input: Annotated[CreateExpenseInput, strawberry.argument(description="The expense.")],
    ) -> ExpenseRow:
        return await recording.create_expense(ctx, _fields(input))

    @_one.mutation("Change your DRAFT or REJECTED expense; a REJECTED one becomes a DRAFT again.")
    async def update_expense(
        ctx: Context, id: ExpenseId, input: Changes[UpdateExpenseInput]
    ) -> ExpenseRow:
        return await recording.update_expense(ctx, id, _fields(input))

    delete_expense = _one.mutation(
        "Delete your DRAFT expense (it stays visible to syncs with deletedAt).",
        recording.delete_expense,
        id=ExpenseId,
    )
    submit_expense = _one.mutation(
        "Submit your DRAFT for approval; blocked with RECEIPT_REQUIRED when a policy needs a receipt.",
        recording.submit_expense,
        id=ExpenseId,
    )

    @_one.mutation(
        "Approve a SUBMITTED expense (its team's manager, finance or an admin; never your own)."
    )
    async def approve_expense(
        ctx: Context, id: ExpenseId,
        comment: Annotated[str | None, strawberry.argument(description="Optional note.")] = None,
    ) -> ExpenseRow:  # fmt: skip
        return await decisions.approve_expense(ctx, id, comment)

    reject_expense = _one.mutation(
        "Reject a SUBMITTED expense with a reason (same deciders as approval).",
        decisions.reject_expense,
        id=ExpenseId,
        reason=Annotated[str, strawberry.argument(description="Why; shown to the spender.")],
    )
    mark_expenses_reimbursed = _many.mutation(
        "Mark APPROVED out-of-pocket expenses as paid back (finance, admins, API keys): all or none.",
        decisions.mark_reimbursed,
        ids=ExpenseIds,
    )
    mark_expenses_exported = _many.mutation(
        "Mark APPROVED or REIMBURSED expenses as exported to bookkeeping: all or none.",
        decisions.mark_exported,
        ids=ExpenseIds,
    )
