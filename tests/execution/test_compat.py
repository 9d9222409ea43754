"""The versions execution/compat.py was written against are the ones installed."""

from importlib.metadata import version

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
