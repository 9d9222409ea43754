"""Business, its expense policies, and Viewer: the tenant and who is asking."""

from datetime import datetime
from typing import Any

import strawberry
from sqlalchemy import Row

from resolvers.ids import encode_id
from resolvers.mutations.policies import business_policies, policy_global_id
from resolvers.nodes import reference
from resolvers.viewer import viewer_business
from schema.base import Info, Money, Node
from schema.batch import references
from schema.category import Category
from schema.member import Member


@strawberry.type(
    description="An expense policy: what expenses are checked against when shown and submitted."
)
class Policy:
    row: strawberry.Private[Row[Any]]
    id: strawberry.ID = strawberry.field(description="Opaque id (not fetchable with `node`).")
    name: str = strawberry.field(description="Policy name, shown with its violations.")
    max_amount: Money | None = strawberry.field(
        description="Largest home amount an expense may have; null: no maximum."
    )
    receipt_required_above: Money | None = strawberry.field(
        description="Home amount above which an expense needs a receipt; null: never required."
    )
    active: bool = strawberry.field(
        description="False once removed: expenses are no longer checked against it."
    )
    created_at: datetime = strawberry.field(description="When the policy was created.")

    @classmethod
    def from_row(cls, row: Row[Any], home_currency: str) -> "Policy":
        """Wrap a policy row; its amounts are minor units of ``home_currency``."""

        def money(minor: int | None) -> Money | None:
            return Money.of(minor, home_currency) if minor is not None else None

        return cls(
            row=row,
            id=strawberry.ID(policy_global_id(row.id)),
            name=row.name,
            max_amount=money(row.max_amount_minor),
            receipt_required_above=money(row.receipt_required_above_minor),
            active=row.active,
            created_at=row.created_at,
        )

    @strawberry.field(description="Category the policy applies to; null: every category.")
    @references("categories", "category_id", "schema.category:Category")
    async def category(self, info: Info) -> Category | None:
        row = await reference(info.context, "categories", self.row.category_id)
        return Category.from_row(row) if row else None


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

    @strawberry.field(
        description="Active expense policies, oldest first; amounts in the home currency. API keys need `expenses:read`."
    )
    async def policies(self, info: Info) -> list[Policy]:
        rows = await business_policies(info.context)
        return [Policy.from_row(row, self.home_currency) for row in rows]


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
