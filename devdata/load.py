"""Bulk loading for the seed generator: plain asyncpg connections, COPY, id sequences."""

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from devdata.org import PG_EPOCH, pg_micros

# Tables that get ids from the seed, parents before children.
ID_TABLES = (
    "businesses", "teams", "members", "categories", "cards", "policies", "expenses",
    "expense_events", "receipts",
)  # fmt: skip
BULK_TABLES = ("expenses", "expense_events", "receipts")


def asyncpg_dsn(url: str) -> str:
    """Return ``url`` (any SQLAlchemy Postgres URL) as a DSN for ``asyncpg.connect``.

    Query parameters are kept: asyncpg reads ``host=/socket/dir`` like libpq does.
    """
    parsed = make_url(url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


async def connect(url: str) -> Any:
    """Return an asyncpg connection tuned for loading.

    Its timestamptz values are datetimes or integer microseconds since 2000-01-01 UTC.
    """
    conn = await asyncpg.connect(
        asyncpg_dsn(url),
        server_settings={
            "application_name": "expensegraph-seed",
            # a lost seed after a crash is simply run again
            "synchronous_commit": "off",
            # memory for the index builds and key checks at the end of a bulk load
            "work_mem": "256MB",
            "maintenance_work_mem": "512MB",
        },
    )
    # Generated rows carry instants as Postgres' own integer microseconds.
    await conn.set_type_codec(
        "timestamptz",
        schema="pg_catalog",
        encoder=_encode_instant,
        decoder=_decode_instant,
        format="tuple",
    )
    return conn


def _encode_instant(value: int | datetime) -> tuple[int]:
    return (value if isinstance(value, int) else pg_micros(value),)


def _decode_instant(value: tuple[int]) -> datetime:
    return PG_EPOCH + timedelta(microseconds=value[0])


async def lock_tables(conn: Any) -> None:
    """Block other writers of the seeded tables until the transaction ends (ids are ours)."""
    await conn.execute(f"LOCK TABLE {', '.join(ID_TABLES)} IN SHARE ROW EXCLUSIVE MODE")


async def next_ids(conn: Any) -> dict[str, int]:
    """Return the first free id of every seeded table (past both rows and sequence)."""
    starts = {}
    for table in ID_TABLES:
        starts[table] = await conn.fetchval(
            "SELECT greatest(coalesce(max(id), 0),"
            f" coalesce(pg_sequence_last_value(pg_get_serial_sequence('{table}', 'id')), 0))"
            f" + 1 FROM {table}"
        )
    return starts


async def copy_rows(
    conn: Any, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """COPY ``rows`` into ``table``."""
    if rows:
        await conn.copy_records_to_table(table, records=rows, columns=list(columns))


async def link_managers(conn: Any, links: Sequence[tuple[int, int, int]]) -> None:
    """Set ``teams.manager_id`` from (business_id, team_id, manager_id) triples."""
    if not links:
        return
    business_ids, team_ids, manager_ids = (list(column) for column in zip(*links, strict=True))
    await conn.execute(
        "UPDATE teams SET manager_id = u.manager_id"
        " FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS u(business_id, id, manager_id)"
        " WHERE teams.business_id = u.business_id AND teams.id = u.id",
        business_ids,
        team_ids,
        manager_ids,
    )


async def move_sequences(conn: Any) -> None:
    """Move each identity sequence past the largest id so later INSERTs do not collide."""
    for table in ID_TABLES:
        await conn.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}"
            " HAVING max(id) IS NOT NULL"
        )


async def row_count(conn: Any, table: str) -> int:
    """Return the number of rows in ``table``."""
    count: int = await conn.fetchval(f"SELECT count(*) FROM {table}")
    return count


async def analyze(conn: Any) -> None:
    """Refresh planner statistics of every seeded table."""
    await conn.execute(f"ANALYZE {', '.join(ID_TABLES)}, fx_rates")


async def relax_bulk_tables(conn: Any) -> list[str]:
    """Drop the secondary indexes and foreign keys of the bulk tables; return how to restore.

    Maintaining ten indexes (one GIN) and six foreign-key checks per expense row costs
    far more than building the indexes once and validating each key with one query.
    Run it inside the loading transaction: on failure the rollback restores everything.
    """
    tables = list(BULK_TABLES)
    keys = await conn.fetch(
        "SELECT format('ALTER TABLE %s DROP CONSTRAINT %I', conrelid::regclass, conname),"
        " format('ALTER TABLE %s ADD CONSTRAINT %I %s', conrelid::regclass, conname,"
        " pg_get_constraintdef(oid))"
        " FROM pg_constraint WHERE contype = 'f' AND conrelid = ANY($1::text[]::regclass[])"
        " ORDER BY conrelid, conname",
        tables,
    )
    indexes = await conn.fetch(
        "SELECT format('DROP INDEX %s', i.indexrelid::regclass), pg_get_indexdef(i.indexrelid)"
        " FROM pg_index i WHERE i.indrelid = ANY($1::text[]::regclass[])"
        " AND NOT EXISTS (SELECT FROM pg_constraint c WHERE c.conindid = i.indexrelid)"
        " ORDER BY i.indrelid, i.indexrelid",
        tables,
    )
    for drop, _ in [*keys, *indexes]:
        await conn.execute(drop)
    return [create for _, create in [*indexes, *keys]]


async def pause_rollups(conn: Any) -> None:
    """Stop the spend rollups' insert trigger (alembic 0002) until the transaction ends.

    It upserts every COPY's keys, and a seeded day barely compresses, so a bulk load
    would pay for each key about once per row; :func:`rebuild_rollups` adds them all in
    one grouped INSERT instead, about three times cheaper. Only new businesses are
    seeded, so rebuilding theirs is the whole change; the lock of :func:`lock_tables`
    keeps other writers out meanwhile.
    """
    await conn.execute("ALTER TABLE expenses DISABLE TRIGGER trg_expenses_totals_insert")


async def rebuild_rollups(conn: Any, business_ids: Sequence[int]) -> None:
    """Rebuild the spend rollups of ``business_ids`` from their expenses; resume the trigger."""
    await conn.execute("SELECT expense_totals_rebuild($1::bigint[])", list(business_ids))
    await conn.execute("ALTER TABLE expenses ENABLE TRIGGER trg_expenses_totals_insert")
