"""The database the commands work on: where it is, whether it is ready, migrating it."""

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from app.commands.errors import DatabaseUnavailable
from app.settings import Settings
from db.connect import PoolSettings, create_engine
from db.engine import RequestDb
from db.migrate import current_revision, head_revision, upgrade


async def database_url(settings: Settings) -> str:
    """Return the configured database URL, or start the embedded server and return its URL."""
    if settings.database_url:
        return settings.database_url
    from db.embedded import DATABASE_NAME, ensure_database, start_server

    print(f"Starting embedded PostgreSQL in {settings.data_dir.resolve()} ...", file=sys.stderr)
    server_url = await asyncio.to_thread(start_server, settings.data_dir)
    return await ensure_database(server_url, DATABASE_NAME)


async def check_database(url: str, *, require_head: bool) -> None:
    """Raise DatabaseUnavailable unless the database answers (and is migrated, if required)."""
    engine = create_engine(url)
    try:
        revision = await current_revision(engine)
    except (TimeoutError, OSError, OperationalError, InterfaceError, DBAPIError) as error:
        raise DatabaseUnavailable(
            f"cannot connect to the database ({type(error).__name__}: {str(error).splitlines()[0][:200]}). "
            "Check that PostgreSQL is running and that DATABASE_URL has the right host, port, "
            "user, password and database name, or unset DATABASE_URL to use the embedded "
            "PostgreSQL."
        ) from None
    finally:
        await engine.dispose()
    if require_head and revision != head_revision():
        raise DatabaseUnavailable(
            f"the database schema is at revision {revision}, this code needs {head_revision()}. "
            "Run `expensegraph migrate` first."
        )


async def migrate(url: str) -> None:
    """Migrate the database to head."""
    await check_database(url, require_head=False)
    await asyncio.to_thread(upgrade, url)
    print(f"Database at revision {head_revision()}.", file=sys.stderr)


@asynccontextmanager
async def request_db(url: str) -> AsyncIterator[RequestDb]:
    """Yield a database handle like a request's; what was written is committed at the end."""
    engine = create_engine(url, PoolSettings(size=1, max_overflow=0))
    db = RequestDb(engine)
    try:
        yield db
        await db.commit()
    finally:
        await db.close()
        await engine.dispose()
