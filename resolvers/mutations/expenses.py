"""Recording expenses: create, update, delete and submit (the spender's side)."""

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from db.nodes import CATEGORY
from db.queries.summary_rollup import supported_instant
from db.roles import WHOLE_BUSINESS_ROLES
from db.rows import ExpenseRow, MemberRow
from db.writes import expenses as expense_writes
from db.writes import jobs
from resolvers.context import Context, Principal
from resolvers.expense_args import SUPPORTED_INSTANTS
from resolvers.expenses import current_violations
from resolvers.mutations.common import (
    event,
    lock_visible,
    record,
    require_owner,
    require_status,
    row_id,
    writer,
)
from resolvers.mutations.money import parse_money, to_home
from resolvers.mutations.rules import RuleCode, atomic, clean_text, fail, found

MAX_TEXT = {"merchantName": 200, "description": 2000}


@dataclass(frozen=True)
class ExpenseFields:
    """The fields of createExpense/updateExpense; None means not given (or unchanged)."""

    amount: Decimal | None = None
    currency: str | None = None
    spent_at: datetime | None = None
    merchant_name: str | None = None
    description: str | None = None
    category_id: str | None = None
    card_id: str | None = None
    member_id: str | None = None


def _text(value: str | None, field: str) -> str | None:
    if value is None:
        return None
    value = clean_text(value, field, max_length=MAX_TEXT[field])
    if field == "merchantName" and not value:
        raise fail(RuleCode.INVALID_VALUE, "The merchant name cannot be empty.", field)
    return value


async def _owner(ctx: Context, principal: Principal, member_id: str | None) -> MemberRow:
    if member_id is None:
        if principal.kind == "api_key":
            raise fail(
                RuleCode.INVALID_VALUE, "An API key must say whose expense it is.", "memberId"
            )
        id_ = principal.id
    else:
        id_ = row_id(member_id, "Member", "memberId")
        if (
            principal.kind == "member"
            and id_ != principal.id
            and principal.role not in WHOLE_BUSINESS_ROLES
        ):
            raise fail(RuleCode.FORBIDDEN, "You may only record your own expenses.", "memberId")
    owner = await expense_writes.member(db=ctx.db, business_id=principal.business_id, member_id=id_)
    return found(owner, "member", "memberId")


