"""Category: a bookkeeping category with its general-ledger code."""

from datetime import datetime

import strawberry

from db.rows import CategoryRow
from schema.base import Node, node_type
from schema.fields import Sourced, column


@node_type(description="A bookkeeping category of expenses.")
class Category(Node, Sourced):
    row: strawberry.Private[CategoryRow]
    name: str = column("name", description="Category name, unique in the business.")
    gl_code: str | None = column("gl_code", description="General-ledger account code for exports.")
    created_at: datetime = column("created_at", description="When the category was created.")
    archived_at: datetime | None = column(
        "archived_at",
        description="When the category was archived: it keeps its expenses, new and changed expenses cannot use it. Null while in use.",
    )
