"""Every use of strawberry's and graphql-core's non-public parts, in one place.

Both packages are pinned in pyproject.toml; tests/execution/test_compat.py fails when
an installed version differs from :data:`PINNED`, so an upgrade starts here.
"""

from collections.abc import Mapping
from typing import Any

import strawberry
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLObjectType,
    GraphQLSchema,
    OperationDefinitionNode,
    Undefined,
    coerce_input_value,
    is_non_null_type,
)
from graphql.execution.get_variable_signature import (
    GraphQLVariableSignature,
    get_variable_signature,
)
from graphql.execution.values import (
    VariableValues,
    VariableValuesOrErrors,
    VariableValueSource,
    get_variable_values,
    input_is_nested_too_deeply,
)
from strawberry.relay.types import GlobalID
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.arguments import _is_leaf_type, convert_arguments
from strawberry.types.base import (
    StrawberryList,
    StrawberryMaybe,
    StrawberryObjectDefinition,
    StrawberryOptional,
)
from strawberry.types.field import StrawberryField

PINNED = {"strawberry-graphql": "0.341.2", "graphql-core": "3.3.2"}
BACKREF = GraphQLCoreConverter.DEFINITION_BACKREF  # strawberry's object behind a core one
# strawberry's graphql-core execution context, which execution/context.py extends
ExecutionContext = StrawberryGraphQLCoreExecutionContext


def core_schema(schema: strawberry.Schema) -> GraphQLSchema:
    """Return the graphql-core schema strawberry built."""
    return schema._schema


def strawberry_schema_of(schema: GraphQLSchema) -> strawberry.Schema:
    """Return the strawberry schema that built a graphql-core schema."""
    return schema._strawberry_schema  # type: ignore[attr-defined, no-any-return]


def enum_names(type_: GraphQLEnumType) -> dict[Any, str] | None:
    """Return the GraphQL name of each member of a strawberry enum's Python class, or None.

    What strawberry's ``CustomGraphQLEnumType.serialize`` answers for a member, which it
    finds by comparing the member's value with each of the type's in turn.
    """
    wrapped = getattr(type_, "wrapped_cls", None)
    if wrapped is None:
        return None
    by_value = {value.value: name for name, value in type_.values.items()}
    return {member: by_value[member.value] for member in wrapped if member.value in by_value}


def strawberry_field(field_def: GraphQLField) -> StrawberryField | None:
    """Return the strawberry field a graphql-core field was made from."""
    return (field_def.extensions or {}).get(BACKREF)


def object_class(object_type: GraphQLObjectType) -> type | None:
    """Return the Python class of a strawberry object type (specialised for generics)."""
    definition = (object_type.extensions or {}).get(BACKREF)
    return definition.origin if isinstance(definition, StrawberryObjectDefinition) else None


def default_resolver(field_def: GraphQLField) -> bool:
    """Return True when strawberry resolves the field by reading an attribute."""
    return bool(getattr(field_def.resolve, "_is_default", False))


def resolver_arguments(
    schema: strawberry.Schema, field: StrawberryField, values: Mapping[str, Any]
) -> dict[str, Any]:
    """Return graphql-core argument values as the field's resolver takes them.

    Python names, input objects as their strawberry classes, enums as enum members.
    """
    plain = _plain_arguments(schema, field)
    if plain is not None:  # what convert_arguments would return, without its walk
        return {
            python: list(values[name]) if copied and values[name] is not None else values[name]
            for name, python, copied in plain
            if name in values
        }
    converter = schema.schema_converter
    return convert_arguments(
        dict(values),
        field.arguments,
        scalar_registry=converter.scalar_registry,
        config=schema.config,
    )


# id(field) -> (field, its plain arguments or None); fields live as long as their schema
_plain: dict[int, tuple[StrawberryField, tuple[tuple[str, str, bool], ...] | None]] = {}


def _plain_arguments(
    schema: strawberry.Schema, field: StrawberryField
) -> tuple[tuple[str, str, bool], ...] | None:
    """Return (GraphQL name, Python name, copied) of each argument, if none needs converting.

    convert_arguments returns a leaf value (a scalar, an enum member), or an optional one,
    as graphql-core coerced it, and a list of leaves as a copy (graphql-core shares a
    default list between requests); anything else (inputs, GlobalID, Maybe) it converts.
    """
    known = _plain.get(id(field))
    if known is not None and known[0] is field:
        return known[1]
    answer = _plain_of(schema, field)
    if len(_plain) > 10_000:  # schemas built again and again (tests)
        _plain.clear()
    _plain[id(field)] = (field, answer)
    return answer


def _plain_of(
    schema: strawberry.Schema, field: StrawberryField
) -> tuple[tuple[str, str, bool], ...] | None:
    registry = schema.schema_converter.scalar_registry
    plain: list[tuple[str, str, bool]] = []
    for argument in field.arguments:
        type_, copied = argument.type, False
        if isinstance(type_, StrawberryOptional) and not isinstance(type_, StrawberryMaybe):
            type_ = type_.of_type
        if isinstance(type_, StrawberryList):
            type_, copied = type_.of_type, True
            if isinstance(type_, StrawberryOptional) and not isinstance(type_, StrawberryMaybe):
                type_ = type_.of_type
        if type_ is GlobalID or not _is_leaf_type(type_, registry):
            return None
        assert argument.python_name
        name = schema.config.name_converter.from_argument(argument)
        plain.append((name, argument.python_name, copied))
    return tuple(plain)


# id(operation) -> (operation, its variables' signatures); bounded like the plans holding them
_signatures: dict[int, tuple[OperationDefinitionNode, list[GraphQLVariableSignature] | None]] = {}


def variable_values(
    schema: GraphQLSchema, operation: OperationDefinitionNode, inputs: dict[str, Any]
) -> VariableValuesOrErrors:
    """Return what ``get_variable_values`` returns (one error at most) for ``operation``.

    The variables' signatures are read from the document once per operation, not per
    request. Values given and coercing cleanly, or nullable ones left out without a
    default, are coerced here as graphql-core does; anything else (a default, an error)
    goes through ``get_variable_values`` itself.
    """
    definitions = operation.variable_definitions or ()
    known = _signatures.get(id(operation))
    if known is None or known[0] is not operation:
        signatures: list[GraphQLVariableSignature] | None = []
        for definition in definitions:
            signature = get_variable_signature(schema, definition)
            if not isinstance(signature, GraphQLVariableSignature):
                signatures = None
                break
            assert signatures is not None
            signatures.append(signature)
        if len(_signatures) > 10_000:
            _signatures.clear()
        known = _signatures[id(operation)] = (operation, signatures)
    signatures = known[1]
    if signatures is None:
        return get_variable_values(schema, definitions, inputs, max_errors=1)
    sources: dict[str, VariableValueSource] = {}
    coerced: dict[str, Any] = {}
    for signature in signatures:
        name, type_ = signature.name, signature.type
        value = inputs.get(name, Undefined)
        if value is Undefined:
            if signature.default is not None or is_non_null_type(type_):
                return get_variable_values(schema, definitions, inputs, max_errors=1)
            sources[name] = VariableValueSource(signature)
            continue
        if input_is_nested_too_deeply(value, type_):
            return get_variable_values(schema, definitions, inputs, max_errors=1)
        sources[name] = VariableValueSource(signature, value)
        value = coerce_input_value(value, type_)
        if value is Undefined:
            return get_variable_values(schema, definitions, inputs, max_errors=1)
        coerced[name] = value
    return VariableValues(sources, coerced)
