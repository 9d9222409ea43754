"""Pieces of the planned run: response objects made by generated functions, leaf values."""

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLID,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    GraphQLString,
    parse,
)
from graphql.execution.values import VariableValues

from execution import compat
from execution.plan import plan_document
from execution.run import Run
from execution.values import (
    Fallback,
    Shape,
    _maker,
    column_of,
    level_of,
    serialised,
    written_as_is,
)
from schema.build import build_schema


def test_a_maker_builds_the_object_of_its_keys_in_their_order() -> None:
    keys = ("id", "class", "__typename", "amount")  # a Python keyword is a fine alias
    made = _maker(keys)("RXhw", 1, "Expense", None)
    assert made == {"id": "RXhw", "class": 1, "__typename": "Expense", "amount": None}
    assert list(made) == list(keys)
    assert _maker(keys) is _maker(keys)  # made once per selection


def test_a_huge_selection_is_made_the_generic_way() -> None:
    keys = tuple(f"f{i}" for i in range(400))
    made = _maker(keys)(*range(400))
    assert list(made.items()) == [(f"f{i}", i) for i in range(400)]
    with pytest.raises(ValueError):  # a value missing is an error, not a short object
        _maker(keys)(*range(399))


def scalar(name: str) -> GraphQLScalarType:
    found = compat.core_schema(build_schema()).get_type(name)
    assert isinstance(found, GraphQLScalarType)
    return found


def test_leaves_are_serialised_with_nulls_kept() -> None:
    date_time, decimal = scalar("DateTime"), scalar("Decimal")
    moment = datetime(2026, 12, 2, 3, 4, 5, tzinfo=UTC)
    assert serialised([moment, None], date_time) == ["2026-12-02T03:04:05+00:00", None]
    assert serialised([Decimal("1.50"), Decimal("-0.00")], decimal) == ["1.50", "-0.00"]
    assert serialised(["a", None], GraphQLString) == ["a", None]


def test_ints_are_what_graphql_core_serialises_them_as() -> None:
    edges = [0, 7, -(2**31), 2**31 - 1]
    assert serialised(edges, GraphQLInt) == [GraphQLInt.serialize(v) for v in edges]
    assert serialised([True, 3, None], GraphQLInt) == [1, 3, None]  # bool is not int here
    for beyond in (2**31, -(2**31) - 1):  # not 32-bit: the reference path says why
        with pytest.raises(Fallback, match="Int cannot serialise"):
            serialised([1, beyond], GraphQLInt)


def test_a_column_of_a_non_null_type_refuses_a_null_and_a_nullable_one_keeps_it() -> None:
    status = compat.core_schema(build_schema()).get_type("ExpenseStatus")
    assert isinstance(status, GraphQLEnumType)
    draft = status.values["DRAFT"].value
    strings = GraphQLList(GraphQLNonNull(GraphQLString))
    cases: list[tuple[Any, Any, Any]] = [
        (GraphQLString, "a", "a"),
        (GraphQLID, 7, "7"),  # an int id is serialised to a string
        (status, draft, "DRAFT"),
        (scalar("Decimal"), Decimal("1.50"), "1.50"),
        (strings, ["a"], ["a"]),
    ]
    for leaf, value, shown in cases:
        assert column_of(leaf)([value, None]) == [shown, None]
        assert column_of(GraphQLNonNull(leaf))([value]) == [shown]
        with pytest.raises(Fallback, match="null in a non-null field"):
            column_of(GraphQLNonNull(leaf))([value, None])
    with pytest.raises(Fallback, match="null in a non-null field"):  # an item of the list
        column_of(strings)([["a", None]])


def test_only_dates_and_instants_orjson_writes_alike_may_stay_objects() -> None:
    instant, day = scalar("DateTime"), scalar("Date")
    utc = datetime(2026, 12, 2, 3, 4, 5, tzinfo=UTC)
    seconds = utc.astimezone(timezone(timedelta(hours=1, seconds=30)))  # "+01:00:30"
    nullable, required, days = (
        written_as_is(instant),
        written_as_is(GraphQLNonNull(instant)),
        written_as_is(day),
    )
    assert nullable is not None and required is not None and days is not None
    assert nullable([utc, None, utc.replace(tzinfo=None)]) and required([utc])
    assert not nullable([utc, seconds])  # orjson would cut the offset's seconds
    assert not required([utc, None])  # the serialiser's column refuses the null
    assert days([date(2026, 1, 2), None]) and not days([utc])  # a datetime is a date too
    assert not nullable(["2026-12-02T03:04:05+00:00"])
    assert written_as_is(GraphQLString) is None and written_as_is(scalar("Decimal")) is None


