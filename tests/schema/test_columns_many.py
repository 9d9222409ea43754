"""A field's column form gives what its read and its scalar's serialisation give (Get.many).

The fast lane serialises a page's ids and amounts a column at a time (schema/fields.py
``Get.many``); the reference path reads one value per object and serialises it. Both must
say the same thing for every row: here for real rows of every node type, and for amounts
in every currency the API knows.
"""

from types import SimpleNamespace
from typing import Any

import pytest
from graphql import GraphQLEnumType, GraphQLObjectType, get_named_type
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from strawberry.utils.str_converters import to_camel_case

from db.money import MINOR_UNITS, UnknownCurrency
from db.nodes import NODES
from execution import compat
from resolvers import ids
from schema.base import Money
from schema.build import build_schema
from schema.fields import LANE, SOURCED, Get

SCHEMA = compat.core_schema(build_schema())
TABLE_BACKED = [node for node in NODES if node.name in SOURCED]


def _columns(type_name: str) -> list[tuple[str, Get, Any]]:
    """Return (name, declaration, serialize) of each field of ``type_name`` with a column form."""
    found = []
    core = SCHEMA.get_type(type_name)
    assert isinstance(core, GraphQLObjectType)
    for field in SOURCED[type_name].__strawberry_definition__.fields:  # type: ignore[attr-defined]
        declaration = (field.metadata or {}).get(LANE)
        if isinstance(declaration, Get) and declaration.many is not None:
            named = get_named_type(core.fields[to_camel_case(field.python_name)].type)
            found.append((field.python_name, declaration, named.serialize))
    return found


def _enum_columns() -> list[tuple[str, str, Get, GraphQLEnumType]]:
    """Return (type, field, declaration, GraphQL enum) of each enum field with a column form."""
    found = []
    for type_name, cls in SOURCED.items():
        core = SCHEMA.get_type(type_name)
        if not isinstance(core, GraphQLObjectType):  # generic (Edge, Connection): no enums
            continue
        for field in cls.__strawberry_definition__.fields:  # type: ignore[attr-defined]
            declaration = (field.metadata or {}).get(LANE)
            named = get_named_type(core.fields[to_camel_case(field.python_name)].type)
            if (
                isinstance(named, GraphQLEnumType)
                and isinstance(declaration, Get)
                and declaration.many
            ):
                found.append((type_name, field.python_name, declaration, named))
    return found


def test_every_column_form_is_checked_here() -> None:
    with_many = {
        (name, field.python_name)
        for name, cls in SOURCED.items()
        for field in cls.__strawberry_definition__.fields  # type: ignore[attr-defined]
        if getattr((field.metadata or {}).get(LANE), "many", None) is not None
    }
    assert with_many, "no field has a column form: this test checks nothing"
    checked = {(node.name, name) for node in TABLE_BACKED for name, *_ in _columns(node.name)}
    checked |= {("Money", "amount")} | {(name, field) for name, field, *_ in _enum_columns()}
    assert with_many <= checked


def test_an_enum_column_names_every_stored_value_as_its_read_and_serialisation_do() -> None:
    enums = _enum_columns()
    assert {(name, field) for name, field, *_ in enums} >= {("Expense", "status"), ("Card", "kind")}
    for name, field, declaration, core in enums:
        assert declaration.many is not None and declaration.reads is not None, f"{name}.{field}"
        (stored,) = declaration.reads
        values = [member.value for member in core.wrapped_cls] + [None]  # type: ignore[attr-defined]
        rows = [SimpleNamespace(**{stored: value}) for value in values]
        expected = [
            None if (read := declaration.read(row)) is None else core.serialize(read)
            for row in rows
        ]
        assert declaration.many(rows) == expected, f"{name}.{field}"
        unknown = SimpleNamespace(**{stored: "NOT A MEMBER"})
        with pytest.raises(ValueError):  # as the read raises: the lane hands over
            declaration.read(unknown)
        with pytest.raises(KeyError):
            declaration.many([unknown])


@pytest.mark.parametrize("node", TABLE_BACKED, ids=lambda node: node.name)
async def test_a_node_types_columns_match_its_reads(engine: AsyncEngine, world, node) -> None:
    async with engine.connect() as conn:
        rows = list((await conn.execute(select(node.table).limit(50))).all())
    assert rows, f"no {node.table.name} in the test data"
    columns = _columns(node.name)
    assert columns, f"{node.name} has no column form (its id has one)"
    for name, declaration, serialize in columns:
        # a null is no value to serialise: the reference path answers null
        expected = [None if (v := declaration.read(row)) is None else serialize(v) for row in rows]
        assert declaration.many is not None
        assert declaration.many(rows) == expected, f"{node.name}.{name}"


def test_amounts_in_every_currency_match_their_reads() -> None:
    ((name, declaration, serialize),) = _columns("Money")
    assert name == "amount" and declaration.many is not None
    sources = [
        (minor, currency)
        for currency in MINOR_UNITS
        for minor in (0, 1, -1, 5, 99, 100, 1500, 12345, -987654321, 10**15, 2**63 - 1, -(2**63))
    ]
    expected = [serialize(declaration.read(source)) for source in sources]
    assert declaration.many(sources) == expected
    assert expected[sources.index((12345, "USD"))] == "123.45"  # the plain notation
    assert expected[sources.index((1, "BHD"))] == "0.001"
    assert expected[sources.index((1500, "JPY"))] == "1500"
    with pytest.raises(UnknownCurrency):  # as the read raises: the lane hands over
        declaration.many([(1, "XXX")])
    assert Money.of((1, "EUR")).amount == declaration.read((1, "EUR"))


def test_a_column_of_global_ids_is_encode_id_whatever_it_remembers(monkeypatch) -> None:
    monkeypatch.setattr(ids, "KNOWN_IDS", 4)  # forgotten after four: met again below
    column = ids.id_column("Expense")
    rows = [SimpleNamespace(id=i) for i in (1, 2, 3, 2, 2**62, 5, 6, 1, 3)]
    expected = [ids.encode_id("Expense", row.id) for row in rows]
    for _ in range(2):
        assert column(rows) == expected
        assert column(rows[::-1]) == expected[::-1]
    assert [ids.decode_id(got) for got in column(rows)] == [("Expense", r.id) for r in rows]
    assert ids.id_column("Member")(rows[:1]) == [ids.encode_id("Member", 1)]  # its own
