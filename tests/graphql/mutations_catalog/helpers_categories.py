"""What the category tests (and the policies' categories) share: the category mutations,
categories inserted directly, and categories read back in SQL.

Each category test module runs on a business of its own plus a rival for cross-tenant
checks. Every test makes its own categories with unique names and codes, so the tests do
not depend on each other's order; refused calls also check that no category and no audit
event changed.
"""

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.tables.org import categories
from resolvers.ids import encode_id
from tests.graphql.mutations_catalog.helpers_calls import ERRORS
from tests.graphql.mutations_catalog.helpers_orgs import Org, inserted
from tests.graphql.mutations_catalog.helpers_records import census, rows

CATEGORY = "id name glCode archivedAt createdAt"
UPSERT = f"mutation($input: [CategoryUpsertInput!]!) {{ p: upsertCategories(input: $input) {{ categories {{ {CATEGORY} }} {ERRORS} }} }}"  # fmt: skip
CREATE = f"mutation($input: CreateCategoryInput!) {{ p: createCategory(input: $input) {{ category {{ {CATEGORY} }} {ERRORS} }} }}"  # fmt: skip
UPDATE = f"mutation($id: ID!, $input: UpdateCategoryInput!) {{ p: updateCategory(id: $id, input: $input) {{ category {{ {CATEGORY} }} {ERRORS} }} }}"  # fmt: skip
ARCHIVE = f"mutation($id: ID!) {{ p: archiveCategory(id: $id) {{ category {{ {CATEGORY} }} {ERRORS} }} }}"  # fmt: skip


def cgid(category_id: int) -> str:
    return encode_id("Category", category_id)


async def new_category(
    engine: AsyncEngine, org: Org, name: str, gl_code: str | None = None, *, archived: bool = False
) -> int:
    """Insert a category of the org's business; return its row id."""
    archived_at = text("now()") if archived else None
    return await inserted(
        engine, categories, business_id=org.biz.id, name=name, gl_code=gl_code,
        archived_at=archived_at,
    )  # fmt: skip


async def stored_category(engine: AsyncEngine, category_id: int) -> tuple[str, str | None, bool]:
    """Return (name, gl_code, archived) of a category as stored."""
    (row,) = await rows(
        engine, "SELECT name, gl_code, archived_at FROM categories WHERE id = :i", i=category_id
    )
    return row.name, row.gl_code, row.archived_at is not None


async def category_census(engine: AsyncEngine, org: Org) -> tuple[Any, int]:
    """Return every category of the business as stored, and its number of audit events."""
    return await census(engine, org, "categories", "id, name, gl_code, archived_at")
