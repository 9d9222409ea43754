"""Bookkeeping categories: create, change, archive, and a chart of accounts pushed by GL code.

Admins and finance manage categories, and API keys with the ``admin`` scope. A category is
archived, never deleted: expenses keep pointing at it, new and changed expenses cannot.
Names and GL codes are unique in the business, archived categories included.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from db.nodes import CATEGORY
from db.permissions import Permission
from db.rows import CategoryRow
from db.writes import categories as category_writes
from db.writes.categories import Taken
from resolvers.context import Context, Principal
from resolvers.mutations.changes import (
    actor_ids,
    archive,
    record_change,
    require_admin_or_finance,
    seen,
)
from resolvers.mutations.common import row_id
from resolvers.mutations.rules import (
    RuleCode,
    RuleError,
    UserErrorData,
    atomic,
    clean_text,
    fail,
    found,
)

MAX_NAME = 200
MAX_GL_CODE = 50
MAX_UPSERT = 500
WHAT = "manage categories"


@dataclass(frozen=True)
class CategoryChanges:
    """createCategory/updateCategory input: None keeps a field; ``remove_gl_code`` clears it."""

    name: str | None = None
    gl_code: str | None = None
    remove_gl_code: bool = False


def _editor(ctx: Context) -> Principal:
    return require_admin_or_finance(ctx, key_permission=Permission.ADMIN, what=WHAT)


def _problem(code: RuleCode, message: str, field: str) -> UserErrorData:
    return UserErrorData(field=field, message=message, code=code)


def _name(value: str, field: str) -> str:
    name = clean_text(value, field, max_length=MAX_NAME)
    if not name:
        raise fail(RuleCode.INVALID_VALUE, "The name cannot be empty.", field)
    return name


def _gl_code(value: str, field: str) -> str:
    code = clean_text(value, field, max_length=MAX_GL_CODE)
    if not code:
        raise fail(
            RuleCode.INVALID_VALUE, "The GL code cannot be empty; leave it out for none.", field
        )
    return code


def _taken(error: Taken, name_field: str = "name", code_field: str = "glCode") -> RuleError:
    if error.column == "name":
        message = "Another category has that name (archived categories count)."
        return fail(RuleCode.DUPLICATE, message, name_field)
    message = "Another category has that GL code (archived categories count)."
    return fail(RuleCode.DUPLICATE, message, code_field)


async def create_category(ctx: Context, changes: CategoryChanges) -> CategoryRow:
    """Create a category of the caller's business and return it."""
    principal = _editor(ctx)
    async with atomic(ctx):
        name = _name(changes.name or "", "name")
        gl_code = _gl_code(changes.gl_code, "glCode") if changes.gl_code is not None else None
        try:
            row = await category_writes.insert_category(
                db=ctx.db, business_id=principal.business_id, name=name, gl_code=gl_code
            )
        except Taken as error:
            raise _taken(error) from None
        await record_change(
            ctx, object_type="Category", object_id=row.id, action="CREATED",
            details={"name": row.name, "glCode": row.gl_code},
        )  # fmt: skip
        return seen(ctx, CATEGORY, row)


async def _locked(ctx: Context, global_id: str) -> CategoryRow:
    principal, _ = ctx.require()
    row = await category_writes.locked_category(
        db=ctx.db, business_id=principal.business_id, category_id=row_id(global_id, "Category")
    )
    return found(row, "category")


async def update_category(ctx: Context, global_id: str, changes: CategoryChanges) -> CategoryRow:
    """Rename a category or change its GL code (archived ones too); return it."""
    principal = _editor(ctx)
    async with atomic(ctx):
        category = await _locked(ctx, global_id)
        values: dict[str, Any] = {}
        if changes.name is not None:
            values["name"] = _name(changes.name, "name")
        if changes.remove_gl_code:
            values["gl_code"] = None
        elif changes.gl_code is not None:
            values["gl_code"] = _gl_code(changes.gl_code, "glCode")
        changed = {k: v for k, v in values.items() if getattr(category, k) != v}
        if not changed:
            return seen(ctx, CATEGORY, category)  # nothing to write, nothing to record
        try:
            row = await category_writes.update_category(
                db=ctx.db, business_id=principal.business_id, category_id=category.id,
                values=changed,
            )  # fmt: skip
        except Taken as error:
            raise _taken(error) from None
        before = {_FIELDS[k]: getattr(category, k) for k in changed}
        after = {_FIELDS[k]: getattr(row, k) for k in changed}
        await record_change(
            ctx, object_type="Category", object_id=row.id, action="UPDATED",
            details={"before": before, "after": after},
        )  # fmt: skip
        return seen(ctx, CATEGORY, row)


_FIELDS = {"name": "name", "gl_code": "glCode"}


async def archive_category(ctx: Context, global_id: str) -> CategoryRow:
    """Archive a category: it keeps its expenses, new ones cannot use it; return it."""
    principal = _editor(ctx)
    async with atomic(ctx):
        category = await _locked(ctx, global_id)
        return await archive(
            ctx, category, "Category", CATEGORY,
            lambda: category_writes.archive_category(
                db=ctx.db, business_id=principal.business_id, category_id=category.id
            ),
        )  # fmt: skip


