"""SpendBucket and the dimensions and intervals spendSummary groups by."""

from datetime import date
from enum import Enum
from operator import attrgetter
from typing import Any

import strawberry

from db.queries.summary import Bucket
from db.queries.summary import TimeInterval as TimeInterval  # re-exported: registered below
from resolvers.summary import DIMENSION_TABLES
from schema.base import Money
from schema.card import Card
from schema.category import Category
from schema.expense_inputs import ExpenseStatus
from schema.fields import Sourced, column, reference
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


# the one TimeInterval (db/queries/summary.py) is the GraphQL enum too
strawberry.enum(TimeInterval, description="Length of a period; weeks start on Monday (ISO).")


def _dimension(dimension: str, description: str) -> Any:
    """Declare the object a bucket is grouped by along ``dimension``."""
    return reference(
        DIMENSION_TABLES[dimension],
        lambda bucket: bucket.values.get(dimension),
        description=description,
    )


def _status(bucket: Bucket) -> ExpenseStatus | None:
    status = bucket.values.get("STATUS")
    return ExpenseStatus(status) if status else None


@strawberry.type(
    description="Total spend of one group. Only the grouped fields are set; groups with no expenses are absent."
)
class SpendBucket(Sourced):
    row: strawberry.Private[Bucket]
    period: date | None = column(
        "period",
        description="First day of the period, in the business's time zone; null without an interval.",
    )
    merchant_name: str | None = column(
        lambda bucket: bucket.values.get("MERCHANT"),
        description="Merchant, when grouped by MERCHANT.",
    )
    currency: str | None = column(
        lambda bucket: bucket.values.get("CURRENCY"),
        description="Currency spent in, when grouped by CURRENCY.",
    )
    status: ExpenseStatus | None = column(_status, description="Status, when grouped by STATUS.")
    total: Money = column(
        attrgetter("total_minor", "home_currency"),
        description="Sum of the home-currency amounts: exact, never mixed currencies.",
    )
    count: int = column("count", description="Number of expenses in the group.")
    team: Team | None = _dimension(
        "TEAM", "Team, when grouped by TEAM (null also for expenses without a team)."
    )
    member: Member | None = _dimension("MEMBER", "Member, when grouped by MEMBER.")
    card: Card | None = _dimension(
        "CARD", "Card, when grouped by CARD (null also for out-of-pocket spend)."
    )
    category: Category | None = _dimension("CATEGORY", "Category, when grouped by CATEGORY.")
