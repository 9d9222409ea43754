"""Expense policies: set (create or replace) and remove, by admins and finance.

A policy applies to one category, or to every category when it names none. It caps an
expense's amount and says above which amount a receipt is required, both in the home
currency. API keys need the ``admin`` scope. Removing a policy deactivates it: it stops
applying at once, and its row stays for the record.
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from db.nodes import CATEGORY
from db.permissions import Permission
from db.rows import PolicyRow
from db.writes import policies as policy_writes
from resolvers.context import Context
from resolvers.ids import encode_id
from resolvers.mutations.changes import record_change, require_admin_or_finance
from resolvers.mutations.common import opaque_row_id, row_id
from resolvers.mutations.money import parse_money
from resolvers.mutations.rules import RuleCode, atomic, clean_text, fail, found

# Policy is not a Node (``node(id:)`` does not serve it); its ids are opaque all the same.
POLICY_TYPE = "Policy"
MAX_NAME = 200
WHAT = "manage policies"


@dataclass(frozen=True)
class PolicyFields:
    """setPolicy's input; amounts are (amount, currency) as given."""

    name: str
    id: str | None = None
    category_id: str | None = None
    max_amount: tuple[Decimal, str] | None = None
    receipt_required_above: tuple[Decimal, str] | None = None


def policy_global_id(id_: int) -> str:
    """Return the opaque id of a policy."""
    return encode_id(POLICY_TYPE, id_)


def policy_id(global_id: str, *, field: str = "id") -> int:
    """Return the row id of a Policy id; anything else is NOT_FOUND."""
    return opaque_row_id(global_id, POLICY_TYPE, what="policy", field=field)


async def business_policies(ctx: Context) -> list[PolicyRow]:
    """Return the business's active policies, oldest first (API keys: ``expenses:read``)."""
    principal, loaders = ctx.require(Permission.EXPENSES_READ)
    return await loaders.policies.load(principal.business_id)


def _home_minor(
    money: tuple[Decimal, str] | None, home: str, field: str, *, zero: bool = False
) -> int | None:
    """Return minor units of an amount in the home currency (``zero`` allows 0), or None."""
    if money is None:
        return None
    amount, currency = money
    if zero and amount.is_finite() and amount.is_zero():
        _, code = parse_money(Decimal(1), currency, field=field)  # the currency's checks only
        minor = 0
    elif zero and amount.is_finite() and amount < 0:
        raise fail(RuleCode.INVALID_AMOUNT, "The amount cannot be negative.", f"{field}.amount")
    else:
        minor, code = parse_money(amount, currency, field=field)
    if code != home:
        raise fail(
            RuleCode.CURRENCY_MISMATCH,
            f"Policy amounts are in the home currency, {home}.",
            f"{field}.currency",
        )
    return minor


async def _category(ctx: Context, global_id: str | None, current: int | None) -> int | None:
    """Return the row id of the policy's category; an archived one only if it is ``current``."""
    if global_id is None:
        return None
    _, loaders = ctx.require()
    id_ = row_id(global_id, "Category", "categoryId")
    category = found(await loaders.ref(CATEGORY).load(id_), "category", "categoryId")
    if category.archived_at is not None and id_ != current:
        raise fail(RuleCode.CATEGORY_ARCHIVED, "The category is archived.", "categoryId")
    return id_


async def _values(ctx: Context, fields: PolicyFields, policy: PolicyRow | None) -> dict[str, Any]:
    """Return the checked columns of a policy, or raise the first userError."""
    principal, _ = ctx.require()
    home = principal.home_currency
    name = clean_text(fields.name, "name", max_length=MAX_NAME)
    if not name:
        raise fail(RuleCode.INVALID_VALUE, "The name cannot be empty.", "name")
    current = policy.category_id if policy is not None else None
    values = {
        "name": name,
        "category_id": await _category(ctx, fields.category_id, current),
        "max_amount_minor": _home_minor(fields.max_amount, home, "maxAmount"),
        "receipt_required_above_minor": _home_minor(
            fields.receipt_required_above, home, "receiptRequiredAbove", zero=True
        ),
    }
    if values["max_amount_minor"] is None and values["receipt_required_above_minor"] is None:
        raise fail(
            RuleCode.INVALID_VALUE,
            "Give maxAmount, receiptRequiredAbove or both: a policy must check something.",
            "maxAmount",
        )
    return values


async def _locked(ctx: Context, global_id: str) -> PolicyRow:
    principal, _ = ctx.require()
    row = found(
        await policy_writes.locked_policy(
            db=ctx.db, business_id=principal.business_id, policy_id=policy_id(global_id)
        ),
        "policy",
    )
    if not row.active:
        raise fail(
            RuleCode.INVALID_TRANSITION, "The policy was removed; set a new one instead.", "id"
        )
    return row


def _details(values: dict[str, Any]) -> dict[str, Any]:
    return {_FIELDS[k]: v for k, v in values.items()}


_FIELDS = {
    "name": "name",
    "category_id": "categoryId",
    "max_amount_minor": "maxAmountMinor",
    "receipt_required_above_minor": "receiptRequiredAboveMinor",
}


async def set_policy(ctx: Context, fields: PolicyFields) -> PolicyRow:
    """Create a policy, or replace every field of an active one (``fields.id``); return it."""
    principal = require_admin_or_finance(ctx, key_permission=Permission.ADMIN, what=WHAT)
    async with atomic(ctx):
        policy = await _locked(ctx, fields.id) if fields.id is not None else None
        values = await _values(ctx, fields, policy)
        currency = {"currency": principal.home_currency}
        if policy is None:
            row = await policy_writes.insert_policy(
                db=ctx.db, business_id=principal.business_id, values=values
            )
            await record_change(
                ctx, object_type="Policy", object_id=row.id, action="CREATED",
                details={**_details(values), **currency},
            )  # fmt: skip
            return _seen(ctx, row)
        changed = {k: v for k, v in values.items() if getattr(policy, k) != v}
        if not changed:
            return policy  # nothing to write, nothing to record
        row = await policy_writes.update_policy(
            db=ctx.db, business_id=principal.business_id, policy_id=policy.id, values=changed
        )
        before = _details({k: getattr(policy, k) for k in changed})
        await record_change(
            ctx, object_type="Policy", object_id=row.id, action="UPDATED",
            details={"before": before, "after": _details(changed), **currency},
        )  # fmt: skip
        return _seen(ctx, row)


async def remove_policy(ctx: Context, global_id: str) -> PolicyRow:
    """Deactivate a policy: expenses are no longer checked against it; return it."""
    principal = require_admin_or_finance(ctx, key_permission=Permission.ADMIN, what=WHAT)
    async with atomic(ctx):
        policy = await _locked(ctx, global_id)
        row = await policy_writes.update_policy(
            db=ctx.db, business_id=principal.business_id, policy_id=policy.id,
            values={"active": False},
        )  # fmt: skip
        await record_change(ctx, object_type="Policy", object_id=row.id, action="REMOVED")
        return _seen(ctx, row)


def _seen(ctx: Context, row: PolicyRow) -> PolicyRow:
    """Make the request's policy checks see the change; return the policy."""
    principal, loaders = ctx.require()
    loaders.policies.clear(principal.business_id)
    return row
