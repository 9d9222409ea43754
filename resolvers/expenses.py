"""Expense lists (root and nested), receipts on an expense, and policy checks."""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import Row

from db.money import UnknownCurrency, to_minor
from db.permissions import Permission
from db.queries.expenses import (
    EXPENSE_ORDERS,
    ExpenseParent,
    ExpenseSpec,
    count_expenses,
    expense_page,
)
from db.queries.summary_rollup import EARLIEST_INSTANT, END_OF_INSTANTS, supported_instant
from loaders.expenses import ParentCountKey, ParentPageKey
from resolvers.context import Context, Principal
from resolvers.errors import bad_input
from resolvers.ids import decode_ids_of
from resolvers.paging import PageArgs, PageResult, keyset, page_result

MAX_SEARCH_LENGTH = 100
SUPPORTED_INSTANTS = (
    f"must be from {EARLIEST_INSTANT.isoformat()} and before {END_OF_INSTANTS.isoformat()}"
)
NOT_UNICODE_TEXT = "must be Unicode text (it holds an unpaired surrogate)"
_SURROGATE = re.compile("[\ud800-\udfff]")


def unicode_text(value: str) -> bool:
    """Return True unless ``value`` holds a lone surrogate (UTF-8, and so PostgreSQL, has none).

    graphql-core refuses them in the document; a JSON variable (``"\\ud800"``) can carry one.
    """
    return value.isascii() or not _SURROGATE.search(value)


class ExpenseFilterLike(Protocol):
    """The ExpenseFilter input, as the schema layer hands it over (read-only)."""

    @property
    def spent_after(self) -> datetime | None: ...

    @property
    def spent_before(self) -> datetime | None: ...

    @property
    def statuses(self) -> Sequence[Any] | None: ...

    @property
    def member_ids(self) -> Sequence[str] | None: ...

    @property
    def team_ids(self) -> Sequence[str] | None: ...

    @property
    def card_ids(self) -> Sequence[str] | None: ...

    @property
    def category_ids(self) -> Sequence[str] | None: ...

    @property
    def currencies(self) -> Sequence[str] | None: ...

    @property
    def min_amount(self) -> Decimal | None: ...

    @property
    def max_amount(self) -> Decimal | None: ...

    @property
    def merchant_search(self) -> str | None: ...

    @property
    def has_receipt(self) -> bool | None: ...

    @property
    def receipt_missing(self) -> bool | None: ...

    @property
    def updated_since(self) -> datetime | None: ...

    @property
    def include_deleted(self) -> bool | None: ...


@dataclass(frozen=True)
class Ordering:
    """ExpenseOrder decoded: a column name and a direction."""

    field: str = "SPENT_AT"
    descending: bool = True


def _home_minor(amount: Decimal | None, principal: Principal, field: str) -> int | None:
    if amount is None:
        return None
    try:
        return to_minor(amount, principal.home_currency)
    except (ValueError, UnknownCurrency) as error:
        raise bad_input(
            f"{field}: {error} (amounts are in the home currency).", field=field
        ) from None


def _tuple(values: Sequence[Any] | None) -> tuple[Any, ...] | None:
    return None if values is None else tuple(getattr(v, "value", v) for v in values)


def _currencies(codes: Sequence[str] | None) -> tuple[str, ...] | None:
    if codes is None:
        return None
    upper = tuple(code.upper() for code in codes)
    if len(upper) > 100 or not all(re.fullmatch("[A-Z]{3}", code) for code in upper):
        raise bad_input("currencies takes up to 100 ISO 4217 codes like GBP.", field="currencies")
    return upper


def expense_spec(filter_: ExpenseFilterLike | None, principal: Principal) -> ExpenseSpec:
    """Return the database filter for an ExpenseFilter argument."""
    if filter_ is None:
        return ExpenseSpec()
    search = filter_.merchant_search
    if search is not None and len(search) > MAX_SEARCH_LENGTH:
        raise bad_input(
            f"merchantSearch is at most {MAX_SEARCH_LENGTH} characters.", field="merchantSearch"
        )
    if search is not None and not unicode_text(search):
        raise bad_input(f"merchantSearch {NOT_UNICODE_TEXT}.", field="merchantSearch")
    for name, value in (
        ("spentAfter", filter_.spent_after),
        ("spentBefore", filter_.spent_before),
        ("updatedSince", filter_.updated_since),
    ):
        if value is None:
            continue
        if value.tzinfo is None:
            raise bad_input(
                f"{name} needs a time zone offset, e.g. 2026-01-31T00:00:00Z.", field=name
            )
        if not supported_instant(value):
            raise bad_input(f"{name} {SUPPORTED_INSTANTS}.", field=name)
    return ExpenseSpec(
        spent_after=filter_.spent_after,
        spent_before=filter_.spent_before,
        statuses=_tuple(filter_.statuses),
        member_ids=decode_ids_of("Member", filter_.member_ids, field="memberIds"),
        team_ids=decode_ids_of("Team", filter_.team_ids, field="teamIds"),
        card_ids=decode_ids_of("Card", filter_.card_ids, field="cardIds"),
        category_ids=decode_ids_of("Category", filter_.category_ids, field="categoryIds"),
        currencies=_currencies(filter_.currencies),
        min_home_minor=_home_minor(filter_.min_amount, principal, "minAmount"),
        max_home_minor=_home_minor(filter_.max_amount, principal, "maxAmount"),
        merchant_search=search or None,
        has_receipt=filter_.has_receipt,
        receipt_missing=filter_.receipt_missing,
        updated_since=filter_.updated_since,
        include_deleted=bool(filter_.include_deleted),
    )


