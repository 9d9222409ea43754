"""Writes of the API key mutations. Run inside RequestDb.savepoint(); nothing here commits."""

from collections.abc import Sequence
from typing import cast

from sqlalchemy import func, update

from db.engine import RequestDb
from db.locks import locked_row
from db.rows import ApiKeyRow
from db.tables.api import api_keys
from db.writes.rows import insert_row, update_row


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
    values = {
        "name": name, "prefix": prefix, "secret_hash": secret_hash, "scopes": scopes,
        "created_by": created_by,
    }  # fmt: skip
    return cast(
        ApiKeyRow, await insert_row(db=db, table=api_keys, business_id=business_id, values=values)
    )


async def locked_api_key(*, db: RequestDb, business_id: int, key_id: int) -> ApiKeyRow | None:
    """Return an API key of the business locked until the transaction ends, or None."""
    return await locked_row(db=db, table=api_keys, business_id=business_id, row_id=key_id)


async def revoke_api_key(*, db: RequestDb, business_id: int, key_id: int) -> ApiKeyRow:
    """Set ``revoked_at`` of a locked key to now and return it."""
    return cast(ApiKeyRow, await update_row(
        db=db, table=api_keys, business_id=business_id, row_id=key_id,
        values={"revoked_at": func.clock_timestamp()},
    ))  # fmt: skip


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
