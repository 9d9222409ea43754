"""What the member mutation tests share: the member mutations, fresh members added through
the API, a member's own token, members read back in SQL, and archived teams.

The member tests run on a business of the module's own (the ``org`` fixture), the
last-admin rule on businesses of their own. Denied calls also check that nothing changed.
"""

from itertools import count
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from app.auth import issue_token
from db.tables.org import teams
from resolvers.ids import decode_id
from tests.conftest import SETTINGS
from tests.graphql.mutations_catalog.helpers_calls import ERRORS, call
from tests.graphql.mutations_catalog.helpers_orgs import Org, inserted
from tests.graphql.mutations_org.conftest import gid, one
from tests.world import ANCHOR

MEMBER = "id name email role createdAt deactivatedAt team { id }"
ADD = (
    "mutation($input: AddMemberInput!) {"
    f" p: addMember(input: $input) {{ member {{ {MEMBER} }} {ERRORS} }} }}"
)
UPDATE = (
    "mutation($id: ID!, $input: UpdateMemberInput!) {"
    f" p: updateMember(id: $id, input: $input) {{ member {{ {MEMBER} }} {ERRORS} }} }}"
)
DEACTIVATE = (
    f"mutation($id: ID!) {{ p: deactivateMember(id: $id) {{ member {{ {MEMBER} }} {ERRORS} }} }}"
)
VIEWER = "{ viewer { member { email } } }"
serial = count()  # numbers for unique emails and names


async def add(client: Any, org: Org, role: str = "EMPLOYEE", team: str | None = "sales",
              who: str = "admin") -> dict[str, Any]:  # fmt: skip
    """Add a fresh member through the API and return it."""
    n = next(serial)
    team_id = gid("Team", org.biz.teams[team]) if team else None
    payload = await call(client, ADD, org.credential(who), input={
        "email": f"person{n}@memberco.test", "name": f"Person {n}", "role": role, "teamId": team_id,
    })  # fmt: skip
    assert payload["userErrors"] == [], payload
    return payload["member"]


def member_token(org: Org, member: dict[str, Any]) -> str:
    return issue_token(SETTINGS, business_id=org.biz.id, member_id=decode_id(member["id"])[1])


async def stored(engine: AsyncEngine, member_id: int) -> tuple[str, int | None, bool]:
    row = await one(
        engine, "SELECT role, team_id, deactivated_at FROM members WHERE id = :i", i=member_id
    )
    return row.role, row.team_id, row.deactivated_at is not None


async def archived_team(engine: AsyncEngine, org: Org) -> int:
    return await inserted(
        engine, teams, business_id=org.biz.id, name=f"Archived {next(serial)}", archived_at=ANCHOR
    )
