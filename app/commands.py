"""What each CLI command does, separate from argument parsing."""

import argparse
import asyncio
import dataclasses
import errno
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import uvicorn
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from starlette.types import ASGIApp

from app import business_setup, persisted, schema_check, tracing
from app.auth import hash_secret, issue_token, new_api_key
from app.http import WORKER_DATABASE_URL, app_from_env, create_app, settle_gc
from app.observability import MULTIPROC_DIR, across_workers, configure_logging
from app.settings import Settings
from db.engine import PoolSettings, RequestDb, create_engine
from db.migrate import current_revision, head_revision, upgrade
from db.queries import api_keys as api_key_reads
from db.writes import admin
from db.writes import api_keys as api_key_writes
from resolvers.mutations.api_keys import api_key_global_id
from schema.build import build_schema


class DatabaseUnavailable(Exception):
    """The database cannot be reached; the message says what to check."""


class CommandError(Exception):
    """A command cannot do what was asked; the message says why."""


def print_schema() -> None:
    """Print the SDL."""
    print(build_schema().as_str())


def check_schema(against: Path) -> bool:
    """Print how the running schema changes the one in ``against``; return whether it may ship."""
    try:
        report = schema_check.check(build_schema().as_str(), against)
    except schema_check.UnreadableSchema as error:
        raise CommandError(str(error)) from None
    print("\n".join(report.lines(against)))
    return report.ok


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


def check_port(host: str, port: int) -> None:
    """Raise CommandError unless ``host:port`` can be listened on, bound as uvicorn binds it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise CommandError(f"port {port} is in use; pass --port N") from None
            raise CommandError(
                f"cannot listen on {host}:{port} ({error.strerror or error}); "
                "pass --host H or --port N"
            ) from None


async def serve(settings: Settings, url: str, host: str, port: int, workers: int = 1) -> None:
    """Serve the API until interrupted, in ``workers`` processes (uvloop, httptools)."""
    configure_logging()
    persisted.from_settings(settings)  # a bad manifest stops here, not in every worker
    # uvicorn shuts down on SIGTERM, then raises the signal again: let that be an exit,
    # not a kill, so atexit handlers run (they stop the embedded PostgreSQL)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    if settings.graphiql:
        print(f"GraphiQL: http://{host}:{port}/graphql", file=sys.stderr)
    options: dict[str, Any] = {
        "host": host, "port": port, "http": "httptools", "loop": "uvloop",
        "log_level": "info", "timeout_graceful_shutdown": settings.shutdown_grace_s,
        # every request already writes its own JSON line (app/observability.py): uvicorn's
        # access line would say less, twice the bytes, for a tenth of a small query's CPU
        "access_log": False,
    }  # fmt: skip
    if workers == 1:
        tracing.configure_tracing()  # each worker process configures its own (app_from_env)
        app = create_app(settings, url)
        settle_gc()
        await uvicorn.Server(uvicorn.Config(app, **options)).serve()
        return
    # each worker process builds its own app (and engine) from the environment, where
    # demo's development defaults would be lost
    os.environ[WORKER_DATABASE_URL] = url
    os.environ["EXPENSEGRAPH_GRAPHIQL"] = str(int(settings.graphiql))
    os.environ["EXPENSEGRAPH_INTROSPECTION"] = str(int(settings.introspection))
    os.environ["EXPENSEGRAPH_CORS_ORIGINS"] = ",".join(settings.cors_origins)
    if settings.hs256_tokens:  # demo's development tokens: workers must accept them too
        os.environ.setdefault("EXPENSEGRAPH_JWT_SECRET", settings.jwt_secret)
    # every worker writes its metrics into a directory of this run's, so that /metrics
    # answered by any of them counts all (prometheus_client's multiprocess mode)
    metrics_dir = tempfile.mkdtemp(prefix="expensegraph-metrics-")
    os.environ[MULTIPROC_DIR] = metrics_dir
    try:
        # the supervisor needs the main thread for its signal handlers; nothing else runs here
        uvicorn.run("app.commands:worker_app", factory=True, workers=workers, **options)
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)


def worker_app() -> ASGIApp:
    """Return one worker's app (uvicorn factory): built from the environment, metrics shared."""
    return across_workers(app_from_env())


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


