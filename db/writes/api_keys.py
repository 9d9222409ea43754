"""Writes of the API key mutations. Run inside RequestDb.savepoint(); nothing here commits."""

from collections.abc import Sequence
from typing import cast

from sqlalchemy import func, insert, select, update

from db.engine import RequestDb
from db.rows import ApiKeyRow
from db.tables.api import api_keys


async def insert_api_key(
    *,
    db: RequestDb,
    business_id: int,
    name: str,
    prefix: str,
    secret_hash: bytes,
    scopes: list[str],
    created_by: int | None,
) -> ApiKeyRow:
    """Store a new API key (its hash, never the key) and return the row."""
    statement = (
        insert(api_keys)
        .values(
            business_id=business_id, name=name, prefix=prefix, secret_hash=secret_hash,
            scopes=scopes, created_by=created_by,
        )
        .returning(*api_keys.c)
    )  # fmt: skip
    return cast(ApiKeyRow, (await db.rows(statement))[0])


async def locked_api_key(*, db: RequestDb, business_id: int, key_id: int) -> ApiKeyRow | None:
    """Return an API key of the business locked until the transaction ends, or None."""
    statement = (
        select(api_keys)
        .where(api_keys.c.business_id == business_id, api_keys.c.id == key_id)
        .with_for_update()
    )
    rows = await db.rows(statement)
    return cast(ApiKeyRow, rows[0]) if rows else None


async def revoke_api_key(*, db: RequestDb, business_id: int, key_id: int) -> ApiKeyRow:
    """Set ``revoked_at`` of a locked key to now and return it."""
    statement = (
        update(api_keys)
        .where(api_keys.c.business_id == business_id, api_keys.c.id == key_id)
        .values(revoked_at=func.clock_timestamp())
        .returning(*api_keys.c)
    )
    return cast(ApiKeyRow, (await db.rows(statement))[0])


async def revoke_live_api_keys_named(
    *, db: RequestDb, business_id: int, name: str
) -> Sequence[ApiKeyRow]:
    """Set ``revoked_at`` of the business's unrevoked keys called ``name`` to now; return them."""
    statement = (
        update(api_keys)
        .where(
            api_keys.c.business_id == business_id,
            api_keys.c.name == name,
            api_keys.c.revoked_at.is_(None),
        )
        .values(revoked_at=func.clock_timestamp())
        .returning(*api_keys.c)
    )
    return cast("Sequence[ApiKeyRow]", await db.rows(statement))
