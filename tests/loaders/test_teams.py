"""loaders/teams.py: active members per team, one grouped statement, the tenant filter alone."""

from sqlalchemy import func, update

from db.engine import RequestDb
from db.tables.org import members
from db.visibility import Visibility
from loaders.registry import make_loaders
from tests.conftest import StatementCounter
from tests.loaders.rows_read import UNKNOWN, change, rows_in
from tests.world import World


async def test_active_members_per_team_in_one_statement(
    db: RequestDb, world: World, statements: StatementCounter
) -> None:
    a, b = world.a, world.b
    leaver = a.members["employee2"]
    await change(
        db,
        update(members)
        .where(members.c.id == leaver)
        .values(deactivated_at=func.now())
        .returning(members.c.id),
    )
    rows = await rows_in(db, members)
    sales = [m for m in rows if m.business_id == a.id and m.team_id == a.teams["sales"]]
    keys = [a.teams["sales"], a.teams["eng"], b.teams["sales"], UNKNOWN, a.teams["sales"]]
    # an employee sees only themselves, yet a team they see counts all its active members
    viewer = Visibility(
        business_id=a.id, member_id=a.members["employee"], own_team_id=a.teams["sales"]
    )
    statements.reset()
    counts = await make_loaders(db, viewer).member_counts.load_all(keys)
    assert statements.count == 1
    assert counts == [
        sum(1 for m in rows if m.business_id == a.id and m.team_id == k and not m.deactivated_at)
        for k in keys
    ]
    assert 0 < counts[0] < len(sales) and counts[2:4] == [0, 0]
