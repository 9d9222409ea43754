"""Member: a person of the business, with a role."""

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from sqlalchemy import Row

from resolvers.ids import encode_id
from resolvers.lists import member_cards
from resolvers.nodes import reference
from schema.base import After, Before, Connection, First, Info, Last, Node
from schema.batch import references
from schema.expense import Expense, FilterArg, OrderArg, nested_expenses

if TYPE_CHECKING:
    from schema.card import Card
    from schema.team import Team


@strawberry.enum(description="What a member may see and do.")
class Role(Enum):
    ADMIN = "ADMIN"
    FINANCE = "FINANCE"
    MANAGER = "MANAGER"
    EMPLOYEE = "EMPLOYEE"


@strawberry.type(description="A person of the business who spends, approves or administers.")
class Member(Node):
    row: strawberry.Private[Row[Any]]
    name: str = strawberry.field(description="Full name.")
    email: str = strawberry.field(description="Work email, lower case.")
    role: Role = strawberry.field(
        description="Role, which decides what the member sees and may do."
    )
    created_at: datetime = strawberry.field(description="When the member was added.")
    deactivated_at: datetime | None = strawberry.field(
        description="When the member was deactivated; their credentials stopped then, their history stays."
    )

    @classmethod
    def from_row(cls, row: Row[Any]) -> "Member":
        return cls(
            row=row,
            id=strawberry.ID(encode_id("Member", row.id)),
            name=row.name,
            email=row.email,
            role=Role(row.role),
            created_at=row.created_at,
            deactivated_at=row.deactivated_at,
        )

    @strawberry.field(description="The team the member belongs to.")
    @references("teams", "team_id", "schema.team:Team")
    async def team(self, info: Info) -> Annotated["Team", strawberry.lazy("schema.team")] | None:
        from schema.team import Team

        row = await reference(info.context, "teams", self.row.team_id)
        return Team.from_row(row) if row else None

    @strawberry.field(description="Cards held by the member that the viewer may see.")
    async def cards(self, info: Info) -> list[Annotated["Card", strawberry.lazy("schema.card")]]:
        from schema.card import Card

        return [Card.from_row(r) for r in await member_cards(info.context, self.row)]

    @strawberry.field(
        description="Expenses spent by the member, same arguments as the root `expenses`."
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
            info, "member", self.row.id,
            first=first, after=after, last=last, before=before, filter=filter, order_by=order_by,
        )  # fmt: skip
