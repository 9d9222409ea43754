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


class _Walker:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        variables: dict[str, Any],
    ) -> None:
        self.schema, self.fragments, self.variables = schema, fragments, variables

    def _page(self, field: FieldNode) -> int:
        for argument in field.arguments or ():
            if argument.name.value in ("first", "last"):
                node = argument.value
                value = (
                    self.variables.get(node.name.value)
                    if isinstance(node, VariableNode)
                    else getattr(node, "value", None)
                )
                try:
                    return min(max(int(value), 0), MAX_PAGE_SIZE)  # type: ignore[arg-type]
                except (TypeError, ValueError):
                    return DEFAULT_PAGE_SIZE
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
        return 0
    walker = _Walker(schema, fragments, variables or {})
    root = (
        schema.mutation_type if operation.operation is OperationType.MUTATION else schema.query_type
    )
    if operation.operation is OperationType.MUTATION:
        fields = [s for s in operation.selection_set.selections if isinstance(s, FieldNode)]
        return MUTATION_COST * len(fields) + walker.selection(
            root, operation.selection_set, 1, frozenset()
        )
    return walker.selection(root, operation.selection_set, 1, frozenset())


def actual_cost(data: Any) -> int:
    """Return the objects a response really holds (what the client was served)."""
    return max(_objects(data) - 1, 0)  # the data object itself is free


def _objects(data: Any) -> int:
    if isinstance(data, dict):
        return 1 + sum(_objects(v) for v in data.values())
    if isinstance(data, list):
        return sum(_objects(v) for v in data)
    return 0
