"""Deterministic bulk seed data: skewed tenants, two years of expenses, FX rates.

The same ``seed`` and counts give the same rows: every random choice comes from a
``random.Random`` derived from the seed, and times are relative to a fixed anchor
(:data:`devdata.org.ANCHOR`), never the clock. Seeding appends: new businesses take ids
after the existing ones, and the identity sequences are moved past them at the end.

Loading is COPY in chunks of 50,000 expenses with their events and receipts, the next
chunk generated in a worker thread while Postgres ingests the current one, all in one
transaction, so a failed run leaves nothing behind. Other writers of the seeded tables
wait until it commits. When a run adds more expenses than the table already holds, the
secondary indexes and foreign keys of expenses, expense_events and receipts are dropped
first and rebuilt and re-validated before the commit (readers of those tables then wait
too): several times faster than maintaining ten indexes and six key checks per row.
The spend rollups' insert trigger is paused likewise and the new businesses' rollups
built with one grouped INSERT at the end.
200 businesses and 1,000,000 expenses (3.5M events, 0.86M receipts) take about 65
seconds on two cores against the embedded server.
"""

import asyncio
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import timedelta
from random import Random
from typing import Any

from tqdm import tqdm

from db.roles import Role
from devdata import catalogues, load
from devdata.expenses import (
    EVENT_COLUMNS,
    EXPENSE_COLUMNS,
    RECEIPT_COLUMNS,
    Chunk,
    ExpenseFactory,
)
from devdata.fx import seed_fx_rates
from devdata.org import (
    ANCHOR,
    COLUMNS,
    WINDOW_START,
    BusinessSpec,
    Ids,
    OrgBuilder,
    OrgRows,
    plan_businesses,
    slug,
)
from devdata.roster import Roster, make_roster

__all__ = ["SeedReport", "seed", "seed_fx_rates"]

CHUNK_EXPENSES = 50_000


@dataclass(frozen=True)
class SeedReport:
    """What one seeding run added, and how long it took."""

    businesses: int
    teams: int
    members: int
    cards: int
    categories: int
    policies: int
    expenses: int
    expense_events: int
    receipts: int
    fx_rates: int
    elapsed_s: float
    business_ids: tuple[int, ...] = field(repr=False)  # largest tenant first

    def summary(self) -> str:
        """Return a one-paragraph account of the run for the command line."""
        return (
            f"Seeded {self.businesses:,} businesses, {self.expenses:,} expenses, "
            f"{self.expense_events:,} events, {self.receipts:,} receipts, {self.members:,} members, "
            f"{self.cards:,} cards, {self.teams:,} teams and {self.fx_rates:,} FX rates "
            f"in {self.elapsed_s:.1f} s. Largest business: id {self.business_ids[0]}."
        )


async def seed(
    *, url: str, businesses: int, expenses: int, seed: int, progress: bool = True
) -> SeedReport:
    """Return a report after adding ``businesses`` with ``expenses`` between them."""
    if businesses < 1 or expenses < 0:
        raise ValueError("seed needs at least one business and a non-negative expense count")
    started = time.perf_counter()
    conn = await load.connect(url)
    try:
        async with conn.transaction():
            report = await _seed(
                conn, businesses=businesses, expenses=expenses, seed=seed, progress=progress
            )
        await load.analyze(conn)
    finally:
        await conn.close()
    return replace(report, elapsed_s=time.perf_counter() - started)


async def _seed(
    conn: Any, *, businesses: int, expenses: int, seed: int, progress: bool
) -> SeedReport:
    await load.lock_tables(conn)
    end = ANCHOR.date() - timedelta(days=1)
    fx = await seed_fx_rates(conn, start=WINDOW_START.date(), end=end, seed=seed)
    ids = Ids(await load.next_ids(conn))
    specs = plan_businesses(businesses=businesses, expenses=expenses, seed=seed)
    org = OrgRows()
    rosters = [build_business(org, ids, s, Random(f"org:{seed}:{i}")) for i, s in enumerate(specs)]
    await load_org(conn, org)
    factories = []
    for i, (roster, spec) in enumerate(zip(rosters, specs, strict=True)):
        rng = Random(f"expenses:{seed}:{i}")
        factories.append((ExpenseFactory(roster=roster, fx=fx, ids=ids, rng=rng), spec.expenses))
    # A load that outgrows the table is cheaper with indexes built and keys checked once.
    bulk = await load.row_count(conn, "expenses") < expenses
    restore = await load.relax_bulk_tables(conn) if bulk else []
    await load.pause_rollups(conn)
    counts = await load_expenses(conn, factories, progress=progress)
    for statement in tqdm(restore, "indexes and keys", **bar_options(progress)):
        await conn.execute(statement)
    await load.rebuild_rollups(conn, [roster.business_id for roster in rosters])
    await load.move_sequences(conn)
    return SeedReport(
        **{table: len(rows) for table, rows in org.tables.items()},
        **counts,
        fx_rates=fx.inserted,
        elapsed_s=0.0,
        business_ids=tuple(roster.business_id for roster in rosters),
    )


