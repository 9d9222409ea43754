"""Stored responses of mutations sent with an Idempotency-Key (Stripe semantics)."""

from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import delete, func, insert, select, text

from db.engine import RequestDb
from db.rows import IdempotencyKeyRow
from db.tables.api import idempotency_keys


@dataclass(frozen=True)
class KeyScope:
    """An Idempotency-Key as scoped: per business and per credential."""

    business_id: int
    principal: str
    key: str


# Keys are honoured for at least this long.
RETENTION = "24 hours"


async def try_lock(*, db: RequestDb, scope: KeyScope) -> bool:
    """Take the key's transaction-scoped advisory lock; False when another request holds it."""
    statement = text(
        "SELECT pg_try_advisory_xact_lock(hashtextextended(:scope, 0)) AS locked"
    ).bindparams(scope=f"{scope.business_id}\x1f{scope.principal}\x1f{scope.key}")
    return bool((await db.rows(statement))[0].locked)


async def stored(*, db: RequestDb, scope: KeyScope) -> IdempotencyKeyRow | None:
    """Return the live stored response for the key, after dropping an expired one."""
    where = (
        idempotency_keys.c.business_id == scope.business_id,
        idempotency_keys.c.principal == scope.principal,
        idempotency_keys.c.key == scope.key,
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
    *, db: RequestDb, scope: KeyScope, request_hash: str, response: dict[str, Any]
) -> None:
    """Store the response in the request's write transaction (it commits with the writes)."""
    await db.rows(
        insert(idempotency_keys)
        .values(
            business_id=scope.business_id,
            principal=scope.principal,
            key=scope.key,
            request_hash=request_hash,
            response=response,
        )
        .returning(idempotency_keys.c.key)
    )
