"""The two lookups that authenticate a request: an API key by prefix, a member by id."""

from typing import Any

from sqlalchemy import Row, func, select

from db.engine import RequestDb
from db.tables import api_keys, businesses, members, teams


async def api_key_by_prefix(*, db: RequestDb, prefix: str) -> Row[Any] | None:
    """Return the key with ``prefix`` and its business's home currency, revoked or not."""
    statement = (
        select(api_keys, businesses.c.home_currency)
        .join(businesses, businesses.c.id == api_keys.c.business_id)
        .where(api_keys.c.prefix == prefix)
    )
    rows = await db.rows(statement)
    return rows[0] if rows else None


async def member_with_teams(*, db: RequestDb, business_id: int, member_id: int) -> Row[Any] | None:
    """Return the member, its business's home currency and ``managed_team_ids`` (or None)."""
    managed = (
        select(func.array_agg(teams.c.id))
        .where(teams.c.business_id == members.c.business_id, teams.c.manager_id == members.c.id)
        .scalar_subquery()
    )
    statement = (
        select(members, businesses.c.home_currency, managed.label("managed_team_ids"))
        .join(businesses, businesses.c.id == members.c.business_id)
        .where(members.c.business_id == business_id, members.c.id == member_id)
    )
    rows = await db.rows(statement)
    return rows[0] if rows else None
