"""Every field a query can reach is planned by the fast lane, or listed as reference-only."""

from graphql import (
    FieldNode,
    GraphQLObjectType,
    OperationDefinitionNode,
    get_named_type,
    is_leaf_type,
    parse,
)

from execution import compat
from execution.plan import REFERENCE_ONLY, Unsupported, _Planner
from schema.build import build_schema
from schema.fields import SOURCED, Sourced


def _unplanned() -> dict[str, str]:
    """Return the fields reachable from Query that the planner refuses, with its reasons."""
    core = compat.core_schema(build_schema())
    assert core.query_type is not None
    planner = _Planner(core, {})
    refused: dict[str, str] = {}
    seen: set[str] = set()
    todo: list[GraphQLObjectType] = [core.query_type]
    while todo:
        object_type = todo.pop()
        if object_type.name in seen:
            continue
        seen.add(object_type.name)
        for name, field_def in object_type.fields.items():
            operation = parse(f"{{ {name} }}").definitions[0]
            assert isinstance(operation, OperationDefinitionNode)
            node = operation.selection_set.selections[0]
            assert isinstance(node, FieldNode)
            try:
                planner.plan(object_type, name, [node])
            except Unsupported as why:
                refused[f"{object_type.name}.{name}"] = str(why)
            named = get_named_type(field_def.type)
            if not is_leaf_type(named):
                todo.extend(planner.concrete_types(named))
    assert len(seen) > 20  # the walk reached the whole read API
    return refused


def test_every_reachable_field_is_planned_or_listed() -> None:
    assert sorted(_unplanned()) == sorted(REFERENCE_ONLY)


def test_every_sourced_type_declares_each_field() -> None:
    # a field of a sourced type with neither Get nor Fetch would be unplannable: caught above;
    # here, the registry of sourced types holds every node type under its GraphQL name
    for name in ("Expense", "Member", "Team", "Card", "Category", "Receipt", "Business"):
        assert issubclass(SOURCED[name], Sourced), name
