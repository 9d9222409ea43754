"""What the loader tests share: a request's database handle, and its statements counted from zero."""

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncEngine

from db.engine import RequestDb
from db.tables import metadata
from tests.conftest import StatementCounter
from tests.world import World

Committed = dict[str, list[Row[Any]]]


@pytest.fixture
async def db(engine: AsyncEngine) -> AsyncIterator[RequestDb]:
    """Return a request's handle; what it wrote and did not commit is rolled back."""
    handle = RequestDb(engine)
    yield handle
    await handle.close()


@pytest.fixture
def counted(statements: StatementCounter) -> StatementCounter:
    """Return the statement counter, reset."""
    statements.reset()
    return statements


@pytest.fixture(scope="module")
async def committed(engine: AsyncEngine, world: World) -> Committed:
    """Return every row of every table by table name, read plainly (before any count starts)."""
    async with engine.connect() as conn:
        return {
            name: list(await conn.execute(select(table))) for name, table in metadata.tables.items()
        }
