"""Business, its expense policies, and Viewer: the tenant and who is asking."""

from datetime import datetime
from typing import NamedTuple, cast

import strawberry

from db.permissions import Permission
from db.rows import BusinessRow, MemberRow, PolicyRow
from resolvers.context import Context, Principal
from resolvers.mutations.policies import business_policies, policy_global_id
from resolvers.nodes import references
from resolvers.viewer import viewer_business
from schema.base import Money, MoneySource, Node, money_source, node_type
from schema.category import Category
from schema.fields import Sourced, column, fetched, reference
from schema.member import Member


class PolicySource(NamedTuple):
    """A policy row and the home currency its amounts are in (minor units)."""

    row: PolicyRow
    home_currency: str

    def money(self, minor: int | None) -> MoneySource | None:
        return money_source(minor, self.home_currency)


@strawberry.type(
    description="An expense policy: what expenses are checked against when shown and submitted."
)
class Policy(Sourced):
    row: strawberry.Private[PolicySource]
    id: strawberry.ID = column(
        lambda s: strawberry.ID(policy_global_id(s.row.id)),
        description="Opaque id (not fetchable with `node`).",
    )
    name: str = column(lambda s: s.row.name, description="Policy name, shown with its violations.")
    max_amount: Money | None = column(
        lambda s: s.money(s.row.max_amount_minor),
        description="Largest home amount an expense may have; null: no maximum.",
    )
    receipt_required_above: Money | None = column(
        lambda s: s.money(s.row.receipt_required_above_minor),
        description="Home amount above which an expense needs a receipt; null: never required.",
    )
    active: bool = column(
        lambda s: s.row.active,
        description="False once removed: expenses are no longer checked against it.",
    )
    created_at: datetime = column(
        lambda s: s.row.created_at, description="When the policy was created."
    )
    category: Category | None = reference(
        "categories",
        lambda s: s.row.category_id,
        description="Category the policy applies to; null: every category.",
    )


async def _policies(ctx: Context, businesses: list[BusinessRow]) -> list[list[PolicySource]]:
    rows = await business_policies(ctx)
    return [[PolicySource(row, b.home_currency) for row in rows] for b in businesses]


@node_type(description="A business: the tenant all other objects belong to.")
class Business(Node, Sourced):
    row: strawberry.Private[BusinessRow]
    name: str = column("name", description="Business name.")
    home_currency: str = column(
        "home_currency",
        description="Currency totals and home amounts are in (ISO 4217).",
    )
    timezone: str = column("timezone", description="IANA time zone of the business.")
    created_at: datetime = column("created_at", description="When the business joined.")
    policies: list[Policy] = fetched(
        _policies,
        description="Active expense policies, oldest first; amounts in the home currency. API keys need `expenses:read`.",
        permission=Permission.EXPENSES_READ,
    )


async def _businesses(ctx: Context, principals: list[Principal]) -> list[BusinessRow]:
    return [await viewer_business(ctx) for _ in principals]


async def _members(ctx: Context, principals: list[Principal]) -> list[MemberRow | None]:
    ids = [p.id if p.kind == "member" else None for p in principals]
    return cast("list[MemberRow | None]", await references(ctx, "members", ids))


@strawberry.type(description="The caller: a member signed in with a user token, or an API key.")
class Viewer(Sourced):
    row: strawberry.Private[Principal]
    credential: str = column(
        lambda p: "MEMBER" if p.kind == "member" else "API_KEY",
        description="MEMBER for user tokens, API_KEY for API keys.",
    )
    scopes: list[str] = column(
        lambda p: sorted(p.permissions), description="Scopes of the credential."
    )
    business: Business = fetched(_businesses, description="The business the caller belongs to.")
    member: Member | None = fetched(
        _members, description="The signed-in member; null for API keys."
    )