async def demo(settings: Settings, url: str, host: str, port: int, workers: int = 1) -> None:
    """Migrate, seed the two demo businesses, print credentials, serve beside a job worker."""
    if not settings.cors_origins:  # a page served from the demo's own origin may call it
        own = (f"http://{host}:{port}", f"http://localhost:{port}", f"http://127.0.0.1:{port}")
        settings = dataclasses.replace(settings, cors_origins=tuple(dict.fromkeys(own)))
    await migrate(url)
    print(await demo_credentials(settings, url), flush=True)
    job_worker = start_job_worker(settings, url)
    try:
        await serve(settings, url, host, port, workers)
    finally:
        stop_job_worker(job_worker, grace_s=settings.shutdown_grace_s)


async def run_worker(url: str, settings: Settings, concurrency: int) -> None:
    """Run background jobs until SIGTERM or SIGINT (app/worker.py)."""
    from app.worker import WorkerSettings
    from app.worker import run_worker as run

    configure_logging()
    # Tesseract's own threads fight the worker's for 2 cores; one each is faster (bench/)
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    await run(url, settings.receipt_root, WorkerSettings.from_env(os.environ, concurrency))


def start_job_worker(settings: Settings, url: str) -> "subprocess.Popen[bytes]":
    """Start `expensegraph worker` in a process of its own, on the same database and files."""
    env = {**os.environ, "DATABASE_URL": url}
    env.setdefault("EXPENSEGRAPH_DATA_DIR", str(settings.data_dir))
    if settings.receipts_dir is not None:
        env.setdefault("EXPENSEGRAPH_RECEIPTS_DIR", str(settings.receipts_dir))
    if settings.webhooks_allow_private:  # the demo's: its endpoints may be on this machine
        env.setdefault("EXPENSEGRAPH_WEBHOOK_ALLOW_PRIVATE", "1")
    command = [sys.executable, "-m", "app.cli", "worker", "--concurrency", "2"]
    return subprocess.Popen(command, env=env)


def stop_job_worker(process: "subprocess.Popen[bytes]", *, grace_s: float) -> None:
    """Stop the worker: SIGTERM (its running jobs finish), then SIGKILL after ``grace_s``."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:  # a killed worker's jobs are taken over later
        process.kill()
        process.wait()


async def demo_credentials(settings: Settings, url: str) -> str:
    """Seed the demo businesses if missing, replace the demo API key; return what to print."""
    from devdata.demo import DEMO_KEY_PERMISSIONS, replace_demo_key, seed_demo
    from devdata.demo_receipts import seed_demo_receipts

    data = await seed_demo(url=url)
    acme, globex = data.acme, data.globex
    async with _request_db(url) as db:
        queued = await seed_demo_receipts(
            db=db, receipts_dir=settings.receipt_root, business_id=acme.business_id
        )
    lines = ["", "Ready-to-paste credentials (send as 'Authorization: Bearer <credential>'):", ""]
    for role in ("admin", "manager", "employee"):
        member_id, email = acme.members[role]
        token = issue_token(settings, business_id=acme.business_id, member_id=member_id)
        lines.append(f"{role.upper()} token ({email}, {acme.name}): {token}")
    prefix, key = new_api_key()
    async with _request_db(url) as db, db.savepoint():
        await replace_demo_key(
            db=db, business_id=acme.business_id, prefix=prefix, secret_hash=hash_secret(key)
        )
    readable = ", ".join(permission.partition(":")[0] for permission in DEMO_KEY_PERMISSIONS)
    lines.append(f"API key ({readable} read; {acme.name}): {key}")
    member_id, email = globex.members["admin"]
    token = issue_token(settings, business_id=globex.business_id, member_id=member_id)
    lines += ["", "Another business, to see that the two never mix:"]
    lines.append(f"ADMIN token ({email}, {globex.name}): {token}\n")
    if queued:
        lines.append(
            f"{queued} receipts queued for the worker: within seconds they are"
            " read and attached (query receipts { nodes { fileName processing extracted"
            " { merchantName total { amount currency } } expense { merchantName } } }).\n"
        )
    lines.append(
        "In GraphiQL, subscriptions run too: paste a token in Headers, run"
        " subscription { events { type objectId } }, then change something.\n"
    )
    return "\n".join(lines)


@asynccontextmanager
async def _request_db(url: str) -> AsyncIterator[RequestDb]:
    """Yield a database handle like a request's; what was written is committed at the end."""
    engine = create_engine(url, PoolSettings(size=1, max_overflow=0))
    db = RequestDb(engine)
    try:
        yield db
        await db.commit()
    finally:
        await db.close()
        await engine.dispose()


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


