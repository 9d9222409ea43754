"""Shared GraphQL building blocks: Node, Money, connections, nested lists and the fields
declaring them."""

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from enum import Enum
from operator import attrgetter, itemgetter
from typing import Annotated, Any, Generic, TypeVar, dataclass_transform

import strawberry
from strawberry.types.field import StrawberryField

from db.money import major_column, to_major
from db.permissions import Permission
from db.sent_together import Following
from resolvers.context import Context
from resolvers.nodes import Children
from resolvers.paging import PageArgs, PageResult
from schema.fields import Info as Info  # re-exported: the types take it from here
from schema.fields import Narrows, Sourced, column, fetched, global_id

T = TypeVar("T")


@strawberry.interface(description="An object with an opaque global id, fetchable with `node(id:)`.")
class Node:
    id: strawberry.ID = strawberry.field(description="Opaque global id of the object.")


N = TypeVar("N", bound=Node)


@dataclass_transform(kw_only_default=True, field_specifiers=(strawberry.field, StrawberryField))
def node_type(description: str) -> Callable[[type[N]], type[N]]:
    """Declare a Node type made from table rows: its ``id`` (:func:`global_id` of the class
    name, the type's GraphQL name), then the fields written in the class."""

    def declare(cls: type[N]) -> type[N]:
        # strawberry takes the fields in the order of the annotations: id first
        cls.__annotations__ = {"id": strawberry.ID, **cls.__annotations__}
        cls.id = global_id(cls.__name__)
        return strawberry.type(cls, description=description)

    return declare


def enum_column(name: str, enum: type[Enum], *, description: str) -> Any:
    """Declare a field holding the column ``name`` as a member of ``enum`` (null stays null)."""
    read = attrgetter(name)
    # a stored value's GraphQL name, what serialising its member gives (no member is renamed
    # by enum_value(name=)); a value no member has raises, and the reference path reports it
    names = {member.value: member.name for member in enum} | {None: None}

    def many(rows: list[Any]) -> list[Any]:
        return list(map(names.__getitem__, map(read, rows)))

    return column(
        lambda row: None if (value := read(row)) is None else enum(value),
        description=description,
        reads=(name,),
        many=many,
    )


# what a Money field's read gives: (amount in minor units, ISO 4217 code); its object's source
MoneySource = tuple[int, str]


def money_source(amount_minor: int | None, currency: str | None) -> MoneySource | None:
    """Return the source of a nullable Money value: None when either part is missing."""
    return None if amount_minor is None or currency is None else (amount_minor, currency)


@strawberry.type(
    description="An amount of money: a decimal string in major units and an ISO 4217 code."
)
class Money(Sourced):
    row: strawberry.Private[MoneySource]
    amount: Decimal = column(
        lambda source: to_major(*source),
        description='Major units as a decimal string with the currency\'s own decimals ("12.34", "1500", "1.250").',
        many=major_column,
    )
    currency: str = column(itemgetter(1), description="ISO 4217 currency code.")


