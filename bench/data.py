"""The benchmark's database: an embedded PostgreSQL data dir seeded with 1M+ expenses."""

import asyncio
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from app.auth import issue_token
from app.settings import Settings
from db.embedded import embedded_database_url

SEED_TIMEOUT_S = 900
VACUUM_TIMEOUT_S = 600
# tables the seed fills with COPY: vacuumed once so index-only scans and hint bits are
# as on a database that has been running for a while, and autovacuum stays quiet
BIG_TABLES = ("expenses", "expense_events", "receipts")
UNLIMITED = 10**9


@dataclass(frozen=True)
class Facts:
    """What the shapes need to know about the seeded database."""

    database_url: str
    total_expenses: int
    business_id: int
    business_expenses: int
    admin_member_id: int
    detail_expense_id: int
    merchant_term: str
    postgres_version: str


def cli_path() -> str:
    """Return the ``expensegraph`` command installed beside this Python."""
    candidate = Path(sys.executable).parent / "expensegraph"
    return str(candidate) if candidate.exists() else "expensegraph"


def child_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """Return the environment for an ``expensegraph`` subprocess on ``data_dir``."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    return {**env, "EXPENSEGRAPH_DATA_DIR": str(data_dir.resolve()), **extra}


def app_env(*, batching: bool = True, keep_rate_limit: bool = False) -> dict[str, str]:
    """Return the variables the server and the in-process app get for a measurement."""
    env = {
        "EXPENSEGRAPH_LOADER_BATCHING": "true" if batching else "false",
        # the biggest tenant's year by team and month is over 300 buckets: its honest cost
        # (maxBuckets x 3 objects) is above the default 1,000-point ceiling
        "EXPENSEGRAPH_MAX_QUERY_COST": "10000",
    }
    if not keep_rate_limit:
        # one credential sends everything: the per-credential cost bucket would answer
        # RATE_LIMITED after a few requests; it still computes every request's cost
        env["EXPENSEGRAPH_RATE_BUCKET_SIZE"] = str(UNLIMITED)
        env["EXPENSEGRAPH_RATE_RESTORE_PER_SECOND"] = str(UNLIMITED)
    return env


def open_database(data_dir: Path) -> str:
    """Start (or reuse) the embedded server of ``data_dir``; return the database URL.

    This process then holds a handle on the server: it stays up until we exit.
    """
    return embedded_database_url(data_dir)


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def count_expenses(url: str) -> int:
    """Return how many expenses the database holds (0 before the first migration)."""
    conn = await asyncpg.connect(_plain(url))
    try:
        return int(await conn.fetchval("SELECT count(*) FROM expenses"))
    except asyncpg.UndefinedTableError:
        return 0
    finally:
        await conn.close()


def seed(data_dir: Path, *, businesses: int, expenses: int, seed: int) -> None:
    """Run ``expensegraph seed`` on ``data_dir`` (about 70 s for 1M expenses)."""
    command = [cli_path(), "seed", "--businesses", str(businesses)]
    command += ["--expenses", str(expenses), "--seed", str(seed)]
    print(f"Seeding: EXPENSEGRAPH_DATA_DIR={data_dir} {' '.join(command)}", flush=True)
    started = time.monotonic()
    subprocess.run(command, env=child_env(data_dir), check=True, timeout=SEED_TIMEOUT_S)
    print(f"Seeded in {time.monotonic() - started:.0f} s.", flush=True)


async def vacuum_if_never_vacuumed(url: str) -> list[str]:
    """VACUUM (ANALYZE) the big tables that were never vacuumed; return their names."""
    conn = await asyncpg.connect(_plain(url))
    try:
        names = await conn.fetch(
            "SELECT relname FROM pg_stat_user_tables WHERE relname = ANY($1::text[])"
            " AND last_vacuum IS NULL AND last_autovacuum IS NULL",
            list(BIG_TABLES),
        )
        tables = sorted(row["relname"] for row in names)
        if tables:
            print(f"VACUUM (ANALYZE) {', '.join(tables)} (once per data dir) ...", flush=True)
            await conn.execute(f"VACUUM (ANALYZE) {', '.join(tables)}", timeout=VACUUM_TIMEOUT_S)
        return tables
    finally:
        await conn.close()


async def facts(url: str) -> Facts:
    """Return the biggest tenant, one of its admins, a detail expense and a search term."""
    conn = await asyncpg.connect(_plain(url))
    try:
        sizes = await conn.fetch(
            "SELECT business_id, count(*) AS n FROM expenses GROUP BY business_id ORDER BY n DESC"
        )
        business, size = sizes[0]["business_id"], sizes[0]["n"]
        admin = await conn.fetchval(
            "SELECT id FROM members WHERE business_id = $1 AND role = 'ADMIN' ORDER BY id LIMIT 1",
            business,
        )
        # the newest expense with a receipt: a detail page with everything filled in
        expense = await conn.fetchval(
            "SELECT e.id FROM expenses e WHERE e.business_id = $1 AND e.deleted_at IS NULL"
            " AND EXISTS (SELECT 1 FROM receipts r WHERE r.expense_id = e.id)"
            " ORDER BY e.spent_at DESC, e.id DESC LIMIT 1",
            business,
        )
        # a merchant of median frequency: the search hits some rows, not a third of them
        merchants = await conn.fetch(
            "SELECT merchant_name FROM expenses WHERE business_id = $1"
            " GROUP BY merchant_name ORDER BY count(*) DESC, merchant_name",
            business,
        )
        term = merchants[len(merchants) // 2]["merchant_name"].split()[0].lower()
        return Facts(
            database_url=url,
            total_expenses=sum(row["n"] for row in sizes),
            business_id=business,
            business_expenses=size,
            admin_member_id=admin,
            detail_expense_id=expense,
            merchant_term=term,
            postgres_version=await conn.fetchval("SHOW server_version"),
        )
    finally:
        await conn.close()


@dataclass(frozen=True)
class InProcess:
    """What an in-process measurement needs: the database, its facts, settings, a token."""

    url: str
    facts: Facts
    settings: Settings
    token: str


def in_process(data_dir: Path) -> InProcess:
    """Open the data dir's database and return it with an ADMIN token of the biggest tenant."""
    url = open_database(data_dir)
    found = asyncio.run(facts(url))
    # the data dir's token secret, made on first use as `expensegraph token` makes it
    settings = Settings.from_env(child_env(data_dir, **app_env()), local_secret=True)
    token = issue_token(settings, business_id=found.business_id, member_id=found.admin_member_id)
    return InProcess(url, found, settings, token)
