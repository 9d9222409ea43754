"""Writes of the category mutations. Run inside RequestDb.savepoint(); nothing here commits.

A unique constraint broken by a concurrent writer surfaces as :class:`Taken`; the caller's
savepoint must then be rolled back (the transaction is unusable until it is).
"""

import typing
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    Row,
    any_,
    bindparam,
    case,
    cast,
    func,
    insert,
    literal,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError

from db.engine import RequestDb
from db.locks import locked_row
from db.rows import CategoryRow
from db.sql import array_param
from db.tables.feed import audit_events
from db.tables.feed import events as feed_events
from db.tables.org import categories
from db.writes.rows import inserting, update_row, updating

UNIQUE_VIOLATION = "23505"
# unique constraint -> the column whose value is taken
UNIQUE_COLUMNS = {
    "uq_categories_business_id_name": "name",
    "uq_categories_business_id_gl_code": "gl_code",
}


FEED_COLUMNS = (
    "business_id", "actor_member_id", "actor_api_key_id", "type", "object_type", "object_id",
    "data",
)  # fmt: skip
EVENT_COLUMNS = (
    "business_id", "actor_member_id", "actor_api_key_id", "action", "object_type", "object_id",
    "details",
)  # fmt: skip


class Taken(Exception):
    """A write broke the unique name or GL code of the business's categories."""

    def __init__(self, column: str, detail: str | None) -> None:
        super().__init__(column)
        self.column = column  # "name" or "gl_code"
        self.detail = detail  # PostgreSQL's "Key (business_id, name)=(1, Travel) already exists."


async def _written(
    db: RequestDb, statement: Any, params: dict[str, Any] | None = None
) -> Sequence[Row[Any]]:
    """Return the rows a write returned; :class:`Taken` if a unique constraint refused it."""
    try:
        return await db.rows(statement, params)
    except IntegrityError as error:
        for candidate in (error.orig, getattr(error.orig, "__cause__", None)):
            if getattr(candidate, "sqlstate", None) == UNIQUE_VIOLATION:
                column = UNIQUE_COLUMNS.get(str(getattr(candidate, "constraint_name", "")))
                if column is not None:
                    raise Taken(column, getattr(candidate, "detail", None)) from None
        raise


async def holders(
    *, db: RequestDb, business_id: int, names: Sequence[str], gl_codes: Sequence[str]
) -> list[CategoryRow]:
    """Return the categories holding any of ``names`` or ``gl_codes``, locked for update."""
    statement = (
        select(categories)
        .where(
            categories.c.business_id == business_id,
            or_(
                categories.c.name == any_(array_param("names", categories.c.name)),
                categories.c.gl_code == any_(array_param("codes", categories.c.gl_code)),
            ),
        )
        .order_by(categories.c.id)
        .with_for_update()
    )
    return list(
        typing.cast(
            "Sequence[CategoryRow]",
            await db.rows(statement, {"names": list(names), "codes": list(gl_codes)}),
        )
    )


async def by_gl_codes(
    *, db: RequestDb, business_id: int, gl_codes: Sequence[str]
) -> list[CategoryRow]:
    """Return the categories with any of ``gl_codes``."""
    statement = select(categories).where(
        categories.c.business_id == business_id,
        categories.c.gl_code == any_(array_param("codes", categories.c.gl_code)),
    )
    return list(
        typing.cast("Sequence[CategoryRow]", await db.rows(statement, {"codes": list(gl_codes)}))
    )


async def locked_category(
    *, db: RequestDb, business_id: int, category_id: int
) -> CategoryRow | None:
    """Return a category of the business locked until the transaction ends, or None."""
    return await locked_row(db=db, table=categories, business_id=business_id, row_id=category_id)


async def insert_category(
    *, db: RequestDb, business_id: int, name: str, gl_code: str | None
) -> CategoryRow:
    """Store a new category and return it; :class:`Taken` if its name or GL code is."""
    values = {"name": name, "gl_code": gl_code}
    return (await _written(db, inserting(categories, business_id=business_id, values=values)))[0]


async def update_category(
    *, db: RequestDb, business_id: int, category_id: int, values: dict[str, Any]
) -> CategoryRow:
    """Update a locked category and return it; :class:`Taken` if the new name or code is."""
    statement = updating(categories, business_id=business_id, row_id=category_id, values=values)
    return (await _written(db, statement))[0]


