"""Every use of strawberry's and graphql-core's non-public parts, in one place.

Both packages are pinned in pyproject.toml; tests/execution/test_compat.py fails when
an installed version differs from :data:`PINNED`, so an upgrade starts here.
"""

import dataclasses
from collections.abc import Callable, Mapping
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
from strawberry.types.arguments import _is_leaf_type, _is_optional_leaf_type, convert_arguments
from strawberry.types.base import (
    StrawberryList,
    StrawberryMaybe,
    StrawberryObjectDefinition,
    StrawberryOptional,
)
from strawberry.types.enum import has_enum_definition
from strawberry.types.field import StrawberryField
from strawberry.types.lazy_type import LazyType
from strawberry.types.unset import UNSET

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

    Python names, input objects as their strawberry classes, enums as enum members: what
    strawberry's ``convert_arguments`` returns, by converters made once per field (its
    walk asks each input field's type and GraphQL name anew at every request: a sync
    page's arguments, its filter holding a variable, took 84 us, now 4).
    """
    converters = _argument_converters(schema, field)
    if converters is None:  # a type it leaves to strawberry (GlobalID, Maybe, from_input)
        return convert_arguments(
            dict(values),
            field.arguments,
            scalar_registry=schema.schema_converter.scalar_registry,
            config=schema.config,
        )
    return {
        python: values[name] if convert is None else convert(values[name])
        for name, python, convert in converters
        if name in values
    }


Convert = Callable[[Any], Any]
# each argument's GraphQL name, Python name and converter (None: the value as it is)
Converters = tuple[tuple[str, str, Convert | None], ...]
# id(field) -> (field, its converters or None); fields live as long as their schema
_converters: dict[int, tuple[StrawberryField, Converters | None]] = {}


class _LeftToStrawberry(Exception):
    """A type :func:`_converter` does not convert: strawberry's own walk does."""


def _argument_converters(schema: strawberry.Schema, field: StrawberryField) -> Converters | None:
    """Return the converters of ``field``'s arguments, made on its first use."""
    known = _converters.get(id(field))
    if known is not None and known[0] is field:
        return known[1]
    answer: Converters | None = None
    try:
        answer = tuple(
            (
                schema.config.name_converter.from_argument(argument),
                argument.python_name or "",
                _converter(argument.type, schema),
            )
            for argument in field.arguments
        )
    except _LeftToStrawberry:
        pass
    if len(_converters) > 10_000:  # schemas built again and again (tests)
        _converters.clear()
    _converters[id(field)] = (field, answer)
    return answer


def _converter(type_: Any, schema: strawberry.Schema) -> Convert | None:
    """Return what strawberry's ``convert_argument`` does to a value of ``type_``.

    None for a leaf (graphql-core coerced it already: a scalar, an enum member), which
    comes back as it is; a list of leaves is copied (graphql-core shares a default list
    between requests); an input object is made from its fields. Null and UNSET stay.
    """
    registry = schema.schema_converter.scalar_registry
    if isinstance(type_, StrawberryMaybe):
        raise _LeftToStrawberry(type_)
    if isinstance(type_, StrawberryOptional):
        return _converter(type_.of_type, schema)
    if isinstance(type_, StrawberryList):
        item = type_.of_type
        if _is_leaf_type(item, registry, (GlobalID,)) or _is_optional_leaf_type(
            item, registry, (GlobalID,)
        ):
            return _kept(list)
        each = _converter(item, schema)
        return _kept(list if each is None else lambda value: [each(x) for x in value])
    if _is_leaf_type(type_, registry):
        if type_ is GlobalID:
            raise _LeftToStrawberry(type_)
        return None
    if isinstance(type_, LazyType):
        return _converter(type_.resolve_type(), schema)
    if has_enum_definition(type_):
        return None  # convert_argument's enum definition is a leaf
    definition = getattr(type_, "__strawberry_definition__", None)
    if not isinstance(definition, StrawberryObjectDefinition) or definition.from_input:
        raise _LeftToStrawberry(type_)
    return _kept(_input_maker(type_, definition, schema))


def _input_maker(
    type_: type, definition: StrawberryObjectDefinition, schema: strawberry.Schema
) -> Convert:
    """Return what makes an input object of ``type_`` from its GraphQL fields' values."""
    # inputs: None for each field without a default (graphql-core gave every required one)
    unset = {
        field.python_name: None
        for field in definition.fields
        if definition.is_input
        and field.default_value is dataclasses.MISSING
        and field.default_factory is dataclasses.MISSING
    }
    fields = tuple(
        (
            schema.config.name_converter.from_field(field),
            field.python_name,
            _converter(field.resolve_type(type_definition=definition), schema),
        )
        for field in definition.fields
    )

    def make(value: Mapping[str, Any]) -> Any:
        kwargs = dict(unset)
        for name, python, convert in fields:
            if name in value:
                given = value[name]
                kwargs[python] = given if convert is None else convert(given)
        return type_(**kwargs)

    return make


def _kept(convert: Convert) -> Convert:
    """Return ``convert`` for a value that may be null or UNSET, which stay as they are."""
    return lambda value: value if value is None or value is UNSET else convert(value)


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
