"""Root lists of cards, members, teams, categories and receipts; nested member/card lists."""

from collections.abc import Callable, Sequence
from operator import attrgetter
from typing import Any, TypeVar

from db.following import Following
from db.nodes import NODE_TABLES
from db.permissions import Permission
from db.queries.lists import ListSpec, count_list, list_page
from db.rows import CardRow, MemberRow, NodeRow, TeamRow
from db.sql import Columns
from loaders.registry import Loaders
from loaders.rows import ChildrenLoader
from resolvers.context import Context
from resolvers.paging import PageArgs, PageResult, keyset, page_result

R = TypeVar("R", bound=NodeRow)
_MEMBERS, _CARDS = attrgetter("members_by_team"), attrgetter("cards_by_holder")


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
    ref_loader = loaders.ref(table)
    for row in page.rows:
        ref_loader.prime(row.id, row)

    async def count() -> int:
        return await count_list(db=ctx.db, visibility=loaders.visibility, table=table, spec=spec)

    return page_result(page, keys, count)


async def team_members(
    ctx: Context, teams: Sequence[TeamRow], columns: Columns = None
) -> list[list[MemberRow]]:
    """Return the members of each team that the viewer sees (``columns``: only those of them)."""
    return await child_rows(ctx, Permission.TEAMS_READ, _MEMBERS, teams, columns)


async def member_cards(
    ctx: Context, members: Sequence[MemberRow], columns: Columns = None
) -> list[list[CardRow]]:
    """Return the cards of each member that the viewer sees (``columns``: only those of them)."""
    return await child_rows(ctx, Permission.CARDS_READ, _CARDS, members, columns)


async def child_rows(
    ctx: Context,
    permission: Permission,
    kind: Callable[[Loaders], ChildrenLoader[R]],
    parents: Sequence[Any],
    columns: Columns,
) -> list[list[R]]:
    """Return the visible child rows of each parent from ``kind``'s loader (one call for all),
    with only ``columns`` of them when not None."""
    _, loaders = ctx.require(permission)
    return await loaders.narrowed(kind(loaders), columns).load_all([p.id for p in parents])


def children_following(
    ctx: Context,
    permission: Permission,
    kind: Callable[[Loaders], ChildrenLoader[R]],
    parent: str,
    columns: Columns,
) -> Following | None:
    """Return :func:`child_rows`'s batch, its parents the rows of a read of ``parent``
    (db/following.py)."""
    _, loaders = ctx.require(permission)
    return loaders.narrowed(kind(loaders), columns).following(parent, "id")


def members_following(ctx: Context, parent: str, columns: Columns = None) -> Following | None:
    """Return :func:`team_members`'s batch, the teams a read of ``parent`` (db/following.py)."""
    return children_following(ctx, Permission.TEAMS_READ, _MEMBERS, parent, columns)


def cards_following(ctx: Context, parent: str, columns: Columns = None) -> Following | None:
    """Return :func:`member_cards`'s batch, the members a read of ``parent`` (db/following.py)."""
    return children_following(ctx, Permission.CARDS_READ, _CARDS, parent, columns)
