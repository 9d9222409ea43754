"""Limits on what one request may ask: who, size, shape (depth, aliases, directives), cost, rate.

All are checked before any SQL runs, the first two before validation (app/gate.py).
Size and shape errors and an over-ceiling cost are QUERY_TOO_COMPLEX; an empty bucket is
RATE_LIMITED with the seconds to wait; a caller without a credential gets UNAUTHENTICATED
for anything but introspection. Introspection (``__schema``, ``__type`` and what is under
them) counts for no depth, aliases or cost: graphql-core's own rule refuses it when it is
off, and nothing under it reaches the data.
"""

import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from graphql import (
    ExecutionResult,
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    is_introspection_type,
)
from strawberry.extensions import SchemaExtension

from app.cost import INTROSPECTION_FIELDS, StaticCosts, actual_cost, introspection_keys
from resolvers.errors import ErrorCode


@dataclass(frozen=True)
class LimitSettings:
    """The numbers; README lists them. Buckets are per credential."""

    max_depth: int = 10
    max_aliases: int = 15
    max_directives: int = 5
    max_tokens: int = 2000
    # selections (fields, fragment spreads, inline fragments), each fragment per spread
    max_fields: int = 500
    max_cost: int = 1000
    bucket_size: int = 1000
    restore_rate: float = 50.0


def too_complex(message: str) -> GraphQLError:
    """Return a QUERY_TOO_COMPLEX error."""
    return GraphQLError(message, extensions={"code": ErrorCode.QUERY_TOO_COMPLEX.value})


def _depth(
    context: ValidationContext, selection_set: SelectionSetNode | None, seen: frozenset[str]
) -> int:
    if selection_set is None:
        return 0
    deepest = 0
    for node in selection_set.selections:
        if isinstance(node, FieldNode):
            if node.name.value not in INTROSPECTION_FIELDS:
                deepest = max(deepest, 1 + _depth(context, node.selection_set, seen))
        elif isinstance(node, InlineFragmentNode):
            deepest = max(deepest, _depth(context, node.selection_set, seen))
        elif isinstance(node, FragmentSpreadNode) and node.name.value not in seen:
            # an undefined fragment is reported by graphql-core's own rule, not a KeyError here
            fragment = context.get_fragment(node.name.value)
            if fragment is not None:
                deepest = max(
                    deepest, _depth(context, fragment.selection_set, seen | {node.name.value})
                )
    return deepest


def shape_rule(limits: LimitSettings) -> type[ValidationRule]:
    """Return a validation rule bounding depth, aliases and directives of each operation."""

    class ShapeRule(ValidationRule):
        aliases = 0
        directives = 0

        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            depth = _depth(self.context, node.selection_set, frozenset())
            if depth > limits.max_depth:
                self.report_error(
                    too_complex(f"The query is {depth} levels deep; at most {limits.max_depth}.")
                )

        def enter_field(self, node: FieldNode, *_: Any) -> None:
            if node.alias is not None and not _introspection(self.context, node):
                self.aliases += 1
                if self.aliases == limits.max_aliases + 1:
                    self.report_error(
                        too_complex(f"At most {limits.max_aliases} aliases per document.")
                    )

        def enter_directive(self, *_: Any) -> None:
            self.directives += 1
            if self.directives == limits.max_directives + 1:
                self.report_error(
                    too_complex(f"At most {limits.max_directives} directives per document.")
                )

    return ShapeRule


def _introspection(context: ValidationContext, node: FieldNode) -> bool:
    """Return True for ``__schema``, ``__type`` and any field of an introspection type."""
    parent = context.get_parent_type()
    return node.name.value in INTROSPECTION_FIELDS or (
        parent is not None and is_introspection_type(parent)
    )


