"""Member: a person of the business, with a role."""

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from db.roles import Role as Role  # re-exported: registered as the GraphQL enum below
from db.rows import MemberRow
from resolvers.nodes import MEMBER_CARDS
from schema.base import Connection, Node, children, enum_column, node_type
from schema.expense import Expense, expenses_field
from schema.fields import Sourced, column, reference

if TYPE_CHECKING:
    from schema.card import Card
    from schema.team import Team


# the one Role (db/roles.py) is the GraphQL enum too
strawberry.enum(Role, description="What a member may see and do.")


@node_type(description="A person of the business who spends, approves or administers.")
class Member(Node, Sourced):
    row: strawberry.Private[MemberRow]
    name: str = column("name", description="Full name.")
    email: str = column("email", description="Work email, lower case.")
    role: Role = enum_column(
        "role", Role, description="Role, which decides what the member sees and may do."
    )
    created_at: datetime = column("created_at", description="When the member was added.")
    deactivated_at: datetime | None = column(
        "deactivated_at",
        description="When the member was deactivated; their credentials stopped then, their history stays.",
    )
    team: Annotated["Team", strawberry.lazy("schema.team")] | None = reference(
        "teams", "team_id", description="The team the member belongs to."
    )
    cards: list[Annotated["Card", strawberry.lazy("schema.card")]] = children(
        MEMBER_CARDS, description="Cards held by the member that the viewer may see."
    )

    expenses: Connection[Expense] = expenses_field(
        "member", description="Expenses spent by the member, same arguments as the root `expenses`."
    )
