"""Team: a group of members with a manager."""

from datetime import datetime
from typing import Any

import strawberry
from sqlalchemy import Row

from resolvers.ids import encode_id
from resolvers.lists import team_members
from resolvers.nodes import reference
from schema.base import After, Before, Connection, First, Info, Last, Node
from schema.batch import references
from schema.expense import Expense, FilterArg, OrderArg, nested_expenses
from schema.member import Member


@strawberry.type(description="A group of members, with a manager who approves its expenses.")
class Team(Node):
    row: strawberry.Private[Row[Any]]
    name: str = strawberry.field(description="Team name, unique in the business.")
    created_at: datetime = strawberry.field(description="When the team was created.")
    archived_at: datetime | None = strawberry.field(
        description="When the team was archived; it keeps its history but takes no new members or manager."
    )

    @classmethod
    def from_row(cls, row: Row[Any]) -> "Team":
        return cls(
            row=row,
            id=strawberry.ID(encode_id("Team", row.id)),
            name=row.name,
            created_at=row.created_at,
            archived_at=row.archived_at,
        )

    @strawberry.field(description="The manager who approves the team's expenses.")
    @references("members", "manager_id", "schema.member:Member")
    async def manager(self, info: Info) -> Member | None:
        row = await reference(info.context, "members", self.row.manager_id)
        return Member.from_row(row) if row else None

    @strawberry.field(description="Members of the team that the viewer may see, by name.")
    async def members(self, info: Info) -> list[Member]:
        return [Member.from_row(r) for r in await team_members(info.context, self.row)]

    @strawberry.field(
        description="How many active (not deactivated) members the team has, whoever the viewer may see."
    )
    async def member_count(self, info: Info) -> int:
        _, loaders = info.context.require("teams:read")
        return await loaders.member_counts.load(self.row.id)

    @strawberry.field(
        description="Expenses booked to the team, same arguments as the root `expenses`."
    )
    async def expenses(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: FilterArg = None,
        order_by: OrderArg = None,
    ) -> Connection[Expense]:
        return await nested_expenses(
            info, "team", self.row.id,
            first=first, after=after, last=last, before=before, filter=filter, order_by=order_by,
        )  # fmt: skip
