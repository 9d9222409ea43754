"""What the team mutation tests share: the team mutations, teams inserted directly, and
teams read back in SQL.

The team tests run on a business of the module's own (the ``org`` fixture). Denied calls
also check that nothing changed and no audit event was written.
"""

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from db.tables.org import teams
from tests.graphql.mutations_catalog.helpers_calls import ERRORS
from tests.graphql.mutations_catalog.helpers_orgs import Org, inserted
from tests.graphql.mutations_org.conftest import one

TEAM = "id name createdAt archivedAt memberCount manager { id }"
CREATE = (
    "mutation($input: CreateTeamInput!) {"
    f" p: createTeam(input: $input) {{ team {{ {TEAM} }} {ERRORS} }} }}"
)
UPDATE = (
    "mutation($id: ID!, $input: UpdateTeamInput!) {"
    f" p: updateTeam(id: $id, input: $input) {{ team {{ {TEAM} }} {ERRORS} }} }}"
)
ARCHIVE = f"mutation($id: ID!) {{ p: archiveTeam(id: $id) {{ team {{ {TEAM} }} {ERRORS} }} }}"

_names = iter(range(10**6))


async def new_team(engine: AsyncEngine, org: Org, *, archived: bool = False) -> int:
    """Insert a team (archived or not) and return its id."""
    archived_at = datetime.now(UTC) if archived else None
    return await inserted(
        engine, teams, business_id=org.biz.id, name=f"T{next(_names)}", archived_at=archived_at
    )


async def stored(engine: AsyncEngine, team_id: int) -> tuple[str, int | None, bool]:
    row = await one(
        engine, "SELECT name, manager_id, archived_at FROM teams WHERE id = :i", i=team_id
    )
    return row.name, row.manager_id, row.archived_at is not None


async def has_team(engine: AsyncEngine, name: str) -> bool:
    """Return whether any business has a team called ``name``."""
    row = await one(engine, "SELECT count(*) AS n FROM teams WHERE name = :n", n=name)
    return bool(row.n)