def build_business(org: OrgRows, ids: Ids, spec: BusinessSpec, rng: Random) -> Roster:
    """Return the roster of a new business with teams, staff, cards, categories, policies."""
    builder = OrgBuilder(org, ids, rng, spec)
    headcount = min(2500, max(6, spec.expenses // 150))
    team_ids = builder.teams(rng.sample(catalogues.TEAM_NAMES, min(30, max(2, headcount // 12))))
    roles: list[tuple[str, int | None]] = [(Role.ADMIN, None)] * (1 + headcount // 800)
    roles += [(Role.FINANCE, None)] * (1 + headcount // 150)
    roles += [(Role.MANAGER, team_id) for team_id in team_ids]
    team_sizes = [rng.paretovariate(1.5) for _ in team_ids]
    roles += [
        (Role.EMPLOYEE, t) for t in rng.choices(team_ids, team_sizes, k=headcount - len(roles))
    ]
    members = builder.staff(roles, domain=f"{slug(spec.name)}-{builder.business_id}.example")
    names = [c.name for c in catalogues.CATEGORIES]
    if spec.expenses < 5000:  # small businesses do not bother with every category
        for name in rng.sample(names[5:], rng.randint(0, 3)):
            names.remove(name)
    return make_roster(builder, members, names)


async def load_org(conn: Any, org: OrgRows) -> None:
    """COPY the organisation rows, parents first, then link teams to their managers."""
    for table in ("businesses", "teams", "members", "categories", "cards", "policies"):
        await load.copy_rows(conn, table, COLUMNS[table], org.tables[table])
    await load.link_managers(conn, org.managers)


async def copy_chunk(conn: Any, chunk: Chunk) -> None:
    """COPY a chunk's expenses, then the events and receipts that reference them."""
    await load.copy_rows(conn, "expenses", EXPENSE_COLUMNS, chunk.expenses)
    await load.copy_rows(conn, "expense_events", EVENT_COLUMNS, chunk.events)
    await load.copy_rows(conn, "receipts", RECEIPT_COLUMNS, chunk.receipts)


def bar_options(progress: bool) -> dict[str, Any]:
    """Return tqdm options: on stderr, and off unless ``progress``."""
    return {"file": sys.stderr, "disable": not progress, "dynamic_ncols": True}


def chunks(factories: list[tuple[ExpenseFactory, int]], size: int) -> Iterator[Chunk]:
    """Yield chunks of about ``size`` expenses, business after business."""
    chunk, room = Chunk(), size
    for factory, count in factories:
        while count:
            part = min(count, room)
            factory.make(part, chunk)
            count, room = count - part, room - part
            if not room:
                yield chunk
                chunk, room = Chunk(), size
    if chunk.expenses:
        yield chunk


async def load_expenses(
    conn: Any, factories: list[tuple[ExpenseFactory, int]], *, progress: bool
) -> dict[str, int]:
    """Return row counts after generating and COPYing every factory's expenses."""
    counts = {"expenses": 0, "expense_events": 0, "receipts": 0}
    total = sum(count for _, count in factories)
    source = chunks(factories, CHUNK_EXPENSES)
    bar = tqdm(total=total, unit="expense", **bar_options(progress))
    # The next chunk is generated in a thread while Postgres ingests the current one.
    upcoming = asyncio.ensure_future(asyncio.to_thread(next, source, None))
    try:
        while (chunk := await upcoming) is not None:
            upcoming = asyncio.ensure_future(asyncio.to_thread(next, source, None))
            await copy_chunk(conn, chunk)
            counts["expenses"] += len(chunk.expenses)
            counts["expense_events"] += len(chunk.events)
            counts["receipts"] += len(chunk.receipts)
            bar.update(len(chunk.expenses))
    finally:
        # a thread cannot be cancelled: let it finish; its chunk no longer matters
        await asyncio.gather(upcoming, return_exceptions=True)
        bar.close()
    return counts