async def _references(
    ctx: Context, principal: Principal, owner_id: int, fields: ExpenseFields
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if fields.category_id is not None:
        category_id = row_id(fields.category_id, "Category", "categoryId")
        _, loaders = ctx.require()
        category = found(await loaders.ref(CATEGORY).load(category_id), "category", "categoryId")
        if category.archived_at is not None:  # it keeps its expenses, and takes no new ones
            raise fail(RuleCode.CATEGORY_ARCHIVED, "The category is archived.", "categoryId")
        values["category_id"] = category_id
    if fields.card_id is not None:
        card_id = row_id(fields.card_id, "Card", "cardId")
        card = await expense_writes.card(
            db=ctx.db, business_id=principal.business_id, card_id=card_id
        )
        if card is None or card.holder_id != owner_id:
            raise fail(RuleCode.NOT_FOUND, "No card of this member with that id.", "cardId")
        if card.status != "ACTIVE":
            raise fail(RuleCode.CARD_NOT_USABLE, f"The card is {card.status}.", "cardId")
        values["card_id"] = card_id
    return values


async def _money(
    ctx: Context, principal: Principal, amount_minor: int, currency: str, spent_at: datetime
) -> dict[str, Any]:
    home_minor, rate, day = await to_home(
        ctx.db, amount_minor=amount_minor, currency=currency, home=principal.home_currency,
        day=spent_at.astimezone(UTC).date(),  # rates are daily, by UTC day
        field="amount",
    )  # fmt: skip
    return {
        "amount_minor": amount_minor, "currency": currency, "home_amount_minor": home_minor,
        "home_currency": principal.home_currency, "fx_rate": rate, "fx_rate_day": day,
    }  # fmt: skip


def _spent_at(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise fail(RuleCode.INVALID_VALUE, "spentAt needs a time zone offset.", "spentAt")
    if not supported_instant(value):
        raise fail(RuleCode.INVALID_VALUE, f"spentAt {SUPPORTED_INSTANTS}.", "spentAt")
    return value


async def create_expense(ctx: Context, fields: ExpenseFields) -> ExpenseRow:
    """Record a new DRAFT expense and return it."""
    principal = writer(ctx)
    async with atomic(ctx):
        if fields.amount is None or fields.currency is None or fields.spent_at is None:
            raise fail(RuleCode.INVALID_VALUE, "amount and spentAt are required.", "amount")
        owner = await _owner(ctx, principal, fields.member_id)
        minor, currency = parse_money(fields.amount, fields.currency, field="amount")
        spent_at = _spent_at(fields.spent_at)
        values = {
            "business_id": principal.business_id, "member_id": owner.id, "team_id": owner.team_id,
            "merchant_name": _text(fields.merchant_name, "merchantName") or "",
            "description": _text(fields.description, "description") or "",
            "spent_at": spent_at, "status": "DRAFT",
            **await _references(ctx, principal, owner.id, fields),
            **await _money(ctx, principal, minor, currency, spent_at),
        }  # fmt: skip
        if not values["merchant_name"]:
            raise fail(RuleCode.INVALID_VALUE, "The merchant name is required.", "merchantName")
        row = await expense_writes.insert_expense(db=ctx.db, values=values)
        await event(ctx, row, "CREATED")
        await _enqueue_matching(ctx, row)
        return row


async def update_expense(ctx: Context, global_id: str, fields: ExpenseFields) -> ExpenseRow:
    """Change a DRAFT or REJECTED expense (a rejected one goes back to DRAFT); return it."""
    principal = writer(ctx)
    async with atomic(ctx):
        expense = await _own(ctx, principal, global_id, "DRAFT", "REJECTED", action="edit")
        values: dict[str, Any] = {"status": "DRAFT"}
        for name, field in (("merchant_name", "merchantName"), ("description", "description")):
            text = _text(getattr(fields, name), field)
            if text is not None:
                values[name] = text
        values.update(await _references(ctx, principal, expense.member_id, fields))
        spent_at = _spent_at(fields.spent_at) if fields.spent_at is not None else None
        if fields.amount is None and fields.currency is not None:
            raise fail(RuleCode.INVALID_VALUE, "Give the amount with its currency.", "amount")
        if fields.amount is not None or spent_at is not None:
            minor, currency = (expense.amount_minor, expense.currency)
            if fields.amount is not None:
                minor, currency = parse_money(
                    fields.amount, fields.currency or expense.currency, field="amount"
                )
            # the rate follows the amount and the day: both are recomputed together
            values.update(
                await _money(ctx, principal, minor, currency, spent_at or expense.spent_at)
            )
        if spent_at is not None:
            values["spent_at"] = spent_at
        row = await record(ctx, expense, values, "UPDATED")
        if any(row._mapping[name] != expense._mapping[name] for name in MATCHED_ON):
            await _enqueue_matching(ctx, row)
        return row


# what receipt matching compares: a change to one of them may find the expense its receipt
MATCHED_ON = ("amount_minor", "currency", "spent_at", "merchant_name")


async def _enqueue_matching(ctx: Context, row: ExpenseRow) -> None:
    """Queue matching for the expense, committed (or not) with the write that changed it."""
    payload = {"business_id": row.business_id, "expense_id": row.id}
    await jobs.enqueue(db=ctx.db, entrypoint=jobs.MATCH_EXPENSE, payload=payload)


async def _own(
    ctx: Context, principal: Principal, global_id: str, *allowed: str, action: str
) -> ExpenseRow:
    """Return the caller's own expense, locked, if it is in one of ``allowed``; else the userError."""
    expense = await lock_visible(ctx, row_id(global_id, "Expense"))
    require_owner(principal, expense)
    require_status(expense, *allowed, action=action)
    return expense


async def delete_expense(ctx: Context, global_id: str) -> ExpenseRow:
    """Delete a DRAFT expense (kept, marked deleted, so syncs see it go); return it."""
    principal = writer(ctx)
    async with atomic(ctx):
        expense = await _own(ctx, principal, global_id, "DRAFT", action="delete")
        return await record(ctx, expense, {}, "DELETED", now=("deleted_at",))


async def submit_expense(ctx: Context, global_id: str) -> ExpenseRow:
    """Submit a DRAFT for approval; a missing required receipt blocks it."""
    principal = writer(ctx)
    async with atomic(ctx):
        expense = await _own(ctx, principal, global_id, "DRAFT", action="submit")
        violations = await current_violations(ctx, expense)
        missing = [v for v in violations if v.code == "RECEIPT_REQUIRED"]
        if missing:
            raise fail(
                RuleCode.RECEIPT_REQUIRED, f"{missing[0].message} ({missing[0].policy_name})", "id"
            )
        return await record(
            ctx, expense, {"status": "SUBMITTED"}, "SUBMITTED", now=("submitted_at",)
        )