def test_the_lane_leaves_dates_and_instants_to_orjson_and_its_answer_is_the_same() -> None:
    core = compat.core_schema(build_schema())
    query = "{ expenses { nodes { spentAt deletedAt } } }"
    (expenses,) = plan_document(core, parse(query), None).fields
    (nodes,) = expenses.children["ExpenseConnection"]
    level = level_of(nodes.children["Expense"])
    utc = datetime(2026, 12, 2, 3, 4, 5, 600, tzinfo=UTC)
    seconds = utc.astimezone(timezone(timedelta(hours=-1, seconds=-30)))
    rows = [
        SimpleNamespace(spent_at=utc, deleted_at=None),
        SimpleNamespace(spent_at=utc, deleted_at=seconds),
    ]
    for by_orjson in (False, True):
        run = Run(build_schema(), None, VariableValues({}, {}), written_by_orjson=by_orjson)
        made = list(map(level.make, *run.filled(level, rows)))
        assert orjson.loads(orjson.dumps(made)) == [
            {"spentAt": "2026-12-02T03:04:05.000600+00:00", "deletedAt": None},
            {"spentAt": "2026-12-02T03:04:05.000600+00:00", "deletedAt": seconds.isoformat()},
        ]
        assert (made[0]["spentAt"] is utc) is by_orjson  # kept as is for the lane only
        assert made[1]["deletedAt"] == "2026-12-02T02:03:35.000600-01:00:30"


def test_a_value_its_type_cannot_serialise_falls_back() -> None:
    decimal = scalar("Decimal")
    with pytest.raises(Fallback, match="Decimal cannot serialise"):
        serialised([Decimal("1"), "not a decimal"], decimal)


def test_a_plain_object_of_leaves_is_made_at_once_and_keeps_its_nulls() -> None:
    core = compat.core_schema(build_schema())
    query = "{ cards(first: 2) { nodes { last4 spendLimit { amount currency } holder { name } } } }"
    (cards,) = plan_document(core, parse(query), None).fields
    (nodes,) = cards.children["CardConnection"]
    card = nodes.children["Card"]
    level = level_of(card)
    # Money is made with its card, no await; the holder is a load, awaited later
    ((j, _, money, non_null),) = level.inline
    assert card[j].key == "spendLimit" and money is level_of(card[j].children["Money"])
    assert [plan.key for plan in card[j].children["Money"]] == ["amount", "currency"]
    assert [plan.key for _, plan, _, _ in level.later] == ["holder"]
    assert not non_null  # a card may have no limit
    run = Run(build_schema(), None, VariableValues({}, {}))
    made = run.inlined(money, [(150000, "JPY"), None, (1250, "BHD")], non_null)
    assert made == [
        {"amount": "150000", "currency": "JPY"},
        None,
        {"amount": "1.250", "currency": "BHD"},
    ]
    assert run.objects_made == 2  # what the cost reports: the nulls are no objects
    with pytest.raises(Fallback, match="null in a non-null field"):
        run.inlined(money, [(1, "EUR"), None], True)


def test_a_level_reaches_the_levels_below_through_the_shapes_of_its_fields() -> None:
    core = compat.core_schema(build_schema())
    query = """{
      cards(first: 2) { nodes { holder { name } } }
      node(id: "x") { ... on Card { last4 } ... on Team { name } }
    }"""
    root = plan_document(core, parse(query), None).fields
    cards, node = root
    (_, _, _, page), (_, _, _, typed) = level_of(root).later
    # a non-null connection, its non-null list of non-null cards, each card's holder
    (nodes,) = cards.children["CardConnection"]
    assert page.non_null and page.level is level_of(cards.children["CardConnection"])
    ((_, _, read, listed),) = page.level.later
    assert read is not None and listed.non_null and listed.item is not None
    assert listed.item.non_null and listed.item.level is level_of(nodes.children["Card"])
    ((_, holder, read, member),) = listed.item.level.later
    assert read is None and holder.key == "holder"  # a load, of a card's required holder
    assert member.non_null and member.level is level_of(holder.children["Member"])
    # an interface: a level per concrete type, the one a value names chosen per request
    assert not typed.non_null and typed.levels is not None
    assert typed.levels["Card"] is level_of(node.children["Card"])
    assert typed.levels["Team"] is level_of(node.children["Team"])


async def test_lists_are_completed_together_with_their_nulls_and_empty_lists_in_place() -> None:
    core = compat.core_schema(build_schema())
    (cards,) = plan_document(core, parse("{ cards { nodes { last4 } } }"), None).fields
    ((_, _, _, listed),) = level_of(cards.children["CardConnection"]).later
    assert listed.item is not None
    run = Run(build_schema(), None, VariableValues({}, {}))
    row = SimpleNamespace
    lists: list[Any] = [[row(last4="1"), row(last4="2")], None, [], [row(last4="3")]]
    done = await run.complete(Shape(False, item=listed.item), lists)
    assert done == [[{"last4": "1"}, {"last4": "2"}], None, [], [{"last4": "3"}]]
    with pytest.raises(Fallback, match="null in a non-null field"):
        await run.complete(listed, lists)  # the non-null list of the connection
    unread = iter([row(last4="4")])  # no size: refused before any item is read
    with pytest.raises(TypeError):
        await run.complete(listed, [unread])
    assert next(unread).last4 == "4"