@dataclass
class LeakyBuckets:
    """Cost points per credential: ``bucket_size`` at most, refilled at ``restore_rate`` per second."""

    limits: LimitSettings
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)

    async def available(self, key: str) -> float:
        """Return the points the credential has now."""
        return self._available(key, self.clock())

    def _available(self, key: str, now: float) -> float:
        """Return the points the credential has at ``now`` (the clock read once by the caller)."""
        entry = self._buckets.get(key)
        if entry is None:
            return float(self.limits.bucket_size)
        points, at = entry
        return min(float(self.limits.bucket_size), points + (now - at) * self.limits.restore_rate)

    async def take(self, key: str, cost: int) -> float | None:
        """Debit ``cost``; return None if done, else the seconds until it would fit."""
        now = self.clock()
        points = self._available(key, now)
        if cost > points:
            self._buckets[key] = (points, now)
            return (cost - points) / self.limits.restore_rate
        self._buckets[key] = (points - cost, now)
        return None

    async def refund(self, key: str, points: int) -> None:
        """Give back what was debited but not used."""
        if points > 0:
            now = self.clock()
            available = self._available(key, now) + points
            self._buckets[key] = (min(float(self.limits.bucket_size), available), now)


class Buckets(Protocol):
    """Where the points live: this process (LeakyBuckets) or Redis (RedisBuckets)."""

    async def available(self, key: str) -> float: ...

    async def take(self, key: str, cost: int) -> float | None: ...

    async def refund(self, key: str, points: int) -> None: ...


def rate_limited(what: str, wait: float) -> GraphQLError:
    """Return a RATE_LIMITED error saying ``what`` and when to retry."""
    return GraphQLError(
        f"Rate limited: {what}; retry in {wait:.1f} s.",
        extensions={"code": ErrorCode.RATE_LIMITED.value, "retryAfterSeconds": round(wait, 1)},
    )


class QueryCost(SchemaExtension):
    """Refuse queries over the cost ceiling or beyond the caller's bucket; report the cost."""

    def __init__(self, limits: LimitSettings, buckets: Buckets, costs: StaticCosts) -> None:
        self.limits, self.buckets, self.costs = limits, buckets, costs
        self.requested = self.actual = 0
        self.key: str | None = None

    async def on_execute(self) -> AsyncIterator[None]:
        ctx = self.execution_context
        principal = getattr(ctx.context, "principal", None)
        query = ctx.query if principal is not None else None  # nothing kept for anonymous callers
        self.requested = self.costs.cost(
            ctx.schema._schema, query, ctx.graphql_document, ctx.operation_name, ctx.variables
        )
        refused = await self._refusal(principal.label if principal is not None else None)
        report = getattr(ctx.context, "report", {})
        report["cost"] = self.requested
        if refused is not None:
            ctx.result = ExecutionResult(data=None, errors=[refused])
        yield
        counted = report.pop("response_objects", None)  # by a compiled run, as it built them
        if refused is None and ctx.result is not None:
            free = introspection_keys(ctx.graphql_document, ctx.operation_name)
            self.actual = report["actual_cost"] = (
                max(counted - 1, 0)
                if counted is not None and not free
                else actual_cost(ctx.result.data, free)
            )
            if self.key is not None:
                await self.buckets.refund(self.key, self.requested - self.actual)

    async def _refusal(self, key: str | None) -> GraphQLError | None:
        if self.requested > self.limits.max_cost:
            return too_complex(
                f"The query costs {self.requested} points; at most {self.limits.max_cost}. Ask for smaller pages."
            )
        if key is None:
            return None
        wait = await self.buckets.take(key, self.requested)
        if wait is not None:
            return rate_limited(f"this query costs {self.requested} points", wait)
        self.key = key
        return None

    async def get_results(self) -> dict[str, Any]:
        principal = getattr(self.execution_context.context, "principal", None)
        available = (
            await self.buckets.available(principal.label)
            if principal is not None
            else self.limits.bucket_size
        )
        return {
            "cost": {
                "requestedQueryCost": self.requested,
                "actualQueryCost": self.actual,
                "throttleStatus": {
                    "maximumAvailable": self.limits.bucket_size,
                    "currentlyAvailable": int(available),
                    "restoreRate": self.limits.restore_rate,
                },
            }
        }
