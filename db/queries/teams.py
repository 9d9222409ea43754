"""Figures of teams that come from their members, for many teams in one statement."""

from collections.abc import Sequence

from sqlalchemy import func, select

from db.engine import RequestDb
from db.sql import any_of
from db.tables import members


async def active_member_counts(
    *, db: RequestDb, business_id: int, team_ids: Sequence[int]
) -> dict[int, int]:
    """Return, per team with any, how many of its members are not deactivated."""
    statement = (
        select(members.c.team_id, func.count().label("n"))
        .where(
            members.c.business_id == business_id,
            any_of(members.c.team_id, team_ids),
            members.c.deactivated_at.is_(None),
        )
        .group_by(members.c.team_id)
    )
    return {row.team_id: int(row.n) for row in await db.rows(statement)}
