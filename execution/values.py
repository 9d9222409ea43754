"""Response values a column at a time: leaf values serialised, response objects made.

A level of a run (execution/run.py) has one list of values per field; these turn each
into what the response holds, with one function per type or selection made once.
"""

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from itertools import repeat
from operator import attrgetter
from typing import Any

import orjson
from graphql import (
    GRAPHQL_MAX_INT,
    GRAPHQL_MIN_INT,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLID,
    GraphQLInt,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLString,
)

from execution import compat
from execution.plan import FieldPlan, Kind


class Fallback(Exception):
    """The run cannot give the reference path's answer: hand the request over."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


Column = Callable[[list[Any]], list[Any]]
AsIs = Callable[[list[Any]], bool]
_UNKNOWN: Any = object()  # a value an enum's dict does not name: serialize decides
# id(type) -> (type, its column function); output types live as long as their schema
_columns: dict[int, tuple[GraphQLOutputType, Column]] = {}
# id(plans) -> (plans, their Level); plans live as long as their plan
_levels: dict[int, tuple[list[FieldPlan], "Level"]] = {}


def column_of(type_: GraphQLOutputType) -> Column:
    """Return the function serialising a column of values of a leaf type (lists, non-null).

    Made once per type: a level then calls one function per column, without walking the
    type's wrappers again.
    """
    known = _columns.get(id(type_))
    if known is not None and known[0] is type_:
        return known[1]
    made: Column
    inner_type = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
    if isinstance(inner_type, GraphQLList):
        item = column_of(inner_type.of_type)

        def listed(values: list[Any]) -> list[Any]:
            return [None if v is None else item(list(v)) for v in values]

        made = _refusing_nulls(listed) if inner_type is not type_ else listed
    else:  # a leaf, and whether it refuses a null: one call a column (most columns)
        made = _leaf_column(inner_type, non_null=inner_type is not type_)
    if len(_columns) > 10_000:  # schemas built again and again (tests)
        _columns.clear()
    _columns[id(type_)] = (type_, made)
    return made


def _refusing_nulls(column: Column) -> Column:
    """Return ``column`` falling back on a null (a non-null type's)."""

    def made(values: list[Any]) -> list[Any]:
        done = column(values)
        if None in done:
            raise Fallback("null in a non-null field")
        return done

    return made


def _leaf_column(leaf: Any, *, non_null: bool) -> Column:
    """Return the column function of a leaf type: strings, ids and booleans pass as they are,
    an enum's members are named by a dict, anything else goes through :func:`serialised`."""
    members = compat.enum_names(leaf) if isinstance(leaf, GraphQLEnumType) else None
    # a null stays null (refused below when the type is non-null)
    names = None if members is None else {**members, None: None}
    unchanged = _UNCHANGED.get(id(leaf))

    def made(values: list[Any]) -> list[Any]:
        if names is not None:  # an enum's members by a dict, not by serialize
            done = list(map(names.get, values, repeat(_UNKNOWN)))
            if _UNKNOWN in done:  # a value no member names: serialize says why
                done = serialised(values, leaf)
        elif unchanged is not None and set(map(type, values)) <= unchanged:
            done = values  # strings as strings, booleans as booleans: nothing to do
        else:
            done = serialised(values, leaf)
        if non_null and None in done:
            raise Fallback("null in a non-null field")
        return done

    return made


@dataclass(frozen=True, slots=True)
class Level:
    """How a run fills one selection set's fields, sorted by what each needs, made once.

    Each entry holds the field's position in the response object: ``typenames`` (position,
    type name), ``columns`` (position, the declaration's column function, whether a null is
    refused), ``leaves`` (position, read, serialiser, for a date or an instant the check of
    :func:`written_as_is`), ``inline`` (position, read, the object type's level, whether a
    null is refused: a plain object of leaves, such as Money, made at once with no await),
    ``later`` (position, plan, the read of an object field or None for a load, the field's
    :class:`Shape`): the fields awaited, in order.
    """

    typenames: tuple[tuple[int, str], ...]
    columns: tuple[tuple[int, Callable[[list[Any]], list[Any]], bool], ...]
    leaves: tuple[tuple[int, Callable[[Any], Any], Column, AsIs | None], ...]
    inline: tuple[tuple[int, Callable[[Any], Any], "Level", bool], ...]
    later: tuple[tuple[int, FieldPlan, Callable[[Any], Any] | None, "Shape"], ...]
    make: Callable[..., dict[str, Any]]  # the response object of the columns' values
    width: int
    # every field a scalar (read or loaded) or __typename: equal sources, equal objects
    leaves_only: bool


@dataclass(frozen=True, slots=True)
class Shape:
    """How a run completes the values of an awaited field, read from its type once: the
    levels below are reached through it, and a request inspects no type and looks no
    level up (two calls a level, a tenth of a teams page's calls with the checks)."""

    non_null: bool
    column: Column | None = None  # a loaded leaf's serialiser (lists and non-null included)
    item: "Shape | None" = None  # a list's items
    level: Level | None = None  # an object type's selection
    levels: dict[str, Level] | None = None  # an interface's, by concrete type name


def level_of(plans: list[FieldPlan]) -> Level:
    """Return the :class:`Level` of ``plans`` (and of every selection below), made on first use."""
    known = _levels.get(id(plans))
    if known is not None and known[0] is plans:
        return known[1]
    typenames: list[tuple[int, str]] = []
    columns: list[tuple[int, Callable[[list[Any]], list[Any]], bool]] = []
    leaves: list[tuple[int, Callable[[Any], Any], Column, AsIs | None]] = []
    inline: list[tuple[int, Callable[[Any], Any], Level, bool]] = []
    later: list[tuple[int, FieldPlan, Callable[[Any], Any] | None, Shape]] = []
    for j, plan in enumerate(plans):
        if plan.kind is Kind.TYPENAME:
            typenames.append((j, plan.parent.name))
            continue
        assert plan.type is not None
        if plan.kind is Kind.FETCH:
            later.append((j, plan, None, _shape(plan, plan.type)))
        elif plan.many is not None and plan.leaf is not None:  # serialised, all at once
            columns.append((j, plan.many, isinstance(plan.type, GraphQLNonNull)))
        else:
            assert plan.read is not None
            if plan.leaf is not None:
                leaves.append((j, plan.read, column_of(plan.type), written_as_is(plan.type)))
                continue
            shape = _shape(plan, plan.type)
            if shape.level is not None and not shape.level.later:
                inline.append((j, plan.read, shape.level, shape.non_null))
            else:
                later.append((j, plan, plan.read, shape))
    made = Level(
        tuple(typenames),
        tuple(columns),
        tuple(leaves),
        tuple(inline),
        tuple(later),
        _maker(tuple(plan.key for plan in plans)),
        len(plans),
        all(plan.leaf is not None or plan.type is None for plan in plans),
    )
    if len(_levels) > 10_000:  # plans made again and again (tests)
        _levels.clear()
    _levels[id(plans)] = (plans, made)
    return made


def _shape(plan: FieldPlan, type_: GraphQLOutputType) -> Shape:
    """Return the :class:`Shape` of ``plan``'s values of ``type_`` (its type or an item's)."""
    if plan.leaf is not None:
        return Shape(False, column=column_of(type_))  # the column refuses nulls itself
    non_null = isinstance(type_, GraphQLNonNull)
    named = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
    if isinstance(named, GraphQLList):
        return Shape(non_null, item=_shape(plan, named.of_type))
    if isinstance(named, GraphQLObjectType):
        return Shape(non_null, level=level_of(plan.children[named.name]))
    levels = {name: level_of(plans) for name, plans in plan.children.items()}
    return Shape(non_null, levels=levels)


@lru_cache(maxsize=4096)
def _maker(keys: tuple[str, ...]) -> Callable[..., dict[str, Any]]:
    """Return a function making the response object of ``keys`` from their values.

    ``{"id": v0, "name": v1}`` built by a function of its own costs a third of
    ``dict(zip(keys, values))`` (bench/RESULTS.md). Response keys are GraphQL names
    (validated), so they are safe in the function's text; each is written by ``repr``.
    """
    if len(keys) > 250:  # a huge selection: the generic way
        return lambda *values: dict(zip(keys, values, strict=True))
    parameters = ", ".join(f"v{i}" for i in range(len(keys)))
    items = ", ".join(f"{key!r}: v{i}" for i, key in enumerate(keys))
    namespace: dict[str, Any] = {}
    exec(f"def make({parameters}):\n    return {{{items}}}", namespace)
    made: Callable[..., dict[str, Any]] = namespace["make"]
    return made


_INTS = {int}  # not bool: a subclass, which Int serialises as 0 or 1
# built-in scalars whose serialisation returns a value of these types unchanged
_UNCHANGED = {
    id(GraphQLString): frozenset({str, type(None)}),
    id(GraphQLID): frozenset({str, type(None)}),
    id(GraphQLBoolean): frozenset({bool, type(None)}),
}


def serialised(values: Iterable[Any], type_: GraphQLLeafType) -> list[Any]:
    """Return serialised leaf values; a value the type cannot serialise falls back."""
    values = list(values)
    types = set(map(type, values))
    unchanged = _UNCHANGED.get(id(type_))
    if unchanged is not None and types <= unchanged:
        return values  # strings as strings, booleans as booleans: nothing to do
    if types == _INTS and type_ is GraphQLInt:  # 32-bit ints serialise as themselves
        if GRAPHQL_MIN_INT <= min(values) and max(values) <= GRAPHQL_MAX_INT:
            return values
    serialize = type_.serialize
    try:
        # not ``None in values``: a Decimal compared with None asks numbers.Rational (an ABC)
        if type(None) in types:
            return [None if value is None else serialize(value) for value in values]
        return list(map(serialize, values))  # a C loop when serialize is C (isoformat)
    except Exception as error:  # the reference path reports it on the field
        raise Fallback(f"{type_.name} cannot serialise a value") from error


# the leaf types whose serialisation orjson repeats byte for byte, by name: isoformat
_AS_IS_TYPES = {"DateTime": datetime.datetime, "Date": datetime.date}
_AS_IS_SAMPLES = {
    datetime.datetime: (
        datetime.datetime(2026, 1, 31, 9, 30, tzinfo=datetime.UTC),
        datetime.datetime(999, 12, 31, 23, 59, 59, 250, tzinfo=datetime.UTC),
    ),
    datetime.date: (datetime.date(2026, 1, 31), datetime.date(999, 1, 2)),
}
# orjson writes an offset of whole minutes as isoformat does (UTC, as asyncpg gives every
# timestamptz) and a naive instant without one; "+01:00:30" it would cut to "+01:00"
_AS_IS_ZONES = frozenset({datetime.UTC, None})
_zone = attrgetter("tzinfo")


def written_as_is(type_: GraphQLOutputType) -> AsIs | None:
    """Return, for a Date or DateTime field, the check that a column of its values may go
    to the response unserialised: the lane's answers are written by orjson (app/answers.py),
    which writes these values as their serialisation would, ~10x faster. None for the rest.
    """
    leaf = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
    if not isinstance(leaf, GraphQLScalarType) or leaf.name not in _AS_IS_TYPES:
        return None
    kind = _AS_IS_TYPES[leaf.name]
    try:  # another serialisation (a scalar changed underneath): always serialised
        if any(leaf.serialize(v) != orjson.dumps(v)[1:-1].decode() for v in _AS_IS_SAMPLES[kind]):
            return None
    except Exception:
        return None
    # a null in a non-null field is not as is: the serialiser's column falls back
    types = frozenset({kind} if leaf is not type_ else {kind, type(None)})

    def as_is(values: list[Any]) -> bool:
        if not set(map(type, values)) <= types:  # exactly: a datetime is a date too
            return False
        return kind is datetime.date or set(map(_zone, filter(None, values))) <= _AS_IS_ZONES

    return as_is
