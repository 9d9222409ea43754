"""What is refused once a document is parsed and before it is validated (``ValidationGate``).

A caller without a credential may run introspection only; a document is limited in
selections by one linear count; validating a new document costs the caller's bucket.
"""

from collections.abc import AsyncIterator
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
)
from strawberry.extensions import SchemaExtension

from app.limits import Buckets, LimitSettings, rate_limited, too_complex
from app.validation import DocumentValidationCache
from resolvers.errors import ErrorCode

# what an anonymous request may select at its root
ANONYMOUS_FIELDS = frozenset(("__schema", "__type", "__typename"))
# whose bucket pays for validating anonymous (introspection) requests
ANONYMOUS_BUCKET = "anonymous"


def count_selections(document: DocumentNode, limit: int) -> int:
    """Return the selections graphql-core would walk: a fragment counts at each spread.

    Every operation, and every fragment no operation spreads (validated all the same).
    A spread of a fragment inside itself stops there; counting stops past ``limit``.
    """
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    stack: list[tuple[SelectionSetNode, frozenset[str]]] = [
        (d.selection_set, frozenset())
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
    ]
    spread: set[str] = set()
    count = 0
    while stack or len(spread) < len(fragments):
        if not stack:  # the operations are counted: now the fragments none of them spreads
            name = next(n for n in fragments if n not in spread)
            spread.add(name)
            stack.append((fragments[name].selection_set, frozenset((name,))))
        selection_set, path = stack.pop()
        for node in selection_set.selections:
            count += 1
            if count > limit:
                return count
            if isinstance(node, FragmentSpreadNode):
                name = node.name.value
                if name in fragments and name not in path:
                    spread.add(name)
                    stack.append((fragments[name].selection_set, path | {name}))
            elif isinstance(node, (FieldNode, InlineFragmentNode)) and node.selection_set:
                stack.append((node.selection_set, path))
    return count


def validation_points(selections: int) -> int:
    """Return what validating a new document of ``selections`` costs the caller's bucket.

    Quadratic, as graphql-core's overlapping-fields check is: 450 ``member { id }`` took
    about a second; a 50-field dashboard query costs 3 points, 500 selections 251.
    """
    return 1 + selections * selections // 1000


def introspection_only(document: DocumentNode) -> bool:
    """Return True when there are operations, all queries selecting only ``__schema``,
    ``__type`` and ``__typename``."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if not operations or any(op.operation is not OperationType.QUERY for op in operations):
        return False
    stack = [op.selection_set for op in operations]
    seen: set[str] = set()
    while stack:
        for node in stack.pop().selections:
            if isinstance(node, FieldNode):
                if node.name.value not in ANONYMOUS_FIELDS:
                    return False
            elif isinstance(node, InlineFragmentNode):
                stack.append(node.selection_set)
            elif isinstance(node, FragmentSpreadNode):
                name = node.name.value
                if name not in fragments:
                    return False  # undefined: nothing a caller without a credential is told
                if name not in seen:
                    seen.add(name)
                    stack.append(fragments[name].selection_set)
    return True


class ValidationGate(SchemaExtension):
    """Refuse, once a document is parsed and before it is validated, what must not be validated.

    A caller without a credential gets UNAUTHENTICATED for anything but introspection. A
    document with more than ``max_fields`` selections is QUERY_TOO_COMPLEX. Validating a
    document not validated yet costs the caller's bucket :func:`validation_points` (anonymous
    callers share one bucket). This runs at the end of ``on_parse``: ``on_validate`` hooks
    run in registration order, and the validation cache, registered before the limits,
    validates in its own; it skips documents refused here.
    """

    def __init__(self, limits: LimitSettings, buckets: Buckets) -> None:
        self.limits, self.buckets = limits, buckets

    async def on_parse(self) -> AsyncIterator[None]:
        yield
        context = self.execution_context
        document = context.graphql_document
        if document is not None and context.pre_execution_errors is None:
            refusal = await self._refusal(getattr(context.context, "principal", None), document)
            if refusal is not None:
                context.pre_execution_errors = [refusal]

    async def _refusal(self, principal: Any, document: DocumentNode) -> GraphQLError | None:
        if principal is None and not introspection_only(document):
            return GraphQLError(
                "Authentication required: send Authorization: Bearer <token or API key>.",
                extensions={"code": ErrorCode.UNAUTHENTICATED.value},
            )
        if principal is not None and DocumentValidationCache.holds(self.execution_context):
            return None
        selections = count_selections(document, self.limits.max_fields)
        if selections > self.limits.max_fields:
            return too_complex(
                f"The document has more than {self.limits.max_fields} selections (fields and "
                "fragment spreads, a fragment counted at each spread)."
            )
        points = validation_points(selections)
        key = principal.label if principal is not None else ANONYMOUS_BUCKET
        wait = await self.buckets.take(key, points)
        if wait is None:
            return None
        return rate_limited(f"validating this new document costs {points} points", wait)
