"""Expense lists (root and nested), receipts on an expense, and policy checks."""

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from operator import attrgetter

from db.nodes import EXPENSE
from db.permissions import Permission
from db.queries.expenses import EXPENSE_ORDERS, count_expenses, expense_page
from db.queries.expenses import ExpenseParent as ExpenseParent  # schema/expense.py names it here
from db.rows import ExpenseEventRow, ExpenseRow, PolicyRow, ReceiptRow
from db.sent_together import Following
from db.sql import Columns
from loaders.expenses import ParentCountKey, ParentPageKey
from loaders.registry import Loaders
from resolvers.context import Context
from resolvers.expense_args import ExpenseFilterLike, Ordering, expense_spec
from resolvers.nodes import Children
from resolvers.paging import PageArgs, PageResult, keyset, page_result

EXPENSE_RECEIPTS: Children[ReceiptRow] = Children(
    Permission.RECEIPTS_READ, "receipts", attrgetter("receipts_by_expense")
)


async def list_expenses(
    ctx: Context,
    *,
    filter_: ExpenseFilterLike | None,
    order: Ordering,
    args: PageArgs,
    columns: Columns = None,
) -> PageResult:
    """Return a page of the viewer's visible expenses (the root ``expenses`` field).

    ``columns``: the only columns to read of its rows (None: whole rows).
    """
    principal, loaders = ctx.require(Permission.EXPENSES_READ)
    spec = expense_spec(filter_, principal)
    keys = keyset(args, column=EXPENSE_ORDERS[order.field].name, descending=order.descending)
    page = await expense_page(
        db=ctx.db, visibility=loaders.visibility, spec=spec, keyset=keys, columns=columns
    )
    # for the references to these expenses; narrowed rows only for those reading no more
    loaders.ref(EXPENSE, columns).prime_many([(row.id, row) for row in page.rows])

    async def count() -> int:
        return await count_expenses(db=ctx.db, visibility=loaders.visibility, spec=spec)

    return page_result(page, keys, count)


async def parent_expenses(
    ctx: Context,
    *,
    parent: ExpenseParent,
    parent_ids: Sequence[int],
    filter_: ExpenseFilterLike | None,
    order: Ordering,
    args: PageArgs,
    columns: Columns = None,
) -> list[PageResult]:
    """Return a page of expenses per member, team or card: one batch for all parents.

    ``columns``: the only columns to read of their rows (None: whole rows).
    """
    loaders, key = _page_key(ctx, parent, filter_, order, args, columns)
    spec, keys = key.spec, key.keyset  # a key per parent (made anew: _replace is slower)
    pages = await loaders.expense_pages.load_all(
        [ParentPageKey(parent, parent_id, spec, keys, columns) for parent_id in parent_ids]
    )

    async def count(parent_id: int) -> int:
        return await loaders.expense_counts.load(ParentCountKey(parent, parent_id, key.spec))

    return [
        page_result(page, key.keyset, partial(count, parent_id))
        for parent_id, page in zip(parent_ids, pages, strict=True)
    ]


def parent_expenses_following(
    ctx: Context,
    *,
    parent: ExpenseParent,
    table: str,
    filter_: ExpenseFilterLike | None,
    order: Ordering,
    args: PageArgs,
    columns: Columns = None,
) -> Following | None:
    """Return :func:`parent_expenses`'s batch, the parents the rows of a read of ``table``
    (db/sent_together.py)."""
    loaders, key = _page_key(ctx, parent, filter_, order, args, columns)
    return loaders.expense_pages.following(table, "id", key)


def _page_key(
    ctx: Context,
    parent: ExpenseParent,
    filter_: ExpenseFilterLike | None,
    order: Ordering,
    args: PageArgs,
    columns: Columns,
) -> tuple[Loaders, ParentPageKey]:
    """Return the loaders and the key of a parent's page but its id (0 until given)."""
    principal, loaders = ctx.require(Permission.EXPENSES_READ)
    spec = expense_spec(filter_, principal)
    keys = keyset(args, column=EXPENSE_ORDERS[order.field].name, descending=order.descending)
    return loaders, ParentPageKey(parent, 0, spec, keys, columns)


async def expense_receipts(ctx: Context, expense: ExpenseRow) -> list[ReceiptRow]:
    """Return the receipts attached to an expense the viewer sees."""
    _, loaders = ctx.require(Permission.RECEIPTS_READ)
    return await loaders.receipts_by_expense.load(expense.id)


async def expense_events(ctx: Context, expense: ExpenseRow) -> list[ExpenseEventRow]:
    """Return the audit trail of an expense the viewer sees."""
    _, loaders = ctx.require(Permission.EXPENSES_READ)
    return await loaders.events_by_expense.load(expense.id)


@dataclass(frozen=True)
class Violation:
    """One policy an expense breaks right now."""

    code: str
    message: str
    policy_name: str


async def current_violations(ctx: Context, expense: ExpenseRow) -> list[Violation]:
    """Return the policies the expense breaks, whatever the caller's read scopes (submission)."""
    principal, loaders = ctx.require()
    policies = await loaders.policies.load(principal.business_id)
    applicable = _applicable(policies, expense)
    if not applicable:
        return []
    has_receipt = bool(await loaders.receipts_by_expense.load(expense.id))
    return _broken(expense, applicable, has_receipt)


async def expenses_events(
    ctx: Context, expenses: Sequence[ExpenseRow]
) -> list[list[ExpenseEventRow]]:
    """Return the audit trail of each expense (one loader call for all)."""
    _, loaders = ctx.require(Permission.EXPENSES_READ)
    return list(await loaders.events_by_expense.load_all([e.id for e in expenses]))


async def expenses_violations(
    ctx: Context, expenses: Sequence[ExpenseRow]
) -> list[list[Violation]]:
    """Return the active policies each expense breaks (amounts compared in home currency)."""
    principal, loaders = ctx.require(Permission.EXPENSES_READ)
    policies = await loaders.policies.load(principal.business_id)
    applicable = [_applicable(policies, expense) for expense in expenses]
    checked = [e.id for e, found in zip(expenses, applicable, strict=True) if found]
    receipts = await loaders.receipts_by_expense.load_all(checked) if checked else []
    has_receipt = {id_: bool(rows) for id_, rows in zip(checked, receipts, strict=True)}
    return [
        _broken(expense, found, has_receipt[expense.id]) if found else []
        for expense, found in zip(expenses, applicable, strict=True)
    ]


def _applicable(policies: Sequence[PolicyRow], expense: ExpenseRow) -> list[PolicyRow]:
    return [p for p in policies if p.category_id in (None, expense.category_id)]


def _broken(expense: ExpenseRow, applicable: list[PolicyRow], has_receipt: bool) -> list[Violation]:
    """Return the violations of ``expense`` against its applicable policies."""
    found = []
    for policy in applicable:
        limit = policy.max_amount_minor
        if limit is not None and expense.home_amount_minor > limit:
            found.append(
                Violation(
                    "AMOUNT_OVER_LIMIT", "The amount is over the policy maximum.", policy.name
                )
            )
        threshold = policy.receipt_required_above_minor
        if threshold is not None and expense.home_amount_minor > threshold and not has_receipt:
            found.append(
                Violation("RECEIPT_REQUIRED", "A receipt is required for this amount.", policy.name)
            )
    return found
