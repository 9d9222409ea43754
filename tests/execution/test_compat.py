"""The versions execution/compat.py was written against are the ones installed."""

from importlib.metadata import version
from typing import Any

import pytest

from execution.compat import PINNED


@pytest.mark.parametrize("package", sorted(PINNED))
def test_the_pinned_version_is_installed(package: str) -> None:
    # an upgrade changes the private parts compat.py reads: review it, then move the pin
    assert version(package) == PINNED[package]


def test_pyproject_pins_the_same_versions() -> None:
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    for package, pinned in PINNED.items():
        assert f'"{package}=={pinned}"' in text, package


def test_the_private_parts_still_answer() -> None:
    from graphql import GraphQLObjectType

    from execution import compat
    from schema.base import Money
    from schema.build import build_schema
    from schema.expense import Expense
    from schema.expense_inputs import ExpenseFilter

    schema = build_schema()
    core = compat.core_schema(schema)
    expense, money, query = core.get_type("Expense"), core.get_type("Money"), core.query_type
    assert isinstance(expense, GraphQLObjectType) and isinstance(money, GraphQLObjectType)
    assert query is not None
    assert compat.object_class(expense) is Expense
    assert compat.object_class(money) is Money
    assert compat.default_resolver(money.fields["amount"])
    assert not compat.default_resolver(expense.fields["member"])
    expenses = query.fields["expenses"]
    declared = compat.strawberry_field(expenses)
    assert declared is not None and declared.python_name == "expenses"
    converted = compat.resolver_arguments(
        schema, declared, {"first": 3, "filter": {"merchantSearch": "taxi"}}
    )
    assert converted["first"] == 3
    assert isinstance(converted["filter"], ExpenseFilter)
    assert converted["filter"].merchant_search == "taxi"


def _sample(type_: object, depth: int = 0) -> object:
    """Return a value graphql-core could hand a resolver for an argument of ``type_``: an
    input object with every field given (to a depth of three)."""
    from graphql import (
        GraphQLEnumType,
        GraphQLInputObjectType,
        GraphQLList,
        GraphQLNonNull,
        GraphQLScalarType,
    )

    if isinstance(type_, GraphQLNonNull):
        return _sample(type_.of_type, depth)
    if isinstance(type_, GraphQLList):
        return [_sample(type_.of_type, depth), _sample(type_.of_type, depth)]
    if isinstance(type_, GraphQLEnumType):
        return next(iter(type_.values.values())).value
    if isinstance(type_, GraphQLInputObjectType):
        fields = type_.fields.items() if depth < 3 else ()
        return {name: _sample(field.type, depth + 1) for name, field in fields}
    assert isinstance(type_, GraphQLScalarType)
    return {"Int": 7, "Boolean": True, "Float": 1.5}.get(type_.name, "x")


def test_arguments_come_back_as_strawberry_converts_them() -> None:
    from graphql import GraphQLObjectType, GraphQLSchema, get_named_type
    from strawberry.types.arguments import convert_arguments

    from execution import compat
    from schema.build import build_schema

    schema = build_schema()
    core: GraphQLSchema = compat.core_schema(schema)
    plain = converted = 0
    for named in core.type_map.values():
        if not isinstance(named, GraphQLObjectType) or named.name.startswith("__"):
            continue
        for field_def in named.fields.values():
            declared = compat.strawberry_field(field_def)
            if declared is None or not field_def.args:
                continue
            if all(not hasattr(get_named_type(a.type), "fields") for a in field_def.args.values()):
                plain += 1
            for values in (
                {name: _sample(arg.type) for name, arg in field_def.args.items()},
                {name: _sample(arg.type, depth=3) for name, arg in field_def.args.items()},
                {name: None for name, arg in field_def.args.items()},
                {},
            ):
                expected = convert_arguments(
                    dict(values),
                    declared.arguments,
                    scalar_registry=schema.schema_converter.scalar_registry,
                    config=schema.config,
                )
                got = compat.resolver_arguments(schema, declared, values)
                assert got == expected
                # a list comes back copied: graphql-core shares a default list between requests
                given = [id(v) for v in values.values() if isinstance(v, list)]
                assert not [v for v in got.values() if id(v) in given]
                converted += 1
    assert plain > 5 and converted > 3 * plain  # the walk met plain and converted fields


