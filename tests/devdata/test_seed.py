"""The seed generator and the demo data, against a real Postgres.

Runs on its own embedded server in a temporary directory (or on the server of
``TEST_DATABASE_URL``), one fresh, migrated database per scenario.
"""

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date
from decimal import Decimal
from random import Random
from typing import Any

import asyncpg
import pytest

from db import migrate
from db.embedded import ensure_database, start_server
from db.money import MINOR_UNITS
from db.roles import Role
from devdata.demo import seed_demo
from devdata.fx import FxTable, convert_minor, fx_walk, half_even_div
from devdata.load import ID_TABLES, asyncpg_dsn
from devdata.org import tenant_sizes
from devdata.seed import seed

STATUSES = {"DRAFT", "SUBMITTED", "APPROVED", "REJECTED", "REIMBURSED"}
# Each query counts rows that break a rule the seeded data promises.
VIOLATIONS = {
    "home amount is not amount * stored rate, half-even, in home minor units": """
        WITH mu(code, digits) AS (SELECT * FROM unnest($1::text[], $2::int[])),
        x AS (
            SELECT e.home_amount_minor AS home, e.amount_minor * f.rate
                   * power(10::numeric, h.digits - c.digits) AS exact
            FROM expenses e
            JOIN mu c ON c.code = e.currency
            JOIN mu h ON h.code = e.home_currency
            LEFT JOIN fx_rates f ON (f.currency, f.quote_currency, f.day, f.rate)
                = (e.currency, e.home_currency, e.fx_rate_day, e.fx_rate)
        )
        SELECT count(*) FROM x WHERE exact IS NULL OR NOT (
            abs(exact - home) < 0.5 OR (abs(exact - home) = 0.5 AND home % 2 = 0))""",
    "home currency differs from the business's": """
        SELECT count(*) FROM expenses e JOIN businesses b ON b.id = e.business_id
        WHERE e.home_currency <> b.home_currency""",
    "decided by the submitter or by an employee": """
        SELECT count(*) FROM expenses e JOIN members m
            ON (m.business_id, m.id) = (e.business_id, e.decided_by)
        WHERE e.decided_by = e.member_id OR m.role = 'EMPLOYEE'""",
    "decision fields do not match the status": """
        SELECT count(*) FROM expenses WHERE
            (submitted_at IS NULL) <> (status = 'DRAFT')
            OR (decided_at IS NULL) <> (status IN ('DRAFT', 'SUBMITTED'))
            OR (decided_by IS NULL) <> (decided_at IS NULL)
            OR (reimbursed_at IS NOT NULL) <> (status = 'REIMBURSED')
            OR (exported_at IS NOT NULL AND status NOT IN ('APPROVED', 'REIMBURSED'))
            OR (deleted_at IS NOT NULL AND status <> 'DRAFT')""",
    "reimbursed card spend": "SELECT count(*) FROM expenses WHERE status = 'REIMBURSED' AND card_id IS NOT NULL",
    "timestamps out of order": """
        SELECT count(*) FROM expenses WHERE created_at < spent_at
            OR submitted_at < created_at OR decided_at < submitted_at
            OR reimbursed_at < decided_at OR updated_at < greatest(created_at, submitted_at,
               decided_at, reimbursed_at, exported_at, deleted_at)
            OR updated_at > '2026-11-01'""",
    "team or card is not the member's": """
        SELECT count(*) FROM expenses e
        JOIN members m ON (m.business_id, m.id) = (e.business_id, e.member_id)
        LEFT JOIN cards c ON (c.business_id, c.id) = (e.business_id, e.card_id)
        WHERE e.team_id IS DISTINCT FROM m.team_id
           OR (e.card_id IS NOT NULL AND c.holder_id <> e.member_id)""",
    "events do not tell the status history": """
        SELECT count(*) FROM expenses e WHERE
            (SELECT count(*) FROM expense_events v WHERE (v.business_id, v.expense_id)
                = (e.business_id, e.id) AND v.action IN ('CREATED', 'SUBMITTED', 'APPROVED',
                'REJECTED', 'REIMBURSED'))
            <> 1 + (e.submitted_at IS NOT NULL)::int + (e.decided_at IS NOT NULL)::int
               + (e.reimbursed_at IS NOT NULL)::int""",
    "receipt storage key is not seed/<business>/<sha256>": """
        SELECT count(*) FROM receipts
        WHERE storage_key <> 'seed/' || business_id || '/' || sha256""",
    "business without an admin and a finance member": """
        SELECT count(*) FROM businesses b WHERE NOT EXISTS (SELECT FROM members m
            WHERE m.business_id = b.id AND m.role = 'ADMIN') OR NOT EXISTS (SELECT FROM members m
            WHERE m.business_id = b.id AND m.role = 'FINANCE')""",
    "team manager is not a MANAGER of that team": """
        SELECT count(*) FROM teams t LEFT JOIN members m
            ON (m.business_id, m.id) = (t.business_id, t.manager_id)
        WHERE m.role IS DISTINCT FROM 'MANAGER' OR m.team_id IS DISTINCT FROM t.id""",
    "email used twice": "SELECT count(*) - count(DISTINCT email) FROM members",
}


