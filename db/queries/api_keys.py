"""Reads of a business's API keys, for the CLI: what each key is, never its hash."""

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, cast

from sqlalchemy import select

from db.engine import RequestDb
from db.tables.api import api_keys

LISTED_COLUMNS = (
    api_keys.c.id,
    api_keys.c.name,
    api_keys.c.prefix,
    api_keys.c.scopes,
    api_keys.c.created_at,
    api_keys.c.last_used_at,
    api_keys.c.revoked_at,
)


class ListedApiKeyRow(Protocol):
    """An API key as listed: the columns of :data:`LISTED_COLUMNS`."""

    id: int
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


async def api_keys_of(*, db: RequestDb, business_id: int) -> Sequence[ListedApiKeyRow]:
    """Return the business's API keys without their hashes, oldest first."""
    statement = (
        select(*LISTED_COLUMNS).where(api_keys.c.business_id == business_id).order_by(api_keys.c.id)
    )
    return cast("Sequence[ListedApiKeyRow]", await db.rows(statement))
