"""SpendBucket and the dimensions and intervals spendSummary groups by."""

from collections.abc import Callable
from datetime import date
from enum import Enum
from typing import Any

import strawberry

from db.summary import Bucket
from resolvers.nodes import reference
from resolvers.summary import DIMENSION_TABLES
from schema.base import Info, Money
from schema.batch import F, references
from schema.card import Card
from schema.category import Category
from schema.expense import ExpenseStatus
from schema.member import Member
from schema.team import Team


@strawberry.enum(description="What spend can be grouped by.")
class SpendDimension(Enum):
    TEAM = "TEAM"
    MEMBER = "MEMBER"
    CARD = "CARD"
    CATEGORY = "CATEGORY"
    MERCHANT = "MERCHANT"
    CURRENCY = "CURRENCY"
    STATUS = "STATUS"


@strawberry.enum(description="Length of a period; weeks start on Monday (ISO).")
class TimeInterval(Enum):
    DAY = "DAY"
    WEEK = "WEEK"
    MONTH = "MONTH"
    QUARTER = "QUARTER"
    YEAR = "YEAR"


def _dimension_object(dimension: str, wrapper: str) -> Callable[[F], F]:
    """Attach the batch twin of :meth:`SpendBucket._object` for ``dimension``."""
    return references(
        DIMENSION_TABLES[dimension], lambda bucket: bucket.bucket.values.get(dimension), wrapper
    )


@strawberry.type(
    description="Total spend of one group. Only the grouped fields are set; groups with no expenses are absent."
)
class SpendBucket:
    bucket: strawberry.Private[Bucket]
    period: date | None = strawberry.field(
        description="First day of the period, in the business's time zone; null without an interval."
    )
    merchant_name: str | None = strawberry.field(description="Merchant, when grouped by MERCHANT.")
    currency: str | None = strawberry.field(
        description="Currency spent in, when grouped by CURRENCY."
    )
    status: ExpenseStatus | None = strawberry.field(description="Status, when grouped by STATUS.")
    total: Money = strawberry.field(
        description="Sum of the home-currency amounts: exact, never mixed currencies."
    )
    count: int = strawberry.field(description="Number of expenses in the group.")

    @classmethod
    def of(cls, bucket: Bucket) -> "SpendBucket":
        status = bucket.values.get("STATUS")
        return cls(
            bucket=bucket,
            period=bucket.period,
            merchant_name=bucket.values.get("MERCHANT"),
            currency=bucket.values.get("CURRENCY"),
            status=ExpenseStatus(status) if status else None,
            total=Money.of(bucket.total_minor, bucket.home_currency),
            count=bucket.count,
        )

    async def _object(self, info: Info, dimension: str) -> Any:
        return await reference(
            info.context, DIMENSION_TABLES[dimension], self.bucket.values.get(dimension)
        )

    @strawberry.field(
        description="Team, when grouped by TEAM (null also for expenses without a team)."
    )
    @_dimension_object("TEAM", "schema.team:Team")
    async def team(self, info: Info) -> Team | None:
        row = await self._object(info, "TEAM")
        return Team.from_row(row) if row else None

    @strawberry.field(description="Member, when grouped by MEMBER.")
    @_dimension_object("MEMBER", "schema.member:Member")
    async def member(self, info: Info) -> Member | None:
        row = await self._object(info, "MEMBER")
        return Member.from_row(row) if row else None

    @strawberry.field(description="Card, when grouped by CARD (null also for out-of-pocket spend).")
    @_dimension_object("CARD", "schema.card:Card")
    async def card(self, info: Info) -> Card | None:
        row = await self._object(info, "CARD")
        return Card.from_row(row) if row else None

    @strawberry.field(description="Category, when grouped by CATEGORY.")
    @_dimension_object("CATEGORY", "schema.category:Category")
    async def category(self, info: Info) -> Category | None:
        row = await self._object(info, "CATEGORY")
        return Category.from_row(row) if row else None
