"""Static query cost (Shopify-style), computed before execution from the document and variables.

Objects cost 1, scalars 0. A connection multiplies what is selected under it by its page
size (``first``/``last``, default 20); a plain list of objects counts as ``LIST_ESTIMATE``
items. Each mutation field costs ``MUTATION_COST`` plus its payload.
"""

from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    get_named_type,
)

from resolvers.paging import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

LIST_ESTIMATE = 10
MUTATION_COST = 10


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
        # the variables the cost depends on: only page sizes do
        self.read: dict[str, None] = {}

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
            multiplier *= LIST_ESTIMATE
        return multiplier + self.selection(named, node.selection_set, multiplier, seen)


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
) -> tuple[int, tuple[str, ...]]:
    """Return the requested cost and the names of the variables it depends on."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    operation = next(
        (
            o
            for o in operations
            if operation_name is None or (o.name and o.name.value == operation_name)
        ),
        None,
    )
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
    return cost, tuple(walker.read)


class StaticCosts:
    """Requested costs of one schema's documents: a repeated query costs a dict lookup."""

    def __init__(self, maxsize: int = 1000, sizes_per_document: int = 64) -> None:
        self.maxsize, self.sizes_per_document = maxsize, sizes_per_document
        # (query text, operation name) -> (variables read, {their page sizes: cost})
        self._costs: dict[tuple[str, str | None], tuple[tuple[str, ...], dict[Any, int]]] = {}

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
        entry = self._costs.get((query, operation_name)) if query is not None else None
        if entry is not None:
            known = entry[1].get(_sizes(entry[0], variables))
            if known is not None:
                return known
        cost, names = _walk(schema, document, operation_name, variables)
        if query is None:
            return cost
        if entry is None:
            if len(self._costs) >= self.maxsize:
                del self._costs[next(iter(self._costs))]  # the oldest document goes first
            entry = self._costs[(query, operation_name)] = (names, {})
        if len(entry[1]) >= self.sizes_per_document:
            entry[1].clear()
        entry[1][_sizes(names, variables)] = cost
        return cost


def _sizes(names: tuple[str, ...], variables: dict[str, Any]) -> tuple[int, ...]:
    return tuple(page_size(variables.get(name)) for name in names)


def actual_cost(data: Any) -> int:
    """Return the objects a response really holds (what the client was served)."""
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
