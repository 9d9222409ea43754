"""Deciding on expenses: approve, reject (managers, finance, admins) and bookkeeping marks."""

from collections.abc import Sequence
from typing import Any

from db.roles import WHOLE_BUSINESS_ROLES, Role
from db.rows import ExpenseRow
from resolvers.context import Context, Principal
from resolvers.mutations.common import (
    lock_all_visible,
    lock_visible,
    record,
    require_status,
    row_id,
    writer,
)
from resolvers.mutations.rules import (
    RuleCode,
    RuleError,
    UserErrorData,
    atomic,
    clean_text,
    fail,
)

MAX_REASON = 1000
MAX_BATCH = 100


def _require_decider(principal: Principal, expense: ExpenseRow) -> None:
    if principal.kind != "member":
        raise fail(RuleCode.FORBIDDEN, "Approvals need a person: use a member's token.", "id")
    if expense.member_id == principal.id:
        raise fail(RuleCode.SELF_DECISION, "Nobody approves or rejects their own expense.", "id")
    if principal.role in WHOLE_BUSINESS_ROLES:
        return
    if principal.role == Role.MANAGER and expense.team_id in principal.managed_team_ids:
        return
    raise fail(RuleCode.FORBIDDEN, "Only the team's manager, finance or an admin may decide.", "id")


async def _decide(ctx: Context, global_id: str, status: str, comment: str | None) -> ExpenseRow:
    principal = writer(ctx)
    async with atomic(ctx):
        expense = await lock_visible(ctx, row_id(global_id, "Expense"))
        _require_decider(principal, expense)
        require_status(expense, "SUBMITTED", action="approve" if status == "APPROVED" else "reject")
        values = {"status": status, "decided_by": principal.id}
        return await record(ctx, expense, values, status, comment, now=("decided_at",))


async def approve_expense(ctx: Context, global_id: str, comment: str | None) -> ExpenseRow:
    """Approve a SUBMITTED expense."""
    return await _decide(ctx, global_id, "APPROVED", _comment(comment, required=False))


async def reject_expense(ctx: Context, global_id: str, reason: str) -> ExpenseRow:
    """Reject a SUBMITTED expense with a reason the spender will read."""
    return await _decide(ctx, global_id, "REJECTED", _comment(reason, required=True))


def _comment(text: str | None, *, required: bool) -> str | None:
    field = "reason" if required else "comment"
    text = clean_text(text or "", field, max_length=MAX_REASON)
    if required and not text:
        raise fail(RuleCode.REASON_REQUIRED, "Say why the expense is rejected.", "reason")
    return text or None


def _require_bookkeeper(principal: Principal) -> None:
    if principal.kind == "member" and principal.role not in WHOLE_BUSINESS_ROLES:
        raise fail(RuleCode.FORBIDDEN, "Only finance or an admin may do this.", "ids")


async def _batch(
    ctx: Context,
    global_ids: Sequence[str],
    check: Any,
    values: dict[str, Any],
    action: str,
    now: str,
) -> list[ExpenseRow]:
    """Apply one bookkeeping mark to every expense, or to none if any of them fails."""
    principal = writer(ctx)
    if not 1 <= len(global_ids) <= MAX_BATCH:
        raise fail(RuleCode.INVALID_VALUE, f"Pass 1 to {MAX_BATCH} ids.", "ids")
    async with atomic(ctx):
        _require_bookkeeper(principal)
        errors: list[UserErrorData] = []
        fields: dict[int, str] = {}  # row id -> the position it was first given at
        for index, global_id in enumerate(global_ids):
            try:
                fields.setdefault(row_id(global_id, "Expense", f"ids[{index}]"), f"ids[{index}]")
            except RuleError as error:
                errors += error.errors
        locked = await lock_all_visible(ctx, list(fields))
        for id_, field in fields.items():
            try:
                if id_ not in locked:
                    raise fail(RuleCode.NOT_FOUND, "No expense with that id.", field)
                check(locked[id_])
            except RuleError as error:
                errors += [UserErrorData(field, e.message, e.code) for e in error.errors]
        if errors:
            raise RuleError(*sorted(errors, key=lambda e: int((e.field or "ids[0]")[4:-1])))
        return [await record(ctx, locked[id_], values, action, now=(now,)) for id_ in fields]


async def mark_reimbursed(ctx: Context, global_ids: Sequence[str]) -> list[ExpenseRow]:
    """Mark APPROVED out-of-pocket expenses as paid back (all or none)."""

    def check(expense: ExpenseRow) -> None:
        require_status(expense, "APPROVED", action="reimburse")
        if expense.card_id is not None:
            raise fail(RuleCode.NOT_OUT_OF_POCKET, "Card expenses are not reimbursed.")

    return await _batch(
        ctx, global_ids, check, {"status": "REIMBURSED"}, "REIMBURSED", "reimbursed_at"
    )


async def mark_exported(ctx: Context, global_ids: Sequence[str]) -> list[ExpenseRow]:
    """Mark APPROVED or REIMBURSED expenses as exported to bookkeeping (all or none)."""

    def check(expense: ExpenseRow) -> None:
        require_status(expense, "APPROVED", "REIMBURSED", action="export")

    return await _batch(ctx, global_ids, check, {}, "EXPORTED", "exported_at")