async def list_api_keys(url: str, *, business_id: int) -> str:
    """Return the business's API keys as a table (never a secret)."""
    async with _request_db(url) as db:
        rows = await api_key_reads.api_keys_of(db=db, business_id=business_id)
    if not rows:
        return f"No API keys in business {business_id}."
    table = [("ID", "NAME", "PREFIX", "SCOPES", "CREATED", "LAST USED", "REVOKED")]
    table += [
        (
            api_key_global_id(row.id), row.name, row.prefix, ",".join(row.scopes),
            _when(row.created_at), _when(row.last_used_at), _when(row.revoked_at),
        )
        for row in rows
    ]  # fmt: skip
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]) - 1)]
    return "\n".join(
        "  ".join([*(cell.ljust(w) for cell, w in zip(line, widths, strict=False)), line[-1]])
        for line in table
    )


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S%z")


async def revoke_api_key(url: str, *, business_id: int, key: str) -> str:
    """Revoke the business's key with prefix or id ``key``; return what was revoked."""
    async with _request_db(url) as db:
        rows = await api_key_reads.api_keys_of(db=db, business_id=business_id)
        found = [row for row in rows if key in (row.prefix, api_key_global_id(row.id))]
        if not found:
            raise CommandError(f"business {business_id} has no API key with prefix or id {key!r}.")
        async with db.savepoint():
            row = await api_key_writes.locked_api_key(
                db=db, business_id=business_id, key_id=found[0].id
            )
            if row is None:  # deleted since it was listed
                raise CommandError(f"business {business_id} has no API key {key!r}.")
            if row.revoked_at is not None:
                raise CommandError(f"API key {key!r} is already revoked.")
            await api_key_writes.revoke_api_key(db=db, business_id=business_id, key_id=row.id)
    return f"Revoked API key {row.prefix} ({row.name})."


async def run(args: argparse.Namespace, settings: Settings) -> None:
    """Run one parsed command."""
    if args.command in ("demo", "serve"):
        # before the embedded database starts or any credential is printed
        check_port(args.host, args.port)
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
    elif args.command == "worker":
        await check_database(url, require_head=True)
        await run_worker(url, settings, args.concurrency)
    elif args.command == "seed":
        from devdata.seed import seed

        await migrate(url)
        report = await seed(
            url=url, businesses=args.businesses, expenses=args.expenses, seed=args.seed
        )
        print(report.summary(), file=sys.stderr)
    elif args.command == "token":
        await check_database(url, require_head=True)
        print(await token(settings, url, args.member, args.business, args.ttl))
    elif args.command == "business":
        await check_database(url, require_head=True)
        print(await create_business(url, args))
    elif args.command == "apikey":
        await check_database(url, require_head=True)
        print(await _apikey(args, url))


async def create_business(url: str, args: argparse.Namespace) -> str:
    """Create a business and its first admin (or find them); return their ids to print."""
    try:
        async with _request_db(url) as db:
            done = await business_setup.create_business(
                db, name=args.name, home_currency=args.home_currency, timezone=args.timezone,
                admin_email=args.admin_email, admin_name=args.admin_name,
            )  # fmt: skip
    except business_setup.SetupError as error:
        raise CommandError(str(error)) from None
    if done.created:
        print(f"Created business {args.name.strip()!r} and its admin.", file=sys.stderr)
    else:
        print("The business and its admin exist already; nothing changed.", file=sys.stderr)
    return done.lines()


async def _apikey(args: argparse.Namespace, url: str) -> str:
    if args.action == "list":
        return await list_api_keys(url, business_id=args.business)
    if args.action == "revoke":
        return await revoke_api_key(url, business_id=args.business, key=args.key)
    scopes = [s.strip() for s in args.scopes.split(",") if s.strip()]
    return await create_api_key(url, business_id=args.business, name=args.name, scopes=scopes)
