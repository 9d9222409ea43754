"""Rows and the audit trail of a test module's own business, read back in plain SQL: what
the category, policy and card-issuing tests check after a mutation.
"""

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.graphql.mutations_catalog.helpers_orgs import KEY_SCOPES, Org
from tests.world import Biz


async def scalar(engine: AsyncEngine, sql: str, **params: Any) -> Any:
    """Return the one value of a SQL query."""
    async with engine.connect() as conn:
        return (await conn.execute(text(sql), params)).scalar_one()


async def rows(engine: AsyncEngine, sql: str, **params: Any) -> list[Any]:
    """Return every row of a SQL query."""
    async with engine.connect() as conn:
        return list((await conn.execute(text(sql), params)).all())


async def audit_trail(engine: AsyncEngine, biz: Biz, object_type: str, object_id: int) -> list[Any]:
    """Return (action, actor_member_id, actor_api_key_id, details) of an object, oldest first."""
    return await rows(
        engine,
        "SELECT action, actor_member_id, actor_api_key_id, details FROM audit_events"
        " WHERE business_id = :b AND object_type = :t AND object_id = :o ORDER BY at, id",
        b=biz.id, t=object_type, o=object_id,
    )  # fmt: skip


async def stored_row(engine: AsyncEngine, table: str, columns: str, row_id: int) -> tuple[Any, ...]:
    """Return ``columns`` of the row ``row_id`` of ``table`` as stored."""
    (row,) = await rows(engine, f"SELECT {columns} FROM {table} WHERE id = :i", i=row_id)
    return tuple(row)


async def census(engine: AsyncEngine, org: Org, table: str, columns: str = "*") -> tuple[Any, int]:
    """Return every row of ``table`` in the business as stored, and its number of audit events."""
    stored = await rows(
        engine, f"SELECT {columns} FROM {table} WHERE business_id = :b ORDER BY id", b=org.biz.id
    )
    return stored, await audit_count(engine, org.biz)


async def audit_count(engine: AsyncEngine, biz: Biz) -> int:
    """Return how many audit events the business has."""
    return int(
        await scalar(engine, "SELECT count(*) FROM audit_events WHERE business_id = :b", b=biz.id)
    )


async def key_id(engine: AsyncEngine, biz: Biz, key: str) -> int:
    """Return the row id of one of the org's API keys (named after its scopes)."""
    name = "+".join(KEY_SCOPES[key])
    return int(
        await scalar(
            engine, "SELECT id FROM api_keys WHERE business_id = :b AND name = :n", b=biz.id, n=name
        )
    )


async def actor_ids(engine: AsyncEngine, org: Org, who: str) -> tuple[int | None, int | None]:
    """Return (member id, API key id) expected as the audit actor of ``who``."""
    if who.startswith("key:"):
        return None, await key_id(engine, org.biz, who[4:])
    return org.biz.members[who], None


async def check_last_actor(engine: AsyncEngine, org: Org, object_type: str, who: str) -> None:
    """Check that the business's latest audit event on ``object_type`` was done by ``who``."""
    (event,) = await rows(
        engine, "SELECT actor_member_id, actor_api_key_id FROM audit_events"
        " WHERE business_id = :b AND object_type = :t ORDER BY id DESC LIMIT 1",
        b=org.biz.id, t=object_type,
    )  # fmt: skip
    assert tuple(event) == await actor_ids(engine, org, who)
