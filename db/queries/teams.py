"""Figures of teams that come from their members, for many teams in one statement."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import any_, bindparam, func, select

from db.engine import RequestDb
from db.fastread import keep
from db.sent_together import KeyedRead
from db.sql import array_param
from db.tables.org import members

# built once, run with the business and the team ids as parameters (db/fastread.py)
_ACTIVE_MEMBER_COUNTS = keep(
    select(members.c.team_id, func.count().label("n"))
    .where(
        members.c.business_id == bindparam("business_id"),
        members.c.team_id == any_(array_param("team_ids", members.c.team_id)),
        members.c.deactivated_at.is_(None),
    )
    .group_by(members.c.team_id)
)


async def active_member_counts(
    *, db: RequestDb, business_id: int, team_ids: Sequence[int]
) -> dict[int, int]:
    """Return, per team with any, how many of its members are not deactivated."""
    params = {"business_id": business_id, "team_ids": list(team_ids)}
    return counts_of(await db.rows(_ACTIVE_MEMBER_COUNTS, params))


def keyed_member_counts(*, business_id: int) -> KeyedRead:
    """Return :func:`active_member_counts`'s statement, its team ids left to another read
    (db/sent_together.py); :func:`counts_of` makes its answer of its rows."""
    return KeyedRead(_ACTIVE_MEMBER_COUNTS, {"business_id": business_id}, "team_ids")


def counts_of(rows: Sequence[Any]) -> dict[int, int]:
    """Return the counts of :func:`active_member_counts`'s rows, by team."""
    return {row.team_id: int(row.n) for row in rows}
