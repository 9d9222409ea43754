"""Receipt: an uploaded file, matched to an expense or not yet."""

from datetime import datetime
from typing import Any

import strawberry
from sqlalchemy import Row

from resolvers import receipt_files
from resolvers.ids import encode_id
from resolvers.nodes import required_reference, visible_reference
from schema.base import Info, Node
from schema.batch import references
from schema.expense import Expense
from schema.member import Member


@strawberry.type(description="A receipt file; unmatched until it is attached to an expense.")
class Receipt(Node):
    row: strawberry.Private[Row[Any]]
    file_name: str = strawberry.field(description="Sanitised file name as uploaded.")
    content_type: str = strawberry.field(description="Type decided from the file's content.")
    size_bytes: int = strawberry.field(description="File size in bytes.")
    sha256: str = strawberry.field(description="SHA-256 of the content, hex.")
    uploaded_at: datetime = strawberry.field(description="When it was uploaded.")

    @classmethod
    def from_row(cls, row: Row[Any]) -> "Receipt":
        return cls(
            row=row,
            id=strawberry.ID(encode_id("Receipt", row.id)),
            file_name=row.file_name,
            content_type=row.content_type,
            size_bytes=row.size_bytes,
            sha256=row.sha256,
            uploaded_at=row.uploaded_at,
        )

    @strawberry.field(description="The expense it is attached to, if the viewer may see it.")
    async def expense(self, info: Info) -> Expense | None:
        row = await visible_reference(info.context, "expenses", self.row.expense_id)
        return Expense.from_row(row) if row else None

    @strawberry.field(description="Who uploaded it.")
    @references("members", "uploaded_by", "schema.member:Member", required=True)
    async def uploaded_by(self, info: Info) -> Member:
        return Member.from_row(
            await required_reference(info.context, "members", self.row.uploaded_by)
        )

    @strawberry.field(
        description=(
            "A fresh signed link to the file, valid for 15 minutes by default: read it again "
            "for a new one rather than storing it."
        )
    )
    def download_url(self, info: Info) -> str:
        return receipt_files.download_url(info.context, self.row)
