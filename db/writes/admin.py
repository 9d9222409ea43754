"""Administrative writes and lookups used by the CLI (outside any GraphQL request)."""

from collections.abc import Sequence
from typing import cast

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from db.rows import MemberRow
from db.tables.api import api_keys
from db.tables.org import businesses, members


async def insert_api_key(
    *,
    engine: AsyncEngine,
    business_id: int,
    name: str,
    prefix: str,
    secret_hash: bytes,
    scopes: list[str],
) -> bool:
    """Store a new API key; return False when the business does not exist."""
    async with engine.begin() as conn:
        exists = await conn.scalar(select(businesses.c.id).where(businesses.c.id == business_id))
        if exists is None:
            return False
        await conn.execute(
            insert(api_keys).values(
                business_id=business_id, name=name, prefix=prefix,
                secret_hash=secret_hash, scopes=scopes,
            )
        )  # fmt: skip
    return True


async def members_by_email(
    *, engine: AsyncEngine, email: str, business_id: int | None
) -> list[MemberRow]:
    """Return the members with ``email``, in one business or all."""
    statement = select(members).where(members.c.email == email.strip().lower())
    if business_id is not None:
        statement = statement.where(members.c.business_id == business_id)
    async with engine.connect() as conn:
        return list(cast("Sequence[MemberRow]", (await conn.execute(statement)).all()))
