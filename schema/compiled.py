"""Compiled execution of cached query documents: graphql-core's answers, far less work per field.

graphql-core completes every field of every object on its own: a resolve info, an awaited
resolver wrapped by strawberry, a type dispatch, an asyncio task for each list item.
That costs tens of microseconds a field, and a 50-row page has over a thousand fields.
Here a query document is compiled once (per text, while the parse cache keeps it) into a
tree of :class:`FieldPlan` and run a level at a time: each field is resolved for all
objects of its level together (one ``getattr`` loop for plain attributes, one hand-stepped
gather for resolver methods, so DataLoaders batch as before), and lists are flattened so
that the next level again sees all objects at once.

The standard path stays the reference. A document with anything the compiler does not
handle (directives, introspection, fragment arguments, mutations) is not compiled, and a
compiled run that meets any error (a resolver raising, a null in a non-null field, an
abstract type it cannot resolve) is thrown away and the operation re-run by graphql-core,
which reports errors, partial data and nulls exactly as the specification wants. Only
queries are compiled, so running a failed one twice changes nothing.
"""

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLAbstractType,
    GraphQLBoolean,
    GraphQLField,
    GraphQLID,
    GraphQLLeafType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLString,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    is_abstract_type,
    is_leaf_type,
)

from schema.batch import twin_of

BACKREF = "strawberry-definition"  # GraphQLCoreConverter.DEFINITION_BACKREF


class Unsupported(Exception):
    """The document uses something the compiler leaves to graphql-core."""


@dataclass(eq=False)
class FieldPlan:
    """One response key of a selection set on one object type, and how to fill it."""

    key: str
    parent_type: GraphQLObjectType
    field_def: GraphQLField | None  # None for __typename
    nodes: list[FieldNode]
    how: str  # "typename" | "attr" | "method" | "resolve"
    python_name: str = ""
    # the named return type is a scalar or enum: values complete without a coroutine
    leaf: bool = False
    # for a "method": its batch twin (schema/batch.py), called once for all objects
    batch: Callable[[Any, list[Any]], Awaitable[list[Any]]] | None = None
    # the return type's plans: per concrete object type name
    children: dict[str, list["FieldPlan"]] = field(default_factory=dict)


def compile_operation(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: dict[str, FragmentDefinitionNode],
) -> list[FieldPlan] | None:
    """Return the root fields' plans of a query operation, or None for graphql-core."""
    root_type = schema.query_type
    if operation.operation is not OperationType.QUERY or root_type is None or operation.directives:
        return None
    try:
        return _plans(schema, fragments, root_type, [operation.selection_set])
    except Unsupported:
        return None


def _plans(
    schema: GraphQLSchema,
    fragments: dict[str, FragmentDefinitionNode],
    object_type: GraphQLObjectType,
    selection_sets: Sequence[SelectionSetNode],
) -> list[FieldPlan]:
    grouped: dict[str, list[FieldNode]] = {}
    _collect(schema, fragments, object_type, selection_sets, grouped, set())
    plans = []
    for key, nodes in grouped.items():
        plan = _plan(schema, object_type, key, nodes)
        if plan.field_def is not None:
            named = get_named_type(plan.field_def.type)
            plan.leaf = is_leaf_type(named)
            if not plan.leaf:
                subsets = [node.selection_set for node in nodes if node.selection_set]
                for concrete in _concrete_types(schema, named):
                    plan.children[concrete.name] = _plans(schema, fragments, concrete, subsets)
        plans.append(plan)
    return plans