async def list_expenses(
    ctx: Context, *, filter_: ExpenseFilterLike | None, order: Ordering, args: PageArgs
) -> PageResult:
    """Return a page of the viewer's visible expenses (the root ``expenses`` field)."""
    principal, loaders = ctx.require(Permission.EXPENSES_READ)
    spec = expense_spec(filter_, principal)
    keys = keyset(args, column=EXPENSE_ORDERS[order.field].name, descending=order.descending)
    page = await expense_page(db=ctx.db, visibility=loaders.visibility, spec=spec, keyset=keys)
    expense_loader = loaders.ref("expenses")
    for row in page.rows:
        expense_loader.prime(row.id, row)

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
) -> list[PageResult]:
    """Return a page of expenses per member, team or card: one batch for all parents."""
    principal, loaders = ctx.require(Permission.EXPENSES_READ)
    spec = expense_spec(filter_, principal)
    keys = keyset(args, column=EXPENSE_ORDERS[order.field].name, descending=order.descending)
    pages = await loaders.expense_pages.load_all(
        [ParentPageKey(parent, parent_id, spec, keys) for parent_id in parent_ids]
    )

    def result(parent_id: int, page: Any) -> PageResult:
        async def count() -> int:
            return await loaders.expense_counts.load(ParentCountKey(parent, parent_id, spec))

        return page_result(page, keys, count)

    return [result(parent_id, page) for parent_id, page in zip(parent_ids, pages, strict=True)]


async def expense_receipts(ctx: Context, expense: Row[Any]) -> list[Row[Any]]:
    """Return the receipts attached to an expense the viewer sees."""
    _, loaders = ctx.require(Permission.RECEIPTS_READ)
    return await loaders.receipts_by_expense.load(expense.id)


async def expense_events(ctx: Context, expense: Row[Any]) -> list[Row[Any]]:
    """Return the audit trail of an expense the viewer sees."""
    _, loaders = ctx.require(Permission.EXPENSES_READ)
    return await loaders.events_by_expense.load(expense.id)


@dataclass(frozen=True)
class Violation:
    """One policy an expense breaks right now."""

    code: str
    message: str
    policy_name: str


async def policy_violations(ctx: Context, expense: Row[Any]) -> list[Violation]:
    """Return the active policies the expense breaks (amounts compared in home currency)."""
    ctx.require(Permission.EXPENSES_READ)
    return await current_violations(ctx, expense)


async def current_violations(ctx: Context, expense: Row[Any]) -> list[Violation]:
    """Return the policies the expense breaks, whatever the caller's read scopes (submission)."""
    principal, loaders = ctx.require()
    policies = await loaders.policies.load(principal.business_id)
    applicable = _applicable(policies, expense)
    if not applicable:
        return []
    has_receipt = bool(await loaders.receipts_by_expense.load(expense.id))
    return _broken(expense, applicable, has_receipt)


async def expenses_receipts(ctx: Context, expenses: Sequence[Row[Any]]) -> list[list[Row[Any]]]:
    """Return :func:`expense_receipts` of many expenses at once (one loader call)."""
    _, loaders = ctx.require(Permission.RECEIPTS_READ)
    return list(await loaders.receipts_by_expense.load_all([e.id for e in expenses]))


async def expenses_events(ctx: Context, expenses: Sequence[Row[Any]]) -> list[list[Row[Any]]]:
    """Return :func:`expense_events` of many expenses at once (one loader call)."""
    _, loaders = ctx.require(Permission.EXPENSES_READ)
    return list(await loaders.events_by_expense.load_all([e.id for e in expenses]))


async def expenses_violations(ctx: Context, expenses: Sequence[Row[Any]]) -> list[list[Violation]]:
    """Return :func:`policy_violations` of many expenses at once (the same loader keys)."""
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


def _applicable(policies: Sequence[Row[Any]], expense: Row[Any]) -> list[Row[Any]]:
    return [p for p in policies if p.category_id in (None, expense.category_id)]


def _broken(expense: Row[Any], applicable: list[Row[Any]], has_receipt: bool) -> list[Violation]:
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
