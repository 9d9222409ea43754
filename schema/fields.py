"""One declaration per field: strawberry's resolver and the fast lane's plan both come from it.

An object type of the fast lane (``execution/``) is a *sourced* type: its objects are
made from one source value (a table row; a page result for connections) and each of
its fields says, as data in the strawberry field's metadata, how it is read from that
source:

- :class:`Get`: from the source alone (``Expense.merchantName`` is ``row.merchant_name``);
- :class:`Fetch`: for every source of a level at once, with the field's arguments
  (``Expense.member`` loads the members of all the page's expenses in one batch).

On graphql-core's path (the reference) a ``Get`` is computed when strawberry first reads
it from the object (:class:`Sourced`) and a ``Fetch`` runs for one source through the
same function, its values wrapped in the field's strawberry type (:func:`wrap`). Each
declares what it reads of its source (``reads``), so that a page can read only the
columns its selection shows (execution/columns.py). The lane reads the
same declarations and never makes a strawberry object. A field of a sourced type with
neither is left to the reference path (tests/schema/test_declarations.py lists them).
"""

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from inspect import Parameter, Signature, signature
from operator import attrgetter
from typing import Any, ClassVar, NamedTuple, TypeVar

import strawberry
from strawberry.types.base import StrawberryList, StrawberryOptional
from strawberry.types.lazy_type import LazyType

from db.permissions import Permission
from db.sent_together import Following
from db.sql import Columns
from resolvers import nodes
from resolvers.context import Context
from resolvers.ids import encode_id, id_column

Info = strawberry.Info[Context, None]
LANE = "expensegraph.lane"  # the key of a declaration in a strawberry field's metadata
S = TypeVar("S", bound="Sourced")


@dataclass(frozen=True, slots=True)
class Get:
    """The field's value from the object's source alone: ``read(source)``."""

    read: Callable[[Any], Any]
    # the source's attributes (a row's columns) ``read`` uses; None: not declared
    reads: tuple[str, ...] | None = None
    # for a scalar field: its serialised values for many sources in one call, what ``read``
    # and the scalar's serialize give one at a time (the lane's form, for values made per
    # row: a frame or three per value saved, tests/schema/test_columns_many.py)
    many: Callable[[list[Any]], list[Any]] | None = None


@dataclass(frozen=True, slots=True)
class Fetch:
    """The field's values for many objects at once: ``load(context, sources, **arguments)``.

    Returns one value per source, in order. Arguments come as the resolver would get
    them (python names, inputs as their strawberry classes). Values are sources of the
    field's type: rows for sourced types, :class:`Typed` for an interface.
    """

    load: Callable[..., Awaitable[list[Any]]]
    # the API key permission the load requires: the lane checks it before running any SQL
    permission: Permission | None = None
    # the source's attributes the load uses (as Get.reads)
    reads: tuple[str, ...] | None = None
    # the load also takes ``columns=``: the only columns to read of the rows it returns
    # (the plan passes those its document reads of the table, execution/columns.py)
    narrows: "Narrows | None" = None
    # tables whose whole rows the load reads through loaders narrowing fields share (a root
    # list primes its rows for references): in its document those read whole rows too
    whole: tuple[str, ...] = ()
    # for a load returning rows of a table (or pages of them) that it does not narrow: that
    # table, as ``narrows`` names it (db/sent_together.py sends the next level's reads with them)
    rows: "Narrows | None" = None
    # the load's batch for a level's sources, sent with the read of their rows (a round
    # trip less, db/sent_together.py): ``follow(context, table, **narrowed, **arguments)``, the
    # sources being rows of ``table``; None when it cannot
    follow: Callable[..., Following | None] | None = None


class Narrows(NamedTuple):
    """What a narrowing load returns: rows (or lists of rows) of ``table``, or pages of them.

    ``by_type`` instead, for an interface: the table of each concrete type's rows; the load
    then takes ``columns=`` as a mapping from type name to that type's columns.
    """

    table: str = ""
    pages: bool = False
    by_type: Mapping[str, str] | None = None


class Typed(NamedTuple):
    """A value of an interface field: the concrete type's name and its source."""

    type_name: str
    source: Any


Declaration = Get | Fetch
# sourced types by GraphQL name (an interface's value names its concrete type)
SOURCED: dict[str, type["Sourced"]] = {}


