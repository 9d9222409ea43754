"""The most buckets ``spendSummary`` can answer with given arguments: its static cost's bound."""

from datetime import datetime
from typing import Any

from graphql import GraphQLEnumType, GraphQLSchema, get_named_type

from resolvers.summary import DEFAULT_MAX_BUCKETS, MAX_BUCKETS

# spendSummary's dimensions: the ExpenseFilter field listing the values a group can take
SUMMARY_DIMENSION_FILTERS = {
    "TEAM": "teamIds",
    "MEMBER": "memberIds",
    "CARD": "cardIds",
    "CATEGORY": "categoryIds",
    "CURRENCY": "currencies",
    "STATUS": "statuses",
    "MERCHANT": None,
}
# the shortest period of each interval, in days
SUMMARY_INTERVAL_DAYS = {"DAY": 1, "WEEK": 7, "MONTH": 28, "QUARTER": 90, "YEAR": 365}


def summary_buckets(schema: GraphQLSchema, arguments: dict[str, Any]) -> int:
    """Return the most buckets ``spendSummary`` can answer with these arguments.

    Each dimension has as many groups as the filter allows it values (plus one for "none"),
    or as its enum has values; the interval as many periods as the filter's spentAfter ..
    spentBefore spans; never more than maxBuckets (default 300), which the resolver enforces.
    """
    group_by, interval = arguments.get("groupBy"), arguments.get("interval")
    filter_ = arguments.get("filter")
    filter_ = filter_ if isinstance(filter_, dict) else {}
    cap = arguments.get("maxBuckets", DEFAULT_MAX_BUCKETS)
    if not isinstance(cap, int) or not 1 <= cap <= MAX_BUCKETS:
        cap = MAX_BUCKETS  # refused by the resolver anyway
    if not isinstance(group_by, list):
        return cap
    buckets = 1
    for dimension in dict.fromkeys(group_by):
        buckets *= _groups(schema, dimension, filter_)
        if buckets >= cap:
            return cap
    if interval is not None:
        buckets *= _periods(interval, filter_.get("spentAfter"), filter_.get("spentBefore"))
    return min(buckets, cap)


def _groups(schema: GraphQLSchema, dimension: Any, filter_: dict[str, Any]) -> int:
    name = SUMMARY_DIMENSION_FILTERS.get(dimension) if isinstance(dimension, str) else None
    if name is None:
        return MAX_BUCKETS
    values = filter_.get(name)
    if isinstance(values, list):
        return len(values) + 1  # + expenses without one (no team, no card)
    filter_type = schema.get_type("ExpenseFilter")
    field = getattr(filter_type, "fields", {}).get(name)
    enum = get_named_type(field.type) if field is not None else None
    return len(enum.values) if isinstance(enum, GraphQLEnumType) else MAX_BUCKETS


def _periods(interval: Any, after: Any, before: Any) -> int:
    days = SUMMARY_INTERVAL_DAYS.get(interval) if isinstance(interval, str) else None
    if days is None or not isinstance(after, str) or not isinstance(before, str):
        return MAX_BUCKETS
    try:
        span = (datetime.fromisoformat(before) - datetime.fromisoformat(after)).days
    except (TypeError, ValueError):
        return MAX_BUCKETS
    # + 2 days: the business's time zone may move either end into the next or previous day
    return (max(span, 0) + 2) // days + 2
