"""Receipts: upload (matched or not), attach to an expense, detach. Rule failures are userErrors.

Choices, also stated in the schema's descriptions:

- The uploader is a member. Members upload as themselves; an API key (``receipts:write``)
  must name the member it uploads for with ``memberId``.
- Each upload gets its own receipt row (its own name, uploader and match), but identical
  content in one business is stored once: the row reuses the existing storage key. A
  repeated upload never returns another member's receipt.
- Attaching and detaching need ``receipts:write``, a visible receipt and a visible expense
  that members own (finance and admins: any). Attaching works in every status; detaching
  only while the expense can be edited (DRAFT or REJECTED), so an approved expense keeps
  its evidence. Both bump the expense's ``updatedAt`` and write an audit event.
"""

import asyncio
import hashlib

from db.nodes import EXPENSE, RECEIPT
from db.permissions import Permission
from db.receipt_storage import ReceiptStorage, content_key
from db.roles import WHOLE_BUSINESS_ROLES
from db.rows import ExpenseRow, ReceiptRow
from db.writes import events, jobs, matching
from db.writes import expenses as expense_writes
from db.writes import receipts as receipt_writes
from resolvers.context import Context, Principal
from resolvers.errors import bad_input
from resolvers.ids import encode_id
from resolvers.mutations.common import (
    actor_of,
    lock_visible,
    record,
    require_status,
    row_id,
)
from resolvers.mutations.rules import RuleCode, atomic, fail
from resolvers.receipt_files import (
    MAX_RECEIPT_BYTES,
    SNIFF_BYTES,
    Upload,
    files_of,
    read_capped,
    safe_file_name,
    sniff,
)

ATTACHED = "RECEIPT_ATTACHED"
DETACHED = "RECEIPT_DETACHED"


async def upload_receipt(
    ctx: Context, upload: Upload, expense_global_id: str | None, member_global_id: str | None
) -> ReceiptRow:
    """Store an uploaded file as a receipt, attached to an expense when one is given."""
    principal, _ = ctx.require(Permission.RECEIPTS_WRITE)
    if not callable(getattr(upload, "read", None)):
        raise bad_input("Send the file as a multipart upload (GraphQL multipart request).")
    storage = files_of(ctx).storage
    data = await read_capped(upload, MAX_RECEIPT_BYTES)
    if data is None:
        raise fail(RuleCode.FILE_TOO_LARGE, "A receipt may be at most 10 MiB.", "file")
    file_type = sniff(data[:SNIFF_BYTES])
    if file_type is None:
        raise fail(
            RuleCode.UNSUPPORTED_FILE_TYPE,
            "Upload a PDF, JPEG, PNG, HEIC or WebP file." if data else "The file is empty.",
            "file",
        )
    async with atomic(ctx):
        uploader = await _uploader(ctx, principal, member_global_id)
        expense = None
        if expense_global_id is not None:
            expense = await _changeable_expense(
                ctx, principal, row_id(expense_global_id, "Expense", "expenseId"), "expenseId"
            )
        sha256 = (await asyncio.to_thread(hashlib.sha256, data)).hexdigest()
        key = await _store(ctx, storage, principal.business_id, sha256, data)
        row = await receipt_writes.insert_receipt(
            db=ctx.db,
            values={
                "business_id": principal.business_id, "expense_id": expense.id if expense else None,
                "uploaded_by": uploader, "file_name": safe_file_name(upload.filename, file_type),
                "content_type": file_type.content_type, "size_bytes": len(data),
                "sha256": sha256, "storage_key": key, "processing": "QUEUED",
            },
        )  # fmt: skip
        await events.emit(
            db=ctx.db, business_id=principal.business_id, type="receipt.uploaded",
            object_type="Receipt", object_id=row.id, actor=actor_of(principal),
        )  # fmt: skip
        # committed with the receipt or not at all: every stored upload gets its extraction
        await jobs.enqueue(
            db=ctx.db,
            entrypoint=jobs.EXTRACT_RECEIPT,
            payload={"business_id": row.business_id, "receipt_id": row.id},
        )
        if expense is not None:
            await _audit(ctx, row, expense, ATTACHED)
        return row


async def attach_receipt(
    ctx: Context, receipt_global_id: str, expense_global_id: str
) -> ReceiptRow:
    """Match a receipt to an expense; attaching it again to the same expense changes nothing."""
    principal, _ = ctx.require(Permission.RECEIPTS_WRITE)
    async with atomic(ctx):
        receipt = await _lock_visible_receipt(ctx, principal, receipt_global_id)
        expense = await _changeable_expense(
            ctx, principal, row_id(expense_global_id, "Expense", "expenseId"), "expenseId"
        )
        if receipt.expense_id == expense.id:
            return receipt
        if receipt.expense_id is not None:
            raise fail(
                RuleCode.ALREADY_ATTACHED,
                "The receipt is attached to another expense; detach it first.",
                "receiptId",
            )
        return await _set_expense(ctx, receipt, expense, ATTACHED)


