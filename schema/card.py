"""Card: a physical or virtual payment card held by a member."""

from datetime import datetime

import strawberry

from db.rows import CardRow

# re-exported: registered as the GraphQL enums below
from db.states import CardKind as CardKind
from db.states import CardStatus as CardStatus
from db.states import LimitPeriod as LimitPeriod
from resolvers.cards import spent_this_period
from resolvers.context import Context
from schema.base import Connection, Money, MoneySource, Node, enum_column, money_source, node_type
from schema.expense import Expense, expenses_field
from schema.fields import Sourced, column, fetched, reference
from schema.member import Member
from schema.team import Team

# the one CardKind, CardStatus and LimitPeriod (db/states.py) are the GraphQL enums too
strawberry.enum(CardKind, description="Physical plastic or virtual card number.")
strawberry.enum(CardStatus, description="Whether the card can be used.")
strawberry.enum(LimitPeriod, description="Period a spend limit applies to.")


def _spend_limit(row: CardRow) -> MoneySource | None:
    return money_source(row.spend_limit_minor, row.currency)


async def _spent(ctx: Context, cards: list[CardRow]) -> list[MoneySource | None]:
    spent = await spent_this_period(ctx, cards)
    return [money_source(minor, card.currency) for card, minor in zip(cards, spent, strict=True)]


@node_type(description="A payment card held by a member.")
class Card(Node, Sourced):
    row: strawberry.Private[CardRow]
    last4: str = column("last4", description="Last four digits of the card number.")
    kind: CardKind = enum_column("kind", CardKind, description="Physical or virtual.")
    status: CardStatus = enum_column(
        "status", CardStatus, description="Active, frozen or cancelled."
    )
    currency: str = column("currency", description="Currency the card is billed in.")
    spend_limit: Money | None = column(_spend_limit, description="Spend limit per period, if any.")
    limit_period: LimitPeriod | None = enum_column(
        "limit_period", LimitPeriod, description="Period of the spend limit."
    )
    created_at: datetime = column("created_at", description="When the card was issued.")
    holder: Member = reference(
        "members", "holder_id", required=True, description="The member holding the card."
    )
    team: Team | None = reference(
        "teams", "team_id", description="Team the card's spend is booked to."
    )
    spent_this_period: Money | None = fetched(
        _spent,
        description="Spent with the card in the current limit period (UTC day, ISO week from Monday, UTC month), in the card currency; null without a limit. Counts the card's expenses that are neither rejected nor deleted, drafts included. An expense in another currency counts its home amount when the card is in the home currency, and not at all otherwise.",
    )

    expenses: Connection[Expense] = expenses_field(
        "card", description="Expenses paid with the card, same arguments as the root `expenses`."
    )
