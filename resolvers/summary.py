"""spendSummary: exact home-currency totals grouped by dimensions and period."""

from collections.abc import Sequence

from db.permissions import Permission
from db.queries.summary import DIMENSIONS, INTERVALS, Bucket, spend_summary
from resolvers.context import Context
from resolvers.errors import DomainError, ErrorCode, bad_input
from resolvers.expense_args import ExpenseFilterLike, expense_spec

MAX_BUCKETS = 5000
# what a query may get unless it asks for more; its cost counts this many buckets, so
# a bucket of three objects (itself, its team, its total) fits the default cost ceiling
DEFAULT_MAX_BUCKETS = 300
# each dimension's object is fetched through this table's loader
DIMENSION_TABLES = {"TEAM": "teams", "MEMBER": "members", "CARD": "cards", "CATEGORY": "categories"}


async def summarize(
    ctx: Context,
    *,
    filter_: ExpenseFilterLike | None,
    group_by: Sequence[str],
    interval: str | None,
    max_buckets: int = DEFAULT_MAX_BUCKETS,
) -> list[Bucket]:
    """Return the buckets of the viewer's visible expenses (same visibility as ``expenses``)."""
    principal, loaders = ctx.require(Permission.EXPENSES_READ)
    if not 1 <= max_buckets <= MAX_BUCKETS:
        raise bad_input(f"maxBuckets must be 1 to {MAX_BUCKETS}.", field="maxBuckets")
    if len(set(group_by)) != len(group_by) or not set(group_by) <= set(DIMENSIONS):
        raise bad_input("groupBy takes each dimension at most once.", field="groupBy")
    if interval is not None and interval not in INTERVALS:
        raise bad_input(f"interval must be one of {', '.join(INTERVALS)}.", field="interval")
    spec = expense_spec(filter_, principal)
    buckets = await spend_summary(
        db=ctx.db,
        visibility=loaders.visibility,
        spec=spec,
        group_by=group_by,
        interval=interval,
        limit=max_buckets,
    )
    if len(buckets) > max_buckets:
        raise DomainError(
            ErrorCode.QUERY_TOO_COMPLEX,
            f"More than {max_buckets} buckets: narrow the filter, group by fewer dimensions, "
            f"use a longer interval or raise maxBuckets (at most {MAX_BUCKETS}; it costs more).",
        )
    return buckets
