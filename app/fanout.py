"""One GraphQL execution and one JSON encoding per event for all who get the same message.

strawberry runs a subscription's selection once per event and subscriber, and encodes
each message on its own: about 270 µs of a worker's CPU per message (bench/RESULTS.md).
Most subscriptions select only what an event row holds (``events { id cursor type
objectId ... }``): such a selection's answer depends on the row and the document alone,
so ``FeedHandler`` (app/feed_ws.py) serves them from :class:`Renders`, where the
``payload`` of each event is made once per document and visibility, and by group
(app/groups.py): every subscriber sharing them gets the same bytes in its ``next`` message.

Which events a subscriber gets is still its own: its group reads the feed with the
subscriber's visibility, from a cursor it has caught up with; its own task checks the
credential again and counts the subscription. A selection that needs more (a referenced
member, fragments, directives) or any invalid document goes to strawberry as before
(``Session.stream``, app/subscriptions.py), with every limit and error of the HTTP path.
"""

import functools
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLObjectType,
    GraphQLSchema,
    OperationType,
    SelectionSetNode,
    execute,
    get_named_type,
    get_operation_ast,
    parse,
    validate,
)
from graphql.execution.values import get_argument_values, get_variable_values
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import Operation

from app.errors import ensure_codes
from schema.event import Event

MAX_FIELDS = 100  # selections of a document served by group; more: strawberry serves it
KEPT_RENDERS = 4096  # events' payloads kept for the subscribers still on their way to them


@dataclass(frozen=True)
class Plan:
    """An ``events`` subscription served by group: its document and arguments."""

    document: DocumentNode
    operation_name: str | None
    variables: dict[str, Any]
    after: str | None
    types: tuple[str, ...] | None
    key: bytes  # the same for every subscription whose messages are the same
    shape: tuple[str, str | None]  # what its messages depend on: the query, the operation


@functools.lru_cache(maxsize=256)
def _checked(schema: GraphQLSchema, query: str) -> DocumentNode | None:
    """Return the parsed document when it is valid and selects only row fields, else None."""
    try:
        document = parse(query, max_tokens=2000)
    except GraphQLError:
        return None
    if validate(schema, document) or schema.subscription_type is None:
        return None
    return document


def plan_of(schema: GraphQLSchema, operation: Operation[Any, Any]) -> Plan | None:
    """Return how to serve ``operation`` by group, or None when strawberry must serve it."""
    document = _checked(schema, operation.query)
    if document is None:
        return None
    found = get_operation_ast(document, operation.operation_name)
    root = schema.subscription_type
    if found is None or found.operation != OperationType.SUBSCRIPTION or root is None:
        return None
    [field] = found.selection_set.selections if len(found.selection_set.selections) == 1 else [None]
    if not isinstance(field, FieldNode) or field.directives or field.name.value != "events":
        return None
    event_type = get_named_type(root.fields["events"].type)
    if not isinstance(event_type, GraphQLObjectType) or _row_fields(
        event_type, field.selection_set
    ) in (None, 0):
        return None
    definitions = found.variable_definitions or ()
    coerced = get_variable_values(schema, definitions, operation.variables or {})
    if isinstance(coerced, list):  # errors: strawberry words them
        return None
    args = get_argument_values(root.fields["events"], field, coerced)
    key = orjson.dumps([operation.query, operation.operation_name, operation.variables or {}],
                       option=orjson.OPT_SORT_KEYS)  # fmt: skip
    types = args.get("types")
    return Plan(document, operation.operation_name, operation.variables or {}, args.get("after"),
                None if types is None else tuple(types), key,
                (operation.query, operation.operation_name))  # fmt: skip


def _row_fields(parent: GraphQLObjectType, selections: SelectionSetNode | None) -> int | None:
    """Return how many fields select only what the row holds (None: something else)."""
    if selections is None:
        return 0
    count = 0
    for node in selections.selections:
        if not isinstance(node, FieldNode) or node.directives or node.alias is not None:
            return None  # fragments, directives, aliases: strawberry's, with their limits
        count += 1
        if node.name.value == "__typename":
            continue
        definition = parent.fields[node.name.value]
        declared = (definition.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
        if declared is None or declared.base_resolver is not None:
            return None  # a resolver may read more than the row (a member, a loader)
        child = get_named_type(definition.type)
        if isinstance(child, GraphQLObjectType):
            inner = _row_fields(child, node.selection_set)
            if inner is None:
                return None
            count += inner
    return None if count > MAX_FIELDS else count


class Renders:
    """Each event's ``payload`` per plan and visibility, made once (the last few kept)."""

    def __init__(self, schema: GraphQLSchema) -> None:
        self.schema = schema
        self.made = 0  # executions, for the tests and the benchmark
        self._kept: OrderedDict[tuple[Any, ...], str] = OrderedDict()

    def payload(self, plan: Plan, visibility: Any, row: Any) -> str:
        """Return the JSON of the ``next`` payload of ``row`` under ``plan``."""
        key = (plan.key, visibility, row.id)
        found = self._kept.get(key)
        if found is None:
            found = self._kept[key] = self._render(plan, row)
            if len(self._kept) > KEPT_RENDERS:
                self._kept.popitem(last=False)
        return found

    def _render(self, plan: Plan, row: Any) -> str:
        self.made += 1
        result = execute(self.schema, plan.document, root_value=Event.of(row),
                         variable_values=plan.variables, operation_name=plan.operation_name)  # fmt: skip
        assert not hasattr(result, "__await__"), "row fields resolve without awaiting"
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            body["errors"] = [e.formatted for e in ensure_codes(result.errors, "ws")]
        return orjson.dumps(body).decode()
