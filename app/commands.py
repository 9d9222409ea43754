"""What each CLI command does, separate from argument parsing."""

import argparse
import asyncio
import logging
import os
import signal
import sys
from typing import Any

import uvicorn
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from app.auth import hash_secret, issue_token, new_api_key
from app.http import WORKER_DATABASE_URL, create_app, settle_gc
from app.settings import Settings
from db import admin
from db.engine import create_engine
from db.migrate import current_revision, head_revision, upgrade
from schema.build import build_schema


class DatabaseUnavailable(Exception):
    """The database cannot be reached; the message says what to check."""


class CommandError(Exception):
    """A command cannot do what was asked; the message says why."""


def print_schema() -> None:
    """Print the SDL."""
    print(build_schema().as_str())


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


def _log_requests() -> None:
    """Send the service's own log lines (one JSON object per request) to stderr."""
    logger = logging.getLogger("expensegraph")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


async def serve(settings: Settings, url: str, host: str, port: int, workers: int = 1) -> None:
    """Serve the API until interrupted, in ``workers`` processes (uvloop, httptools)."""
    _log_requests()
    # uvicorn shuts down on SIGTERM, then raises the signal again: let that be an exit,
    # not a kill, so atexit handlers run (they stop the embedded PostgreSQL)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    print(f"GraphiQL: http://{host}:{port}/graphql", file=sys.stderr)
    options: dict[str, Any] = {
        "host": host, "port": port, "http": "httptools", "loop": "uvloop",
        "log_level": "info", "timeout_graceful_shutdown": settings.shutdown_grace_s,
    }  # fmt: skip
    if workers == 1:
        app = create_app(settings, url)
        settle_gc()
        await uvicorn.Server(uvicorn.Config(app, **options)).serve()
        return
    # each worker process builds its own app (and engine) from the environment
    os.environ[WORKER_DATABASE_URL] = url
    # the supervisor needs the main thread for its signal handlers; nothing else runs here
    uvicorn.run("app.http:app_from_env", factory=True, workers=workers, **options)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


async def demo(settings: Settings, url: str, host: str, port: int, workers: int = 1) -> None:
    """Migrate, seed the two demo businesses, print credentials, serve."""
    from db.demo import seed_demo

    await migrate(url)
    data = await seed_demo(url=url)
    acme, globex = data.businesses[0], data.businesses[1]
    print("\nReady-to-paste credentials (send as 'Authorization: Bearer <credential>'):\n")
    for role in ("admin", "manager", "employee"):
        member_id, email = acme.members[role]
        token = issue_token(settings, business_id=acme.business_id, member_id=member_id)
        print(f"{role.upper()} token ({email}, {acme.name}): {token}")
    key = await create_api_key(url, business_id=acme.business_id, name="demo integration",
                               scopes=["expenses:read", "receipts:read", "cards:read", "teams:read"])  # fmt: skip
    print(f"API key (expenses, receipts, cards, teams read; {acme.name}): {key}")
    member_id, email = globex.members["admin"]
    token = issue_token(settings, business_id=globex.business_id, member_id=member_id)
    print("\nAnother business, to see that the two never mix:")
    print(f"ADMIN token ({email}, {globex.name}): {token}\n", flush=True)
    await serve(settings, url, host, port, workers)


async def create_api_key(url: str, *, business_id: int, name: str, scopes: list[str]) -> str:
    """Create an API key and return its full secret (stored only as a hash)."""
    prefix, key = new_api_key()
    engine = create_engine(url)
    try:
        created = await admin.insert_api_key(
            engine=engine, business_id=business_id, name=name, prefix=prefix,
            secret_hash=hash_secret(key), scopes=scopes,
        )  # fmt: skip
    finally:
        await engine.dispose()
    if not created:
        raise CommandError(f"no business with id {business_id}.")
    return key


async def token(
    settings: Settings, url: str, email: str, business_id: int | None, ttl: int | None
) -> str:
    """Return a user token for the member with ``email``."""
    engine = create_engine(url)
    try:
        found = await admin.members_by_email(engine=engine, email=email, business_id=business_id)
    finally:
        await engine.dispose()
    if not found:
        raise CommandError(f"no member with email {email!r}.")
    if len(found) > 1:
        ids = ", ".join(str(row.business_id) for row in found)
        raise CommandError(f"{email!r} is a member of several businesses ({ids}); pass --business.")
    return issue_token(settings, business_id=found[0].business_id, member_id=found[0].id, ttl_s=ttl)


async def run(args: argparse.Namespace, settings: Settings) -> None:
    """Run one parsed command."""
    url = await database_url(settings)
    if args.command == "migrate":
        await migrate(url)
    elif args.command == "demo":
        await demo(settings, url, args.host, args.port, args.workers)
    elif args.command == "serve":
        if not settings.database_url:
            await migrate(url)
        await check_database(url, require_head=True)
        await serve(settings, url, args.host, args.port, args.workers)
    elif args.command == "seed":
        from db.seed import seed

        await migrate(url)
        report = await seed(
            url=url, businesses=args.businesses, expenses=args.expenses, seed=args.seed
        )
        print(report.summary(), file=sys.stderr)
    elif args.command == "token":
        await check_database(url, require_head=True)
        print(await token(settings, url, args.member, args.business, args.ttl))
    elif args.command == "apikey":
        await check_database(url, require_head=True)
        scopes = [s.strip() for s in args.scopes.split(",") if s.strip()]
        print(await create_api_key(url, business_id=args.business, name=args.name, scopes=scopes))
