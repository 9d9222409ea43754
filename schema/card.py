"""Card: a physical or virtual payment card held by a member."""

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from sqlalchemy import Row

from resolvers.cards import spent_this_period
from resolvers.ids import encode_id
from resolvers.nodes import reference, required_reference
from schema.base import After, Before, Connection, First, Info, Last, Money, Node
from schema.batch import references
from schema.expense import Expense, FilterArg, OrderArg, nested_expenses
from schema.member import Member
from schema.team import Team


@strawberry.enum(description="Physical plastic or virtual card number.")
class CardKind(Enum):
    PHYSICAL = "PHYSICAL"
    VIRTUAL = "VIRTUAL"


@strawberry.enum(description="Whether the card can be used.")
class CardStatus(Enum):
    ACTIVE = "ACTIVE"
    FROZEN = "FROZEN"
    CANCELLED = "CANCELLED"


@strawberry.enum(description="Period a spend limit applies to.")
class LimitPeriod(Enum):
    DAY = "DAY"
    WEEK = "WEEK"
    MONTH = "MONTH"


@strawberry.type(description="A payment card held by a member.")
class Card(Node):
    row: strawberry.Private[Row[Any]]
    last4: str = strawberry.field(description="Last four digits of the card number.")
    kind: CardKind = strawberry.field(description="Physical or virtual.")
    status: CardStatus = strawberry.field(description="Active, frozen or cancelled.")
    currency: str = strawberry.field(description="Currency the card is billed in.")
    spend_limit: Money | None = strawberry.field(description="Spend limit per period, if any.")
    limit_period: LimitPeriod | None = strawberry.field(description="Period of the spend limit.")
    created_at: datetime = strawberry.field(description="When the card was issued.")

    @classmethod
    def from_row(cls, row: Row[Any]) -> "Card":
        limit = row.spend_limit_minor
        return cls(
            row=row,
            id=strawberry.ID(encode_id("Card", row.id)),
            last4=row.last4,
            kind=CardKind(row.kind),
            status=CardStatus(row.status),
            currency=row.currency,
            spend_limit=Money.of(limit, row.currency) if limit is not None else None,
            limit_period=LimitPeriod(row.limit_period) if row.limit_period else None,
            created_at=row.created_at,
        )

    @strawberry.field(description="The member holding the card.")
    @references("members", "holder_id", "schema.member:Member", required=True)
    async def holder(self, info: Info) -> Member:
        return Member.from_row(
            await required_reference(info.context, "members", self.row.holder_id)
        )

    @strawberry.field(description="Team the card's spend is booked to.")
    @references("teams", "team_id", "schema.team:Team")
    async def team(self, info: Info) -> Team | None:
        row = await reference(info.context, "teams", self.row.team_id)
        return Team.from_row(row) if row else None

    @strawberry.field(
        description="Spent with the card in the current limit period (UTC day, ISO week from Monday, UTC month), in the card currency; null without a limit. Counts the card's expenses that are neither rejected nor deleted, drafts included. An expense in another currency counts its home amount when the card is in the home currency, and not at all otherwise."
    )
    async def spent_this_period(self, info: Info) -> Money | None:
        spent = await spent_this_period(info.context, self.row)
        return Money.of(spent, self.row.currency) if spent is not None else None

    @strawberry.field(
        description="Expenses paid with the card, same arguments as the root `expenses`."
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
            info, "card", self.row.id,
            first=first, after=after, last=last, before=before, filter=filter, order_by=order_by,
        )  # fmt: skip
