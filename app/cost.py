"""Static query cost (Shopify-style), computed before execution from the document and variables.

Objects cost 1, scalars 0. A connection multiplies what is selected under it by its page
size (``first``/``last``, default 20); ``nodes(ids:)`` by its ids; ``spendSummary`` by the
most buckets its arguments allow (``summary_buckets``); any other plain list of objects
counts as ``LIST_ESTIMATE`` items. Each mutation field costs ``MUTATION_COST`` plus its
payload. Introspection (``__schema``, ``__type``) and ``__typename`` cost nothing.
"""

from typing import Any

from graphql import (
    ArgumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    get_named_type,
    value_from_ast_untyped,
)

from app.summary_cost import summary_buckets
from app.validation import DOCUMENT_CACHE_BYTES, BoundedCache
from resolvers.paging import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

LIST_ESTIMATE = 10
MUTATION_COST = 10
INTROSPECTION_FIELDS = frozenset(("__schema", "__type"))


def page_size(value: Any) -> int:
    """Return the page size a ``first``/``last`` value asks for, as the resolvers bound it."""
    try:
        return min(max(int(value), 0), MAX_PAGE_SIZE)
    except (TypeError, ValueError):
        return DEFAULT_PAGE_SIZE


class _Walker:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        variables: dict[str, Any],
    ) -> None:
        self.schema, self.fragments, self.variables = schema, fragments, variables
        # the variables the cost depends on: page sizes, cached by size
        self.read: dict[str, None] = {}
        # False when other variables matter (spendSummary's, nodes' ids): never cached
        self.cacheable = True

    def _page(self, field: FieldNode) -> int:
        for argument in field.arguments or ():
            if argument.name.value in ("first", "last"):
                node = argument.value
                if isinstance(node, VariableNode):
                    self.read[node.name.value] = None
                    return page_size(self.variables.get(node.name.value))
                return page_size(getattr(node, "value", None))
        return DEFAULT_PAGE_SIZE

    def selection(
        self,
        parent: Any,
        selection_set: SelectionSetNode | None,
        multiplier: int,
        seen: frozenset[str],
    ) -> int:
        if selection_set is None or parent is None:
            return 0
        total = 0
        for node in selection_set.selections:
            if isinstance(node, FieldNode):
                total += self.field(parent, node, multiplier, seen)
            elif isinstance(node, InlineFragmentNode):
                target = (
                    self.schema.get_type(node.type_condition.name.value)
                    if node.type_condition
                    else parent
                )
                total += self.selection(target, node.selection_set, multiplier, seen)
            elif isinstance(node, FragmentSpreadNode):
                name = node.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in seen:  # undefined or cyclic: validation reports it
                    continue
                target = self.schema.get_type(fragment.type_condition.name.value)
                total += self.selection(target, fragment.selection_set, multiplier, seen | {name})
        return total

    def field(self, parent: Any, node: FieldNode, multiplier: int, seen: frozenset[str]) -> int:
        fields = getattr(parent, "fields", {})
        definition = fields.get(node.name.value)
        if definition is None:
            return 0  # __typename, introspection, or an unknown field validation rejects
        named = get_named_type(definition.type)
        if not isinstance(named, GraphQLObjectType) and not hasattr(named, "fields"):
            return 0
        if named.name.endswith("Connection"):
            page = self._page(node)
            return multiplier + self.selection(named, node.selection_set, multiplier * page, seen)
        inner = (
            definition.type.of_type
            if isinstance(definition.type, GraphQLNonNull)
            else definition.type
        )
        if isinstance(inner, GraphQLList) and not parent.name.endswith("Connection"):
            multiplier *= self._list_size(parent, node)
        return multiplier + self.selection(named, node.selection_set, multiplier, seen)

    def _list_size(self, parent: Any, node: FieldNode) -> int:
        if parent is not self.schema.query_type or node.name.value not in ("nodes", "spendSummary"):
            return LIST_ESTIMATE
        arguments = {a.name.value: a for a in node.arguments or ()}
        if any(_has_variable(a.value) for a in arguments.values()):
            self.cacheable = False
        values = {name: self._value(a) for name, a in arguments.items()}
        if node.name.value == "nodes":
            ids = values.get("ids")
            return len(ids) if isinstance(ids, list) else LIST_ESTIMATE
        return summary_buckets(self.schema, values)

    def _value(self, argument: ArgumentNode) -> Any:
        try:
            return value_from_ast_untyped(argument.value, self.variables)
        except Exception:  # a malformed value: validation or the resolver reports it
            return None


def _has_variable(node: ValueNode) -> bool:
    if isinstance(node, VariableNode):
        return True
    if isinstance(node, ListValueNode):
        return any(_has_variable(v) for v in node.values)
    if isinstance(node, ObjectValueNode):
        return any(_has_variable(f.value) for f in node.fields)
    return False


