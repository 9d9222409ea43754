"""Every use of strawberry's and graphql-core's non-public parts, in one place.

Both packages are pinned in pyproject.toml; tests/execution/test_compat.py fails when
an installed version differs from :data:`PINNED`, so an upgrade starts here.
"""

from collections.abc import Mapping
from typing import Any

import strawberry
from graphql import GraphQLField, GraphQLObjectType, GraphQLSchema
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.arguments import convert_arguments
from strawberry.types.base import StrawberryObjectDefinition
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
    converter = schema.schema_converter
    return convert_arguments(
        dict(values),
        field.arguments,
        scalar_registry=converter.scalar_registry,
        config=schema.config,
    )