def _checked_column(
    values: list[str], check: Callable[[str, str], str], key: str, label: str
) -> tuple[list[str], list[UserErrorData]]:
    """Return one column of the pushed items cleaned, and its problems (repeats included)."""
    cleaned: list[str] = []
    problems: list[UserErrorData] = []
    first_at: dict[str, int] = {}
    for index, raw in enumerate(values):
        field = f"input.{index}.{key}"
        try:
            value = check(raw, field)
        except RuleError as error:
            problems.extend(error.errors)
            value = ""
        if value in first_at:
            message = f"The same {label} as input.{first_at[value]}; each may appear once."
            problems.append(_problem(RuleCode.DUPLICATE, message, field))
        elif value:
            first_at[value] = index
        cleaned.append(value)
    return cleaned, problems


def _checked_items(items: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """Return the (GL code, name) pairs cleaned, or raise every problem at once, by index."""
    if len(items) > MAX_UPSERT:
        raise fail(RuleCode.INVALID_VALUE, f"At most {MAX_UPSERT} categories at once.", "input")
    codes, code_problems = _checked_column([c for c, _ in items], _gl_code, "glCode", "GL code")
    names, name_problems = _checked_column([n for _, n in items], _name, "name", "name")
    if code_problems or name_problems:
        # a stable sort: at one index the GL code's problem comes before the name's
        by_index = sorted(
            code_problems + name_problems, key=lambda e: int(str(e.field).split(".")[1])
        )
        raise RuleError(*by_index)
    return list(zip(codes, names, strict=True))


def _name_conflicts(
    items: list[tuple[str, str]], holders: Sequence[CategoryRow]
) -> list[UserErrorData]:
    """Return a DUPLICATE for each pushed name held by a category with another GL code.

    Even when the same push renames that category: a unique name is checked row by row,
    so a swap of two names would depend on the order of writing. It takes two pushes.
    """
    by_name = {row.name: row for row in holders}
    problems = []
    for index, (code, name) in enumerate(items):
        holder = by_name.get(name)
        if holder is not None and holder.gl_code != code:
            held = f"GL code {holder.gl_code}" if holder.gl_code else "no GL code"
            message = f"The category with {held} is called {name!r}; rename it first."
            problems.append(_problem(RuleCode.DUPLICATE, message, f"input.{index}.name"))
    return problems


def _index_of(detail: str | None, items: list[tuple[str, str]]) -> int | None:
    """Return the index of the item a unique violation's detail names, if one does."""
    # "Key (business_id, name)=(7, Travel) already exists."
    for index, (_, name) in enumerate(items):
        if detail and f", {name}) already exists" in detail:
            return index
    return None


async def upsert_categories(ctx: Context, items: Sequence[tuple[str, str]]) -> list[CategoryRow]:
    """Create or rename categories by GL code, all or none; return them in input order.

    An archived category whose code is pushed is un-archived. Cost: two statements (the
    categories holding the pushed codes and names, locked; the upsert with its audit
    events) whatever the number of items.

    A push that meets rows a concurrent one has just committed runs once more. ON CONFLICT
    settles only the GL code: the same new name, inserted by both at once, makes the later
    one's insert a unique violation (PostgreSQL checks that index as any other). Undone
    and run again, the push sees the committed rows: the check names a real conflict, and
    the same chart pushed twice succeeds twice.
    """
    principal = _editor(ctx)
    cleaned = _checked_items(items)
    if not cleaned:
        return []
    try:
        return await _upserted(ctx, principal, cleaned)
    except Taken:  # its savepoint rolled back: nothing of this push is left; once more
        pass
    try:
        return await _upserted(ctx, principal, cleaned)
    except Taken as error:  # taken twice: by a writer that keeps committing that name
        index = _index_of(error.detail, cleaned)
        field = "input" if index is None else f"input.{index}.name"
        raise _taken(error, name_field=field, code_field=field) from None


async def _upserted(
    ctx: Context, principal: Principal, cleaned: list[tuple[str, str]]
) -> list[CategoryRow]:
    """Return the pushed categories in input order, written in one savepoint; Taken if a
    concurrent writer committed one of their names or codes since the check."""
    async with atomic(ctx):
        holders = await category_writes.holders(
            db=ctx.db, business_id=principal.business_id,
            names=[name for _, name in cleaned], gl_codes=[code for code, _ in cleaned],
        )  # fmt: skip
        problems = _name_conflicts(cleaned, holders)
        if problems:
            raise RuleError(*problems)
        member_id, api_key_id = actor_ids(principal)
        written = await category_writes.upsert_categories(
            db=ctx.db, business_id=principal.business_id, items=cleaned,
            actor_member_id=member_id, actor_api_key_id=api_key_id,
        )  # fmt: skip
        by_code: dict[str | None, CategoryRow] = {
            row.gl_code: row for row in holders if row.gl_code is not None
        }
        by_code.update((row.gl_code, row) for row in written)
        missing = [code for code, _ in cleaned if code not in by_code]
        if missing:  # created by a concurrent push since the check, and left as they are
            late = await category_writes.by_gl_codes(
                db=ctx.db, business_id=principal.business_id, gl_codes=missing
            )
            by_code.update((row.gl_code, row) for row in late)
        return [seen(ctx, CATEGORY, by_code[code]) for code, _ in cleaned]
