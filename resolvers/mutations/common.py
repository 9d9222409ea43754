"""What every expense mutation needs: the acting principal, the target row locked, events."""

import base64
import binascii
from typing import Any

from db.nodes import EXPENSE
from db.permissions import Permission
from db.rows import ExpenseRow
from db.writes import events
from db.writes import expenses as expense_writes
from resolvers.context import Context, Principal
from resolvers.errors import DomainError
from resolvers.ids import decode_id, encode_id
from resolvers.mutations.rules import RuleCode, fail


def writer(ctx: Context) -> Principal:
    """Return the principal, who must hold ``expenses:write`` (else a top-level error)."""
    principal, _ = ctx.require(Permission.EXPENSES_WRITE)
    return principal


def opaque_row_id(global_id: str, type_name: str, *, what: str, field: str = "id") -> int:
    """Return the row id of an opaque id of a type that is no node (API keys, policies).

    Anything else, including another spelling of the same id, is NOT_FOUND.
    """
    try:
        padded = global_id + "=" * (-len(global_id) % 4)
        found, _, raw = base64.urlsafe_b64decode(padded.encode()).decode().partition(":")
        id_ = int(raw)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        found, id_ = "", 0
    if found != type_name or not 0 < id_ < 2**63 or encode_id(type_name, id_) != global_id:
        raise fail(RuleCode.NOT_FOUND, f"No {what} with that id.", field)
    return id_


def row_id(global_id: str, type_name: str, field: str = "id") -> int:
    """Return the row id of a ``type_name`` global id; a malformed or other-type id is NOT_FOUND."""
    try:
        found, id_ = decode_id(global_id)
    except DomainError:
        found, id_ = "", 0
    if found != type_name:
        raise fail(RuleCode.NOT_FOUND, f"No {type_name.lower()} with that id.", field)
    return id_


async def lock_all_visible(ctx: Context, ids: list[int]) -> dict[int, ExpenseRow]:
    """Return the live expenses among ``ids`` that the actor may see, locked for update.

    All rows are locked in one statement in id order, so two requests locking
    overlapping sets cannot deadlock.
    """
    principal, loaders = ctx.require()
    visible = await loaders.visible(EXPENSE).load_all(ids)
    wanted = [id_ for id_, row in zip(ids, visible, strict=True) if row is not None]
    if not wanted:
        return {}
    return await expense_writes.locked_expenses(
        db=ctx.db, business_id=principal.business_id, ids=wanted
    )


async def lock_visible(ctx: Context, id_: int, *, field: str = "id") -> ExpenseRow:
    """Return the expense locked for update, if the actor may see it; else NOT_FOUND."""
    rows = await lock_all_visible(ctx, [id_])
    if id_ not in rows:  # invisible, never existed, or deleted meanwhile: all look the same
        raise fail(RuleCode.NOT_FOUND, "No expense with that id.", field)
    return rows[id_]


def require_owner(principal: Principal, expense: ExpenseRow) -> None:
    """Only the member who spent it (or an integration's API key) may edit an expense."""
    if principal.kind == "member" and expense.member_id != principal.id:
        raise fail(
            RuleCode.FORBIDDEN, "Only the member who spent it may change this expense.", "id"
        )


def require_status(expense: ExpenseRow, *allowed: str, action: str) -> None:
    """Raise INVALID_TRANSITION unless the expense is in one of ``allowed``."""
    if expense.status not in allowed:
        raise fail(
            RuleCode.INVALID_TRANSITION,
            f"Cannot {action} an expense that is {expense.status}.",
            "id",
        )


async def record(
    ctx: Context,
    expense: ExpenseRow,
    values: dict[str, Any],
    action: str,
    comment: str | None = None,
    *,
    now: tuple[str, ...] = (),
) -> ExpenseRow:
    """Update the expense (``now`` columns to the current time), append the audit event."""
    principal, _ = ctx.require()
    row = await expense_writes.update_expense(
        db=ctx.db, business_id=principal.business_id, expense_id=expense.id, values=values, now=now
    )
    await event(ctx, row, action, comment, before=expense, changed=values)
    return row


async def event(
    ctx: Context,
    row: ExpenseRow,
    action: str,
    comment: str | None = None,
    *,
    before: ExpenseRow | None = None,
    changed: dict[str, Any] | None = None,
) -> None:
    """Append an audit event (and its event in the change feed) and make the request's
    loaders see the new state. A receipt's attachment is the receipt's event in the feed
    (resolvers/mutations/receipts.py), the expense's in its trail."""
    principal, loaders = ctx.require()
    actor = principal.id if principal.kind == "member" else None
    await expense_writes.insert_event(
        db=ctx.db, business_id=principal.business_id, expense_id=row.id,
        actor_id=actor, action=action, comment=comment,
    )  # fmt: skip
    if not action.startswith("RECEIPT_"):
        await events.emit(
            db=ctx.db, business_id=principal.business_id, type=f"expense.{action.lower()}",
            object_type="Expense", object_id=row.id, actor=actor_of(principal),
            data=expense_change(before, row, changed),
        )  # fmt: skip
    loaders.changed(EXPENSE, row.id, row)
    loaders.events_by_expense.clear(row.id)


def actor_of(principal: Principal) -> events.Actor:
    """Return the feed's actor for a principal: its member or its API key."""
    if principal.kind == "member":
        return events.Actor(member_id=principal.id)
    return events.Actor(api_key_id=principal.id)


# expense columns as the API names them (amount_minor and currency are both "amount")
_FIELDS = {
    "amount_minor": "amount", "currency": "amount", "home_amount_minor": "homeAmount",
    "home_currency": "homeAmount", "fx_rate": "fxRate", "fx_rate_day": "fxRateDate",
    "merchant_name": "merchantName", "spent_at": "spentAt", "card_id": "card",
    "category_id": "category", "team_id": "team", "member_id": "member",
}  # fmt: skip


def expense_change(
    before: ExpenseRow | None, after: ExpenseRow, changed: dict[str, Any] | None
) -> dict[str, Any]:
    """Return the feed's data of an expense change: its status move, or the fields it changed."""
    if before is not None and before.status != after.status:
        return {"from": before.status, "to": after.status}
    if not changed:
        return {}
    names = {_FIELDS.get(column, column) for column in changed if column != "status"}
    return {"fields": sorted(names)} if names else {}