async def detach_receipt(ctx: Context, receipt_global_id: str) -> ReceiptRow:
    """Unmatch a receipt from its expense; an unmatched receipt is returned unchanged."""
    principal, loaders = ctx.require(Permission.RECEIPTS_WRITE)
    async with atomic(ctx):
        receipt = await _lock_visible_receipt(ctx, principal, receipt_global_id)
        if receipt.expense_id is None:
            return receipt
        if await loaders.visible(EXPENSE).load(receipt.expense_id) is None:
            raise fail(
                RuleCode.FORBIDDEN,
                "The receipt is attached to an expense you cannot change.",
                "receiptId",
            )
        expense = await _changeable_expense(ctx, principal, receipt.expense_id, "receiptId")
        require_status(expense, "DRAFT", "REJECTED", action="remove a receipt from")
        # a person said no: the matcher never attaches this pair again (resolvers/matching.py)
        await matching.add_refusal(
            db=ctx.db,
            business_id=principal.business_id,
            receipt_id=receipt.id,
            expense_id=expense.id,
        )
        return await _set_expense(ctx, receipt, expense, DETACHED)


async def _uploader(ctx: Context, principal: Principal, member_global_id: str | None) -> int:
    if principal.kind == "member":
        if member_global_id is not None and row_id(member_global_id, "Member", "memberId") != (
            principal.id
        ):
            raise fail(
                RuleCode.FORBIDDEN,
                "Members upload as themselves; memberId is for API keys.",
                "memberId",
            )
        return principal.id
    if member_global_id is None:
        raise fail(
            RuleCode.INVALID_VALUE,
            "An API key must say which member uploads (memberId).",
            "memberId",
        )
    id_ = row_id(member_global_id, "Member", "memberId")
    if (
        await expense_writes.member(db=ctx.db, business_id=principal.business_id, member_id=id_)
        is None
    ):
        raise fail(RuleCode.NOT_FOUND, "No member with that id.", "memberId")
    return id_


async def _lock_visible_receipt(ctx: Context, principal: Principal, global_id: str) -> ReceiptRow:
    id_ = row_id(global_id, "Receipt", "receiptId")
    _, loaders = ctx.require()
    if await loaders.visible(RECEIPT).load(id_) is None:
        raise fail(RuleCode.NOT_FOUND, "No receipt with that id.", "receiptId")
    row = await receipt_writes.locked_receipt(
        db=ctx.db, business_id=principal.business_id, receipt_id=id_
    )
    if row is None:
        raise fail(RuleCode.NOT_FOUND, "No receipt with that id.", "receiptId")
    return row


async def _changeable_expense(
    ctx: Context, principal: Principal, id_: int, field: str
) -> ExpenseRow:
    """Return the expense locked, if visible and (for members) owned, or finance/admin."""
    expense = await lock_visible(ctx, id_, field=field)
    if (
        principal.kind == "member"
        and principal.role not in WHOLE_BUSINESS_ROLES
        and expense.member_id != principal.id
    ):
        raise fail(
            RuleCode.FORBIDDEN,
            "Only the member who spent it, finance or an admin may change its receipts.",
            field,
        )
    return expense


async def _store(
    ctx: Context, storage: ReceiptStorage, business_id: int, sha256: str, data: bytes
) -> str:
    """Return the storage key of this content, storing it unless the business already has it."""
    key = await receipt_writes.storage_key_of_content(
        db=ctx.db, business_id=business_id, sha256=sha256
    ) or content_key(business_id, sha256)
    if not await asyncio.to_thread(storage.exists, key):
        await asyncio.to_thread(storage.put, key, data)
    return key


async def _set_expense(
    ctx: Context, receipt: ReceiptRow, expense: ExpenseRow, action: str
) -> ReceiptRow:
    """Return ``receipt`` attached to ``expense`` or detached from it (``action``), audited."""
    principal, _ = ctx.require()
    row = await receipt_writes.set_expense(
        db=ctx.db,
        business_id=principal.business_id,
        receipt_id=receipt.id,
        expense_id=expense.id if action == ATTACHED else None,
    )
    await _audit(ctx, row, expense, action)
    return row


async def _audit(ctx: Context, receipt: ReceiptRow, expense: ExpenseRow, action: str) -> None:
    """Bump the expense's updatedAt, write the event, make the request's loaders see it."""
    comment = f"{receipt.file_name} ({encode_id('Receipt', receipt.id)})"
    await record(ctx, expense, {}, action, comment)
    principal, loaders = ctx.require()
    await events.emit(
        db=ctx.db, business_id=principal.business_id,
        type="receipt.matched" if action == ATTACHED else "receipt.detached",
        object_type="Receipt", object_id=receipt.id, actor=actor_of(principal),
        data={"expenseId": encode_id("Expense", expense.id)},
    )  # fmt: skip
    loaders.changed(RECEIPT, receipt.id)
    loaders.receipts_by_expense.clear(expense.id)