@pytest.fixture(scope="module")
async def seed_server_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Return the URL of a server to create test databases on."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    return await asyncio.to_thread(start_server, tmp_path_factory.mktemp("seedpg"))


@pytest.fixture(scope="module")
async def new_db(seed_server_url: str) -> AsyncIterator[Callable[[], Awaitable[str]]]:
    """Yield a maker of fresh migrated databases, all dropped after the module."""
    names: list[str] = []

    async def make() -> str:
        names.append(f"seedtest_{uuid.uuid4().hex[:10]}")
        url = await ensure_database(seed_server_url, names[-1])
        await asyncio.to_thread(migrate.upgrade, url)
        return url

    yield make
    admin = await asyncpg.connect(asyncpg_dsn(seed_server_url))
    try:
        for name in names:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(scope="module")
async def seeded(new_db: Callable[[], Awaitable[str]]) -> str:
    """Return the URL of a database seeded with 3 businesses and 2,000 expenses."""
    url = await new_db()
    await seed(url=url, businesses=3, expenses=2000, seed=11, progress=False)
    return url


async def fetchval(url: str, query: str, *args: Any) -> Any:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        return await conn.fetchval(query, *args)
    finally:
        await conn.close()


async def violations(url: str) -> dict[str, int]:
    codes, digits = list(MINOR_UNITS), list(MINOR_UNITS.values())
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        found = {}
        for rule, query in VIOLATIONS.items():
            args = (codes, digits) if "$1" in query else ()
            found[rule] = await conn.fetchval(query, *args)
        return {rule: count for rule, count in found.items() if count}
    finally:
        await conn.close()


async def digest(url: str) -> str:
    """Return one hash over the rows of every seeded table."""
    parts = [
        f"(SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM {table} t)"
        for table in (*ID_TABLES, "fx_rates")
    ]
    return await fetchval(url, f"SELECT md5(concat({', '.join(parts)}))")


