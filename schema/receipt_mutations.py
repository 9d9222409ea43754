"""Receipt mutations: upload (GraphQL multipart request), attach, detach."""

from typing import Annotated, cast

import strawberry
from strawberry.file_uploads import Upload

from db.rows import ReceiptRow
from resolvers.context import Context
from resolvers.mutations import receipts
from resolvers.receipt_files import Upload as UploadedFile
from schema.payloads import one_changed
from schema.receipt import Receipt

_one = one_changed(Receipt, "receipt")


ReceiptId = Annotated[strawberry.ID, strawberry.argument(description="Global id of the receipt.")]


@strawberry.type(description="Mutations of receipts: upload, and matching them to expenses.")
class ReceiptMutations:
    @_one.mutation(
        "Upload a receipt file (GraphQL multipart request; at most 10 MiB; PDF, JPEG, PNG, "
        "HEIC or WebP, decided from the content, not the name). Without expenseId it stays "
        "unmatched until attachReceipt. Members upload as themselves; API keys "
        "(receipts:write) must pass memberId. Every upload gets its own receipt; identical "
        "content in a business is stored once."
    )
    async def upload_receipt(
        ctx: Context,
        file: Annotated[Upload, strawberry.argument(description="The file (multipart part).")],
        expense_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Attach it to this expense right away."),
        ] = None,
        member_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="API keys only: the member the receipt is from."),
        ] = None,
    ) -> ReceiptRow:
        return await receipts.upload_receipt(ctx, cast(UploadedFile, file), expense_id, member_id)

    attach_receipt = _one.mutation(
        "Attach an unmatched receipt to an expense (in any status) you spent, or any "
        "expense for finance, admins and API keys. Bumps the expense's updatedAt and "
        "records RECEIPT_ATTACHED.",
        receipts.attach_receipt,
        receipt_id=ReceiptId,
        expense_id=Annotated[
            strawberry.ID, strawberry.argument(description="Global id of the expense.")
        ],
    )
    detach_receipt = _one.mutation(
        "Make a receipt unmatched again, while its expense is DRAFT or REJECTED (same "
        "people as attachReceipt). Bumps the expense's updatedAt and records RECEIPT_DETACHED.",
        receipts.detach_receipt,
        receipt_id=ReceiptId,
    )