class Sourced:
    """Base of the types made from one source; each keeps it in ``row: strawberry.Private``.

    Its ``Get`` fields are computed when first read, not when the object is made: a
    request reads what it selects, and a row read with only the selected columns (an
    expense page the lane narrowed, execution/plan.py) answers on this path too.
    """

    # python name -> (read, the field type when the value must be wrapped, else None)
    _gets: ClassVar[dict[str, tuple[Callable[[Any], Any], Any]] | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._gets = None
        SOURCED[cls.__name__] = cls

    @classmethod
    def of(cls: type[S], source: Any) -> S:
        """Return the object of ``source``; its ``Get`` fields are read from it when asked."""
        made = object.__new__(cls)
        made.row = source  # type: ignore[attr-defined]
        return made

    def __getattr__(self, name: str) -> Any:
        # only called for what the object lacks: a Get field not read yet (then kept)
        gets = type(self)._gets
        if gets is None:
            gets = type(self)._gets = {
                f.python_name: (f.metadata[LANE].read, f.type if _holds_sourced(f.type) else None)
                for f in type(self).__strawberry_definition__.fields  # type: ignore[attr-defined]
                if isinstance((f.metadata or {}).get(LANE), Get)
            }
        declared = gets.get(name) if name != "row" else None
        if declared is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        read, type_ = declared
        value = read(self.row) if type_ is None else wrap(type_, read(self.row))
        setattr(self, name, value)
        return value

    @classmethod
    def from_row(cls: type[S], row: Any) -> S:
        """Return the object of a table row (the source of every table-backed type)."""
        return cls.of(row)


def column(
    read: str | Callable[[Any], Any],
    *,
    description: str,
    reads: tuple[str, ...] | None = None,
    many: Callable[[list[Any]], list[Any]] | None = None,
) -> Any:
    """Declare a field read from the source: a column by name, or a function of the source
    that uses the columns ``reads`` (undeclared, its rows are always read whole); ``many``:
    see :class:`Get`."""
    if isinstance(read, str):
        return strawberry.field(
            description=description, metadata={LANE: Get(attrgetter(read), (read,), many)}
        )
    return strawberry.field(description=description, metadata={LANE: Get(read, reads, many)})


def fetched(
    load: Callable[..., Awaitable[list[Any]]],
    *,
    description: str,
    permission: Permission | None = None,
    graphql_type: Any = None,
    reads: tuple[str, ...] | None = None,
    narrows: Narrows | None = None,
    whole: tuple[str, ...] = (),
    rows: Narrows | None = None,
    follow: Callable[..., Following | None] | None = None,
) -> Any:
    """Declare a field loaded for many sources at once (see :class:`Fetch`)."""

    async def resolve(self: Sourced, info: Info, **arguments: Any) -> Any:
        return await one(info, load, getattr(self, "row", None), **arguments)  # the root has none

    # the field's arguments are the load's keyword-only parameters, as annotated there
    keyword = [p for p in signature(load).parameters.values() if p.kind is Parameter.KEYWORD_ONLY]
    resolve.__signature__ = resolver_signature(keyword)  # type: ignore[attr-defined]
    return strawberry.field(
        resolver=resolve,
        graphql_type=graphql_type,
        description=description,
        metadata={LANE: Fetch(load, permission, reads, narrows, whole, rows, follow)},
    )


def resolver_signature(parameters: list[Parameter], returns: Any = Signature.empty) -> Signature:
    """Return the signature strawberry reads a field's arguments from: self, info, ``parameters``."""
    return Signature(
        [
            Parameter("self", Parameter.POSITIONAL_OR_KEYWORD),
            Parameter("info", Parameter.POSITIONAL_OR_KEYWORD, annotation=Info),
            *parameters,
        ],
        return_annotation=returns,
    )


async def one(
    info: Info, load: Callable[..., Awaitable[list[Any]]], source: Any, **arguments: Any
) -> Any:
    """Return a declared field's value for one source, as strawberry's resolver returns it.

    A value the fast lane loaded for this source before handing the request over is reused.
    """
    loaded = info.context.loaded
    key = (load, id(source), loaded_key(arguments)) if loaded else None
    if key is not None and key in loaded:
        value = loaded[key]
    else:
        value = (await load(info.context, [source], **arguments))[0]
    return wrap(info.return_type, value)


def loaded_key(arguments: dict[str, Any]) -> str:
    """Return the key of a field's arguments in ``Context.loaded`` (inputs by their repr)."""
    return repr(sorted(arguments.items())) if arguments else ""


def _holds_sourced(type_: Any) -> bool:
    while isinstance(type_, StrawberryOptional | StrawberryList | LazyType):
        type_ = type_.resolve_type() if isinstance(type_, LazyType) else type_.of_type
    return isinstance(type_, type) and issubclass(type_, Sourced)


def wrap(type_: Any, value: Any) -> Any:
    """Return ``value`` (sources) as strawberry objects of the field type ``type_``."""
    if value is None:
        return None
    if isinstance(value, Typed):
        return SOURCED[value.type_name].of(value.source)
    if isinstance(type_, LazyType):
        type_ = type_.resolve_type()
    if isinstance(type_, StrawberryOptional):
        return wrap(type_.of_type, value)
    if isinstance(type_, StrawberryList):
        return [wrap(type_.of_type, item) for item in value]
    if isinstance(type_, type) and issubclass(type_, Sourced):
        return type_.of(value)
    return value  # scalars, enums and plain objects as they are


def global_id(type_name: str, *, description: str = "Opaque global id of the object.") -> Any:
    """Declare a node's ``id``: its type name and row id, encoded."""
    # strawberry.ID is a NewType: calling it per row costs a frame and changes nothing
    return column(
        lambda row: encode_id(type_name, row.id),
        description=description,
        reads=("id",),
        many=id_column(type_name),
    )


def reference(
    table: str, key: str | Callable[[Any], int | None], *, description: str, required: bool = False
) -> Any:
    """Declare a field holding the ``table`` row that the source's ``key`` points at.

    ``key`` is a column name or a function of the source; ``required``: a foreign key
    guarantees the row, and its absence is an error.
    """
    read = attrgetter(key) if isinstance(key, str) else key

    # columns: not keyword-only, so not a GraphQL argument (see fetched)
    async def load(ctx: Context, sources: list[Any], columns: Columns = None) -> list[Any]:
        keys = list(map(read, sources))
        return await nodes.references(ctx, table, keys, required=required, columns=columns)

    if not isinstance(key, str):
        return fetched(load, description=description, narrows=Narrows(table))

    def follow(ctx: Context, parent: str, columns: Columns = None) -> Following | None:
        return nodes.references_following(ctx, table, key, parent=parent, columns=columns)

    return fetched(
        load, description=description, reads=(key,), narrows=Narrows(table), follow=follow
    )
