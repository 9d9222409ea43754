"""Expectations for the loader tests: rows read plainly, without a loader or a predicate."""

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Row, Table, select

from db.engine import RequestDb

UNKNOWN = 2**62  # an id no row has


async def rows_in(db: RequestDb, table: Table) -> list[Row[Any]]:
    """Return every row of ``table`` as ``db`` sees it (with its uncommitted writes)."""
    return list(await db.rows(select(table)))


async def change(db: RequestDb, statement: Any) -> None:
    """Run a write in ``db``'s transaction (rolled back when the test's handle closes)."""
    await db.begin_write()
    await db.rows(statement)


def ids_of(rows: Iterable[Any]) -> list[int | None]:
    """Return the id of each row, None for a missing one."""
    return [None if row is None else row.id for row in rows]


def nested_ids(lists: Iterable[Iterable[Any]]) -> list[list[int | None]]:
    """Return the ids of each list of rows."""
    return [ids_of(rows) for rows in lists]