def _collect(
    schema: GraphQLSchema,
    fragments: dict[str, FragmentDefinitionNode],
    object_type: GraphQLObjectType,
    selection_sets: Iterable[SelectionSetNode],
    grouped: dict[str, list[FieldNode]],
    visited: set[str],
) -> None:
    """Group the fields selected on ``object_type`` by response key, as CollectFields does."""
    for selection_set in selection_sets:
        for selection in selection_set.selections:
            if selection.directives:  # @skip/@include/@defer depend on variables: not compiled
                raise Unsupported("directive")
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                grouped.setdefault(key, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                if condition is None or _applies(schema, condition.name.value, object_type):
                    _collect(
                        schema, fragments, object_type, [selection.selection_set], grouped, visited
                    )
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = fragments.get(name)
                if name in visited or fragment is None:
                    continue
                visited.add(name)
                if fragment.directives or getattr(fragment, "variable_definitions", None):
                    raise Unsupported("fragment directives or arguments")
                if _applies(schema, fragment.type_condition.name.value, object_type):
                    _collect(
                        schema, fragments, object_type, [fragment.selection_set], grouped, visited
                    )


def _applies(schema: GraphQLSchema, condition: str, object_type: GraphQLObjectType) -> bool:
    condition_type = schema.get_type(condition)
    if condition_type is object_type:
        return True
    return is_abstract_type(condition_type) and schema.is_sub_type(
        condition_type,  # type: ignore[arg-type]
        object_type,
    )


def _plan(
    schema: GraphQLSchema, object_type: GraphQLObjectType, key: str, nodes: list[FieldNode]
) -> FieldPlan:
    name = nodes[0].name.value
    if name == "__typename":
        return FieldPlan(key, object_type, None, nodes, "typename")
    field_def = object_type.fields.get(name)
    if field_def is None or name.startswith("__"):  # introspection stays with graphql-core
        raise Unsupported(name)
    strawberry_field = (field_def.extensions or {}).get(BACKREF)
    resolve = field_def.resolve
    if strawberry_field is not None and getattr(resolve, "_is_default", False):
        return FieldPlan(key, object_type, field_def, nodes, "attr", strawberry_field.python_name)
    if (
        strawberry_field is not None
        and strawberry_field.base_resolver is not None
        and not strawberry_field.extensions  # permission classes are extensions
    ):
        # a twin takes the objects alone: fields with arguments call their method per object
        twin = None if field_def.args else twin_of(strawberry_field.base_resolver.wrapped_func)
        return FieldPlan(key, object_type, field_def, nodes, "method", batch=twin)
    if resolve is None:
        raise Unsupported(f"{object_type.name}.{name} has no resolver")
    return FieldPlan(key, object_type, field_def, nodes, "resolve")


def _concrete_types(schema: GraphQLSchema, named: Any) -> Sequence[GraphQLObjectType]:
    if isinstance(named, GraphQLObjectType):
        return [named]
    if is_abstract_type(named):
        return schema.get_possible_types(named)
    raise Unsupported(f"{named} is neither object, abstract nor leaf")


# built-in scalars whose serialisation returns a value of these types unchanged
_UNCHANGED = {
    id(GraphQLString): frozenset({str, type(None)}),
    id(GraphQLID): frozenset({str, type(None)}),
    id(GraphQLBoolean): frozenset({bool, type(None)}),
}


def leaf_values(values: list[Any], type_: GraphQLLeafType) -> list[Any]:
    """Return serialised leaf values; a value the type cannot serialise is an error."""
    unchanged = _UNCHANGED.get(id(type_))
    if unchanged is not None and set(map(type, values)) <= unchanged:
        return values  # strings as strings, booleans as booleans: nothing to do
    serialize = type_.serialize
    out: list[Any] = []
    for value in values:
        if value is None:
            out.append(None)
            continue
        serialized = serialize(value)
        if serialized is None:
            raise TypeError(f"{type_.name} cannot represent {value!r}")
        out.append(serialized)
    return out


def abstract_groups(
    values: list[Any],
    abstract: GraphQLAbstractType,
    runtime_name: Callable[[Any], Any],
) -> dict[str, list[int]]:
    """Return the positions of the non-null values, grouped by their runtime type name."""
    groups: dict[str, list[int]] = {}
    for i, value in enumerate(values):
        if value is None:
            continue
        name = runtime_name(value)
        if isinstance(name, GraphQLObjectType):
            name = name.name
        if not isinstance(name, str):
            raise Unsupported(f"cannot resolve the type of {value!r} in {abstract.name}")
        groups.setdefault(name, []).append(i)
    return groups
