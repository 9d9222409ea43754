"""Stored responses of mutations sent with an Idempotency-Key (Stripe semantics)."""

from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import delete, func, insert, select, text

from db.engine import RequestDb
from db.rows import IdempotencyKeyRow
from db.tables.api import idempotency_keys


@dataclass(frozen=True)
class KeyId:
    """Which stored key a request's Idempotency-Key is: the client's key, under its business
    and its credential (two credentials may send the same key)."""

    business_id: int
    principal: str
    key: str


# Keys are honoured for at least this long.
RETENTION = "24 hours"


async def try_lock(*, db: RequestDb, key_id: KeyId) -> bool:
    """Take the key's transaction-scoped advisory lock; False when another request holds it."""
    statement = text(
        "SELECT pg_try_advisory_xact_lock(hashtextextended(:key_id, 0)) AS locked"
    ).bindparams(key_id=f"{key_id.business_id}\x1f{key_id.principal}\x1f{key_id.key}")
    return bool((await db.rows(statement))[0].locked)


async def stored(*, db: RequestDb, key_id: KeyId) -> IdempotencyKeyRow | None:
    """Return the live stored response for the key, after dropping an expired one."""
    where = (
        idempotency_keys.c.business_id == key_id.business_id,
        idempotency_keys.c.principal == key_id.principal,
        idempotency_keys.c.key == key_id.key,
    )
    expired = func.now() - text(f"interval '{RETENTION}'")
    await db.rows(
        delete(idempotency_keys)
        .where(*where, idempotency_keys.c.created_at < expired)
        .returning(idempotency_keys.c.key)
    )
    rows = await db.rows(select(idempotency_keys).where(*where))
    return cast(IdempotencyKeyRow, rows[0]) if rows else None


async def store(
    *, db: RequestDb, key_id: KeyId, request_hash: str, response: dict[str, Any]
) -> None:
    """Store the response in the request's write transaction (it commits with the writes)."""
    await db.rows(
        insert(idempotency_keys)
        .values(
            business_id=key_id.business_id,
            principal=key_id.principal,
            key=key_id.key,
            request_hash=request_hash,
            response=response,
        )
        .returning(idempotency_keys.c.key)
    )
