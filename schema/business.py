"""Business and Viewer: the tenant and who is asking."""

from datetime import datetime
from typing import Any

import strawberry
from sqlalchemy import Row

from resolvers.ids import encode_id
from resolvers.nodes import reference
from resolvers.viewer import viewer_business
from schema.base import Info, Node
from schema.member import Member


@strawberry.type(description="A business: the tenant all other objects belong to.")
class Business(Node):
    name: str = strawberry.field(description="Business name.")
    home_currency: str = strawberry.field(
        description="Currency totals and home amounts are in (ISO 4217)."
    )
    timezone: str = strawberry.field(description="IANA time zone of the business.")
    created_at: datetime = strawberry.field(description="When the business joined.")

    @classmethod
    def from_row(cls, row: Row[Any]) -> "Business":
        return cls(
            id=strawberry.ID(encode_id("Business", row.id)),
            name=row.name,
            home_currency=row.home_currency,
            timezone=row.timezone,
            created_at=row.created_at,
        )


@strawberry.type(description="The caller: a member signed in with a user token, or an API key.")
class Viewer:
    credential: str = strawberry.field(description="MEMBER for user tokens, API_KEY for API keys.")
    scopes: list[str] = strawberry.field(description="Scopes of the credential.")
    member_id: strawberry.Private[int | None]

    @strawberry.field(description="The business the caller belongs to.")
    async def business(self, info: Info) -> Business:
        return Business.from_row(await viewer_business(info.context))

    @strawberry.field(description="The signed-in member; null for API keys.")
    async def member(self, info: Info) -> Member | None:
        row = await reference(info.context, "members", self.member_id)
        return Member.from_row(row) if row else None