@strawberry.type(description="Where a page sits in the whole list.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="More items follow this page.")
    has_previous_page: bool = strawberry.field(description="Items precede this page.")
    start_cursor: str | None = strawberry.field(description="Cursor of the first item.")
    end_cursor: str | None = strawberry.field(description="Cursor of the last item.")


@strawberry.type(description="An item of a page and its cursor.")
class Edge(Sourced, Generic[T]):
    row: strawberry.Private[tuple[str, Any]]  # (cursor, node source)
    cursor: str = column(
        itemgetter(0), description="Pass as `after` or `before` to page from here."
    )
    node: T = column(itemgetter(1), description="The item.")


async def edges_of(_: Context, results: list[PageResult]) -> list[list[tuple[str, Any]]]:
    # made only when selected: a cursor per row costs JSON and base64
    return [[(result.cursor(row), row) for row in result.rows] for result in results]


async def _total_counts(_: Context, results: list[PageResult]) -> list[int]:
    # together, so that the counts of nested pages share their loader's batch
    return list(await asyncio.gather(*(result.total_count() for result in results)))


def page_info_of(result: PageResult) -> PageInfo:
    rows = result.rows
    has_next, has_previous = result.has_next_page, result.has_previous_page
    if has_next is None or has_previous is None:  # never a guess: the page was read without
        raise RuntimeError("the page info of a page read without it")  # (execution/columns.py)
    return PageInfo(
        has_next_page=has_next,
        has_previous_page=has_previous,
        start_cursor=result.cursor(rows[0]) if rows else None,
        end_cursor=result.cursor(rows[-1]) if rows else None,
    )


@strawberry.type(description="A page of items, paged by cursor (keyset) in either direction.")
class Connection(Sourced, Generic[T]):
    row: strawberry.Private[PageResult]
    edges: list[Edge[T]] = fetched(
        edges_of, description="The items of this page with their cursors."
    )
    nodes: list[T] = column("rows", description="The items of this page.")
    page_info: PageInfo = column(page_info_of, description="Paging information.")
    total_count: int = fetched(
        _total_counts, description="How many items match in all pages (computed only when asked)."
    )


First = Annotated[
    int | None,
    strawberry.argument(description="Page size from the start or `after` (0..100, default 20)."),
]
After = Annotated[str | None, strawberry.argument(description="Return items after this cursor.")]
Last = Annotated[
    int | None, strawberry.argument(description="Page size from the end or `before` (0..100).")
]
Before = Annotated[str | None, strawberry.argument(description="Return items before this cursor.")]


PAGE_ARGUMENTS: dict[str, Any] = {"first": First, "after": After, "last": Last, "before": Before}
# pages(context, sources, page arguments, **the field's other arguments): a page per source
Pages = Callable[..., Awaitable[list[PageResult]]]


def connection(
    node: type,
    pages: Pages,
    *,
    description: str,
    permission: Permission | None = None,
    arguments: Mapping[str, Any] | None = None,
    narrows: str | None = None,
    reads: tuple[str, ...] | None = None,
    whole: tuple[str, ...] = (),
    rows: str | None = None,
    follow: Callable[..., Following | None] | None = None,
) -> Any:
    """Declare a ``Connection[node]`` field: the paging arguments, then ``arguments``.

    ``arguments`` maps python names to annotated types, each null by default. The pages
    of every source of a level are loaded at once by ``pages`` (see :data:`Pages`), the
    root's with the source ``None``. ``narrows``: the table of the rows, when ``pages`` also
    takes ``columns=``, the only columns to read of them (execution/columns.py); ``reads``:
    the columns of the sources ``pages`` reads, ``whole``: the tables it reads whole rows of
    (schema/fields.py ``Fetch``), ``rows``: the table of the rows when ``pages`` does not
    narrow them; ``follow``: the batch of the pages (``Fetch.follow``).
    """

    async def load(
        ctx: Context,
        sources: list[Any],
        *,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        **given: Any,
    ) -> list[PageResult]:
        args = PageArgs(first, after, last, before)  # the names of PAGE_ARGUMENTS
        return await pages(ctx, sources, args, **given)

    # fetched reads the field's arguments from the load's keyword-only parameters
    keyword = inspect.Parameter.KEYWORD_ONLY
    load.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD),
            inspect.Parameter("sources", inspect.Parameter.POSITIONAL_OR_KEYWORD),
            *(
                inspect.Parameter(name, keyword, default=None, annotation=annotation)
                for name, annotation in {**PAGE_ARGUMENTS, **(arguments or {})}.items()
            ),
        ]
    )
    return fetched(
        load,
        graphql_type=Connection[node],  # type: ignore[valid-type]
        description=description,
        permission=permission,
        narrows=None if narrows is None else Narrows(narrows, pages=True),
        reads=reads,
        whole=whole,
        rows=None if rows is None else Narrows(rows, pages=True),
        follow=follow,
    )


def children(kind: Children[Any], *, description: str) -> Any:
    """Declare a nested list of child rows (a team's members): each source's visible rows of
    ``kind``, loaded for every source of a level at once."""
    return fetched(
        kind.rows,
        description=description,
        permission=kind.permission,
        reads=("id",),
        narrows=Narrows(kind.table),
        follow=kind.following,
    )