def query_cost(
    schema: GraphQLSchema,
    document: Any,
    operation_name: str | None,
    variables: dict[str, Any] | None,
) -> int:
    """Return the requested cost of the operation that will run."""
    return _walk(schema, document, operation_name, variables)[0]


def _walk(
    schema: GraphQLSchema,
    document: Any,
    operation_name: str | None,
    variables: dict[str, Any] | None,
) -> tuple[int, tuple[str, ...] | None]:
    """Return the requested cost and the names of the variables it depends on.

    None instead of names: it depends on variables other than page sizes.
    """
    fragments = _fragments(document)
    operation = _operation(document, operation_name)
    if operation is None:
        return 0, ()
    walker = _Walker(schema, fragments, variables or {})
    root = (
        schema.mutation_type if operation.operation is OperationType.MUTATION else schema.query_type
    )
    cost = walker.selection(root, operation.selection_set, 1, frozenset())
    if operation.operation is OperationType.MUTATION:
        fields = [s for s in operation.selection_set.selections if isinstance(s, FieldNode)]
        cost += MUTATION_COST * len(fields)
    return cost, tuple(walker.read) if walker.cacheable else None


def _fragments(document: Any) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def _operation(document: Any, operation_name: str | None) -> OperationDefinitionNode | None:
    return next(
        (
            d
            for d in document.definitions
            if isinstance(d, OperationDefinitionNode)
            and (operation_name is None or (d.name is not None and d.name.value == operation_name))
        ),
        None,
    )


class StaticCosts:
    """Requested costs of one schema's documents: a repeated query costs a dict lookup.

    Bounded by the bytes of the query texts held; ``query=None`` computes without keeping.
    """

    def __init__(
        self,
        max_bytes: int = DOCUMENT_CACHE_BYTES,
        sizes_per_document: int = 64,
        maxsize: int | None = None,
    ) -> None:
        self.sizes_per_document = sizes_per_document
        # (query text, operation name) -> (variables read, {their page sizes: cost})
        self._costs: BoundedCache[tuple[str, str | None], tuple[tuple[str, ...], dict[Any, int]]]
        self._costs = BoundedCache(max_bytes, max_entries=maxsize)

    def cost(
        self,
        schema: GraphQLSchema,
        query: str | None,
        document: Any,
        operation_name: str | None,
        variables: dict[str, Any] | None,
    ) -> int:
        """Return the requested cost, as :func:`query_cost` does, from the cache when known."""
        variables = variables or {}
        key = (query, operation_name) if query is not None else None
        entry = self._costs.get(key) if key is not None else None
        if entry is not None:
            known = entry[1].get(_sizes(entry[0], variables))
            if known is not None:
                return known
        cost, names = _walk(schema, document, operation_name, variables)
        if key is None or names is None:
            return cost
        if entry is None:
            entry = (names, {})
            self._costs.put(key, entry, len(key[0]) + len(key[1] or ""))
        if len(entry[1]) >= self.sizes_per_document:
            entry[1].clear()
        entry[1][_sizes(names, variables)] = cost
        return cost


def _sizes(names: tuple[str, ...], variables: dict[str, Any]) -> tuple[int, ...]:
    return tuple(page_size(variables.get(name)) for name in names)


def introspection_keys(document: Any, operation_name: str | None) -> frozenset[str]:
    """Return the response keys of the operation's ``__schema`` and ``__type`` fields."""
    operation = _operation(document, operation_name)
    if operation is None:
        return frozenset()
    fragments, keys = _fragments(document), set()
    stack, seen = [operation.selection_set], set()
    while stack:
        for node in stack.pop().selections:
            if isinstance(node, FieldNode):
                if node.name.value in INTROSPECTION_FIELDS:
                    keys.add((node.alias or node.name).value)
            elif isinstance(node, InlineFragmentNode):
                stack.append(node.selection_set)
            elif isinstance(node, FragmentSpreadNode):
                name = node.name.value
                if name in fragments and name not in seen:
                    seen.add(name)
                    stack.append(fragments[name].selection_set)
    return frozenset(keys)


def actual_cost(data: Any, exempt: frozenset[str] = frozenset()) -> int:
    """Return the objects a response really holds (what the client was served).

    ``exempt``: root keys not counted (introspection answers, free like ``__typename``).
    """
    if exempt and isinstance(data, dict):
        data = {key: value for key, value in data.items() if key not in exempt}
    return max(_objects(data) - 1, 0)  # the data object itself is free


def _objects(data: Any) -> int:
    # a loop over an explicit stack, exact types first: a 50-row page holds ~1,500 dicts
    # and lists, and a recursive call with a generator per container cost 3-4x as much
    count, stack = 0, [data]
    pop, extend = stack.pop, stack.extend
    while stack:
        item = pop()
        kind = type(item)
        if kind is dict:
            count += 1
            extend(item.values())
        elif kind is list:
            extend(item)
        elif kind is not str and isinstance(item, (dict, list)):  # subclasses: rare
            count += isinstance(item, dict)
            extend(item.values() if isinstance(item, dict) else item)
    return count