def test_input_arguments_are_converted_without_strawberrys_walk(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from datetime import UTC, datetime

    from execution import compat
    from schema.build import build_schema
    from schema.expense_inputs import ExpenseFilter, ExpenseOrder, ExpenseOrderField, ExpenseStatus

    schema = build_schema()
    query = compat.core_schema(schema).query_type
    assert query is not None
    expenses = compat.strawberry_field(query.fields["expenses"])
    assert expenses is not None

    def walked(*_: object, **__: object) -> None:
        raise AssertionError("strawberry's convert_arguments ran")

    monkeypatch.setattr(compat, "convert_arguments", walked)
    since = datetime(2026, 11, 1, tzinfo=UTC)
    statuses = [ExpenseStatus.APPROVED]
    got = compat.resolver_arguments(
        schema,
        expenses,
        {
            "first": 100,
            "filter": {"updatedSince": since, "includeDeleted": True, "statuses": statuses},
            "orderBy": {"field": ExpenseOrderField.UPDATED_AT},
        },
    )
    assert got["first"] == 100
    assert got["filter"] == ExpenseFilter(
        updated_since=since, include_deleted=True, statuses=[ExpenseStatus.APPROVED]
    )
    assert got["filter"].statuses is not statuses  # copied, as strawberry copies lists
    assert got["order_by"] == ExpenseOrder(field=ExpenseOrderField.UPDATED_AT)


_OPERATION = """
query Q($id: ID!, $first: Int = 3, $after: String, $ids: [ID!], $filter: ExpenseFilter) {
  node(id: $id) { id }
  expenses(first: $first, after: $after, filter: $filter) { totalCount }
  nodes(ids: $ids) { id }
}"""


@pytest.mark.parametrize(
    "inputs",
    [
        {"id": "a", "first": 5, "after": "c", "ids": ["a", "b"], "filter": {"merchantSearch": "t"}},
        {"id": "a"},  # the default of $first, the nullable ones left out
        {"id": "a", "after": None, "ids": None, "filter": None},
        {"id": "a", "ids": "b"},  # a single value for a list
        {},  # $id missing
        {"id": None},
        {"id": "a", "first": "five"},
        {"id": "a", "filter": {"noSuchField": 1}},
        {"id": 12, "first": 2**40},
    ],
)
def test_variable_values_are_graphql_cores(inputs: dict[str, object]) -> None:
    from graphql import GraphQLError, OperationDefinitionNode, parse
    from graphql.execution.values import get_variable_values

    from execution import compat
    from schema.build import build_schema

    core = compat.core_schema(build_schema())
    operation = parse(_OPERATION).definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    expected = get_variable_values(core, operation.variable_definitions or (), inputs, max_errors=1)
    for _ in range(2):  # the signatures read once, then kept
        got = compat.variable_values(core, operation, inputs)
        if isinstance(expected, list):
            assert isinstance(got, list)
            assert [e.message for e in got] == [e.message for e in expected]
            assert all(isinstance(e, GraphQLError) for e in got)
        else:
            assert not isinstance(got, list)
            assert got.coerced == expected.coerced
            assert _described(got.sources) == _described(expected.sources)


def _described(sources: dict[str, Any]) -> dict[str, tuple[object, ...]]:
    # wrapping types (ID!) are made anew for each reading of the document: compare by name
    return {
        name: (s.signature.name, str(s.signature.type), s.signature.default, s.value)
        for name, s in sources.items()
    }


def test_enum_names_are_what_strawberry_serialises() -> None:
    """The lane writes an enum member by compat.enum_names: strawberry's serialize, by a dict."""
    from graphql import GraphQLEnumType

    from execution import compat
    from execution.values import column_of
    from schema.build import build_schema

    core = compat.core_schema(build_schema())
    enums = [t for t in core.type_map.values() if isinstance(t, GraphQLEnumType)]
    mapped = [(t, compat.enum_names(t)) for t in enums]
    strawberry_enums = [(t, names) for t, names in mapped if names is not None]
    assert len(strawberry_enums) >= 5  # ExpenseStatus, CardStatus, Role, ...
    for type_, names in strawberry_enums:
        assert names, type_.name
        for member, name in names.items():
            assert type_.serialize(member) == name, (type_.name, member)
        assert len(names) == len(type_.values), type_.name  # every value has its member
        members = list(names)
        # the lane's column of a nullable enum: names by the dict, a null stays null
        assert column_of(type_)([*members, None]) == [*names.values(), None]
