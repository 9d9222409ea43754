"""Node objects the viewer may see: by global id (``node``/``nodes``), by reference from
another object, in the root lists (cards, members, teams, categories, receipts) and in the
nested member and card lists."""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, Generic, TypeVar, cast

from db.nodes import NODE_TABLES, NODE_TYPES
from db.permissions import Permission
from db.queries.lists import ListSpec, count_list, list_page
from db.rows import CardRow, MemberRow, NodeRow
from db.sent_together import Following
from db.sql import Columns
from loaders.registry import Loaders
from loaders.rows import ChildrenLoader
from resolvers.context import Context
from resolvers.errors import not_found
from resolvers.ids import decode_id
from resolvers.paging import PageArgs, PageResult, keyset, page_result

R = TypeVar("R", bound=NodeRow)


async def node(
    ctx: Context, global_id: str, columns: Mapping[str, Columns] | None = None
) -> tuple[str, NodeRow]:
    """Return (type name, row) for a global id the viewer may see, else NOT_FOUND.

    An id of another business, an invisible one and one that never existed all give
    the same answer, so ids cannot be probed. ``columns``: the only columns to read of a
    row, by its type's name (absent: the whole row).
    """
    ctx.require()  # anonymous callers learn nothing, not even whether an id is well-formed
    type_name, id_ = decode_id(global_id)
    node_type = NODE_TYPES[type_name]
    _, loaders = ctx.require(node_type.read_permission)
    # load_all: one future for the batch, not aiodataloader's future and task per key
    narrowed = None if columns is None else columns.get(type_name)
    (row,) = await loaders.visible(node_type, narrowed).load_all([id_])
    if row is None:
        raise not_found()
    return type_name, row


async def reference(ctx: Context, table: str, id_: int | None) -> NodeRow | None:
    """Return the row an already visible object points at (tenant-filtered), or None."""
    if id_ is None:
        return None
    _, loaders = ctx.require()
    return await loaders.ref(table).load(id_)


async def required_reference(ctx: Context, table: str, id_: int) -> NodeRow:
    """Return a row that a foreign key guarantees exists (an expense's member)."""
    row = await reference(ctx, table, id_)
    if row is None:  # deleted between two statements of this request
        raise RuntimeError(f"{table} {id_} referenced but missing")
    return row


async def references(
    ctx: Context,
    table: str,
    ids: list[int | None],
    *,
    required: bool = False,
    columns: Columns = None,
) -> list[NodeRow | None]:
    """Return, for many objects at once, what :func:`reference` returns for each id.

    ``required`` is :func:`required_reference`'s check: a missing row for an id is an error.
    ``columns``: the only columns to read of the rows (and the id); None: whole rows.
    """
    distinct = dict.fromkeys(ids)  # a page names a few members many times
    distinct.pop(None, None)
    if not distinct:
        return [None] * len(ids)
    keys = cast(list[int], list(distinct))
    _, loaders = ctx.require()
    by_id: dict[int | None, NodeRow | None] = dict(
        zip(keys, await loaders.ref(table, columns).load_all(keys), strict=True)
    )
    by_id[None] = None
    rows = list(map(by_id.__getitem__, ids))
    if required and None in rows:
        raise RuntimeError(f"{table} referenced but missing")
    return rows


def references_following(
    ctx: Context, table: str, column: str, *, parent: str, columns: Columns = None
) -> Following | None:
    """Return :func:`references`'s batch, its ids ``column`` of a read of ``parent``
    (db/sent_together.py)."""
    _, loaders = ctx.require()
    return loaders.ref(table, columns).following(parent, column)


async def visible_references(
    ctx: Context, table: str, ids: list[int | None]
) -> list[NodeRow | None]:
    """Return each referenced row only if the viewer may see it on its own."""
    _, loaders = ctx.require()
    keys = list(dict.fromkeys(id_ for id_ in ids if id_ is not None))
    by_id = dict(zip(keys, await loaders.visible(table).load_all(keys), strict=True))
    return [None if id_ is None else by_id[id_] for id_ in ids]


async def list_rows(ctx: Context, *, table: str, spec: ListSpec, args: PageArgs) -> PageResult:
    """Return a page of the visible rows of a root list."""
    node = NODE_TABLES[table]
    if node.root_list is None:
        raise ValueError(f"{table} has no root list")
    _, loaders = ctx.require(node.read_permission)
    keys = keyset(args, column=node.root_list.column, descending=node.root_list.descending)
    page = await list_page(
        db=ctx.db, visibility=loaders.visibility, table=table, spec=spec, keyset=keys
    )
    loaders.ref(table).prime_many([(row.id, row) for row in page.rows])

    async def count() -> int:
        return await count_list(db=ctx.db, visibility=loaders.visibility, table=table, spec=spec)

    return page_result(page, keys, count)


@dataclass(frozen=True)
class Children(Generic[R]):
    """A nested list: each parent's child rows that the viewer sees, from one loader for all."""

    permission: Permission  # what the viewer needs to see any
    table: str  # the child rows'
    loader: Callable[[Loaders], ChildrenLoader[R]]

    async def rows(
        self, ctx: Context, parents: Sequence[Any], columns: Columns = None
    ) -> list[list[R]]:
        """Return the visible child rows of each parent (one loader call for all), with only
        ``columns`` of them when not None."""
        _, loaders = ctx.require(self.permission)
        whole = self.loader(loaders)
        return await loaders.narrowed(whole, columns).load_all([p.id for p in parents])

    def following(self, ctx: Context, parent: str, columns: Columns = None) -> Following | None:
        """Return :meth:`rows`'s batch, its parents the rows of a read of ``parent``
        (db/sent_together.py)."""
        _, loaders = ctx.require(self.permission)
        return loaders.narrowed(self.loader(loaders), columns).following(parent, "id")


TEAM_MEMBERS: Children[MemberRow] = Children(
    Permission.TEAMS_READ, "members", attrgetter("members_by_team")
)
MEMBER_CARDS: Children[CardRow] = Children(
    Permission.CARDS_READ, "cards", attrgetter("cards_by_holder")
)