async def archive_category(*, db: RequestDb, business_id: int, category_id: int) -> CategoryRow:
    """Archive a locked category now and return it."""
    return typing.cast(CategoryRow, await update_row(
        db=db, table=categories, business_id=business_id, row_id=category_id,
        values={"archived_at": func.clock_timestamp()},
    ))  # fmt: skip


def _upsert_statement() -> Any:
    """Return the one statement of :func:`upsert_categories` (built once, run with arrays).

    ``old`` reads the rows as they were before the statement (every part of a statement
    sees the same snapshot), so the audit events can say what was created and what renamed.
    """
    codes = array_param("codes", categories.c.gl_code)
    names = array_param("names", categories.c.name)
    business_id = bindparam("business_id", type_=BigInteger)
    pushed = func.unnest(codes, names).table_valued("gl_code", "name").render_derived("pushed")
    old = (
        select(categories.c.id, categories.c.name, categories.c.archived_at)
        .where(categories.c.business_id == business_id, categories.c.gl_code == any_(codes))
        .cte("old")
    )
    insert_ = pg_insert(categories).from_select(
        ["business_id", "gl_code", "name"],
        # in GL code order: two pushes inserting the same new codes wait on each other in
        # one order, so they cannot deadlock
        select(business_id, pushed.c.gl_code, pushed.c.name).order_by(pushed.c.gl_code),
    )
    upserted = (
        insert_.on_conflict_do_update(
            index_elements=[categories.c.business_id, categories.c.gl_code],
            index_where=categories.c.gl_code.is_not(None),
            set_={"name": insert_.excluded.name, "archived_at": None},
            # an unchanged category is not written, so it gets no audit event either
            where=or_(
                categories.c.name != insert_.excluded.name, categories.c.archived_at.is_not(None)
            ),
        )
        .returning(*categories.c)
        .cte("upserted")
    )
    details = func.jsonb_strip_nulls(
        func.jsonb_build_object(
            "name", upserted.c.name,
            "glCode", upserted.c.gl_code,
            "previousName", case((old.c.name != upserted.c.name, old.c.name)),
            "unarchived", case((old.c.archived_at.is_not(None), literal(True))),
            "via", "upsertCategories",
        )
    )  # fmt: skip
    source = select(
        upserted.c.business_id,
        bindparam("actor_member_id", type_=BigInteger),
        bindparam("actor_api_key_id", type_=BigInteger),
        case((old.c.id.is_(None), "CREATED"), else_="UPDATED"),
        literal("Category"),
        upserted.c.id,
        details,
    ).select_from(upserted.outerjoin(old, old.c.id == upserted.c.id))
    events = insert(audit_events).from_select(EVENT_COLUMNS, source).cte("events")
    # and the change feed's events (db/writes/events.py), in the same statement
    created = old.c.id.is_(None)
    renamed, unarchived = old.c.name != upserted.c.name, old.c.archived_at.is_not(None)
    fields = case(
        (created, literal("[]")),
        (renamed & unarchived, literal('["archivedAt", "name"]')),
        (renamed, literal('["name"]')),
        else_=literal('["archivedAt"]'),
    )
    feed_source = select(
        upserted.c.business_id,
        bindparam("actor_member_id", type_=BigInteger),
        bindparam("actor_api_key_id", type_=BigInteger),
        case((created, "category.created"), else_="category.updated"),
        literal("Category"),
        upserted.c.id,
        func.jsonb_build_object("fields", cast(fields, JSONB)),
    ).select_from(upserted.outerjoin(old, old.c.id == upserted.c.id))
    feed = insert(feed_events).from_select(FEED_COLUMNS, feed_source).cte("feed")
    return select(upserted).add_cte(events).add_cte(feed)


_UPSERT = _upsert_statement()


async def upsert_categories(
    *,
    db: RequestDb,
    business_id: int,
    items: Sequence[tuple[str, str]],
    actor_member_id: int | None,
    actor_api_key_id: int | None,
) -> list[CategoryRow]:
    """Create or rename (and un-archive) categories by GL code, with their audit events.

    ``items`` are (GL code, name) pairs with distinct codes. One statement whatever their
    number. Returns the categories it wrote; unchanged ones are neither written nor returned.
    :class:`Taken` if a name is held by another category.
    """
    params = {
        "business_id": business_id,
        "codes": [code for code, _ in items],
        "names": [name for _, name in items],
        "actor_member_id": actor_member_id,
        "actor_api_key_id": actor_api_key_id,
    }
    return list(typing.cast("Sequence[CategoryRow]", await _written(db, _UPSERT, params)))
