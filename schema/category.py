"""Category: a bookkeeping category with its general-ledger code."""

from datetime import datetime
from typing import Any

import strawberry
from sqlalchemy import Row

from resolvers.ids import encode_id
from schema.base import Node


@strawberry.type(description="A bookkeeping category of expenses.")
class Category(Node):
    row: strawberry.Private[Row[Any]]
    name: str = strawberry.field(description="Category name, unique in the business.")
    gl_code: str | None = strawberry.field(description="General-ledger account code for exports.")
    created_at: datetime = strawberry.field(description="When the category was created.")
    archived_at: datetime | None = strawberry.field(
        description="When the category was archived: it keeps its expenses, new and changed expenses cannot use it. Null while in use."
    )

    @classmethod
    def from_row(cls, row: Row[Any]) -> "Category":
        return cls(
            row=row,
            id=strawberry.ID(encode_id("Category", row.id)),
            name=row.name,
            gl_code=row.gl_code,
            created_at=row.created_at,
            archived_at=row.archived_at,
        )
