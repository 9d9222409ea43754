"""Team: a group of members with a manager."""

from datetime import datetime

import strawberry

from db.permissions import Permission
from db.rows import TeamRow
from db.sent_together import Following
from resolvers.context import Context
from resolvers.nodes import TEAM_MEMBERS
from schema.base import Connection, Node, children, node_type
from schema.expense import Expense, expenses_field
from schema.fields import Sourced, column, fetched, reference
from schema.member import Member


async def _member_counts(ctx: Context, teams: list[TeamRow]) -> list[int]:
    _, loaders = ctx.require(Permission.TEAMS_READ)
    return await loaders.member_counts.load_all([team.id for team in teams])


def _member_counts_following(ctx: Context, parent: str) -> Following | None:
    _, loaders = ctx.require(Permission.TEAMS_READ)
    return loaders.member_counts.following(parent, "id")


@node_type(description="A group of members, with a manager who approves its expenses.")
class Team(Node, Sourced):
    row: strawberry.Private[TeamRow]
    name: str = column("name", description="Team name, unique in the business.")
    created_at: datetime = column("created_at", description="When the team was created.")
    archived_at: datetime | None = column(
        "archived_at",
        description="When the team was archived; it keeps its history but takes no new members or manager.",
    )
    manager: Member | None = reference(
        "members", "manager_id", description="The manager who approves the team's expenses."
    )
    members: list[Member] = children(
        TEAM_MEMBERS, description="Members of the team that the viewer may see, by name."
    )
    member_count: int = fetched(
        _member_counts,
        description="How many active (not deactivated) members the team has, whoever the viewer may see.",
        permission=Permission.TEAMS_READ,
        reads=("id",),
        follow=_member_counts_following,
    )

    expenses: Connection[Expense] = expenses_field(
        "team", description="Expenses booked to the team, same arguments as the root `expenses`."
    )