async def test_same_seed_gives_same_rows(new_db: Callable[[], Awaitable[str]]) -> None:
    url = await new_db()
    first = await seed(url=url, businesses=3, expenses=2000, seed=7, progress=False)
    before = await digest(url)
    tables = ", ".join(ID_TABLES)
    await fetchval(url, f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    second = await seed(url=url, businesses=3, expenses=2000, seed=7, progress=False)
    assert await digest(url) == before
    assert (first.expenses, first.expense_events, first.receipts) == (
        second.expenses,
        second.expense_events,
        second.receipts,
    )
    await fetchval(url, f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    await seed(url=url, businesses=3, expenses=2000, seed=8, progress=False)
    assert await digest(url) != before


async def test_seeded_rows_keep_their_promises(seeded: str) -> None:
    assert await violations(seeded) == {}


async def test_seeded_data_is_varied_and_skewed(seeded: str) -> None:
    statuses = await fetchval(seeded, "SELECT array_agg(DISTINCT status) FROM expenses")
    currencies = await fetchval(seeded, "SELECT count(DISTINCT currency) FROM expenses")
    sizes = await fetchval(
        seeded,
        "SELECT array_agg(n ORDER BY n) FROM (SELECT count(*) AS n FROM expenses"
        " GROUP BY business_id) AS s",
    )
    out_of_pocket = await fetchval(seeded, "SELECT avg((card_id IS NULL)::int) FROM expenses")
    assert set(statuses) == STATUSES
    assert currencies >= 3
    assert sum(sizes) == 2000
    assert sizes[-1] > 3 * sizes[len(sizes) // 2]
    assert Decimal("0.15") < out_of_pocket < Decimal("0.35")


async def test_appending_moves_the_sequences(new_db: Callable[[], Awaitable[str]]) -> None:
    url = await new_db()
    await seed_demo(url=url)
    await seed(url=url, businesses=3, expenses=2000, seed=5, progress=False)
    # smaller than what is there: loaded with indexes and keys maintained
    report = await seed(url=url, businesses=2, expenses=300, seed=6, progress=False)
    assert report.expenses == 300 and len(report.business_ids) == 2
    assert await fetchval(url, "SELECT count(*) FROM businesses") == 7
    assert await violations(url) == {}
    for table in ID_TABLES:
        largest = await fetchval(url, f"SELECT max(id) FROM {table}")
        sequence = await fetchval(url, f"SELECT nextval(pg_get_serial_sequence('{table}', 'id'))")
        assert sequence > largest, table


async def test_demo_is_idempotent(new_db: Callable[[], Awaitable[str]]) -> None:
    url = await new_db()
    first = await seed_demo(url=url)
    again = await seed_demo(url=url)
    assert first.created and not again.created
    assert first.business_ids == again.business_ids and first.acme == again.acme
    assert await fetchval(url, "SELECT count(*) FROM businesses") == 2
    assert first.acme.emails == {
        Role.ADMIN: "admin@acme.example",
        Role.FINANCE: "finance@acme.example",
        Role.MANAGER: "manager@acme.example",
        Role.EMPLOYEE: "employee@acme.example",
    }
    member_id, email = first.globex.members[Role.EMPLOYEE]
    assert email == "employee@globex.example"
    query = "SELECT email FROM members WHERE (business_id, id) = ($1, $2)"
    assert await fetchval(url, query, first.globex.business_id, member_id) == email
    homes = await fetchval(url, "SELECT array_agg(home_currency ORDER BY id) FROM businesses")
    assert homes == ["GBP", "USD"]
    for business_id in first.business_ids:
        currencies = await fetchval(
            url,
            "SELECT array_agg(DISTINCT currency) FROM expenses WHERE business_id = $1",
            business_id,
        )
        assert {"JPY", "BHD"} <= set(currencies)
    manager = await fetchval(
        url,
        "SELECT email FROM members m JOIN teams t ON (t.business_id, t.manager_id)"
        " = (m.business_id, m.id) WHERE t.business_id = $1 AND t.name = 'Sales'",
        first.acme.business_id,
    )
    assert manager == "manager@acme.example"
    assert await violations(url) == {}


def test_conversion_is_exact_half_even() -> None:
    assert [half_even_div(n, 2) for n in (5, 7, 3, -5)] == [2, 4, 2, -2]
    walk = fx_walk(start=date(2026, 1, 1), end=date(2026, 1, 3), seed=1)
    assert walk["JPY", "JPY"] == [1, 1, 1] and len(walk) == 49
    fx = FxTable.from_rows(
        start=date(2026, 1, 1),
        end=date(2026, 1, 3),
        inserted=0,
        rows=[
            (c, q, date(2026, 1, 1 + i), r) for (c, q), v in walk.items() for i, r in enumerate(v)
        ],
    )
    rng = Random(3)
    for _ in range(3000):
        currency, quote = rng.choice(list(walk))
        amount, day = rng.randrange(1, 10**9), rng.randrange(3)
        converted, rate = fx.convert(amount, currency, quote, day)
        assert rate == walk[currency, quote][day]
        assert converted == convert_minor(amount, currency, quote, rate)
    # BHD has three decimals, JPY none: 1.000 BHD at 397.5 JPY rounds to even
    assert convert_minor(1000, "BHD", "JPY", Decimal("397.5")) == 398
    assert convert_minor(1000, "BHD", "JPY", Decimal("396.5")) == 396
    assert convert_minor(1, "JPY", "BHD", Decimal("0.0025")) == 2


def test_tenant_sizes_are_skewed() -> None:
    sizes = tenant_sizes(200, 1_000_000)
    assert sum(sizes) == 1_000_000 and sizes == sorted(sizes, reverse=True)
    assert 0.30 < sizes[0] / 1_000_000 < 0.40
    small = tenant_sizes(3, 2000)
    assert small[0] > 3 * small[1]
