"""Root lists of cards, members, teams, categories and receipts; nested member/card lists."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, Generic, TypeVar

from db.following import Following
from db.nodes import NODE_TABLES
from db.permissions import Permission
from db.queries.lists import ListSpec, count_list, list_page
from db.rows import CardRow, MemberRow, NodeRow
from db.sql import Columns
from loaders.registry import Loaders
from loaders.rows import ChildrenLoader
from resolvers.context import Context
from resolvers.paging import PageArgs, PageResult, keyset, page_result

R = TypeVar("R", bound=NodeRow)


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
        (db/following.py)."""
        _, loaders = ctx.require(self.permission)
        return loaders.narrowed(self.loader(loaders), columns).following(parent, "id")


TEAM_MEMBERS: Children[MemberRow] = Children(
    Permission.TEAMS_READ, "members", attrgetter("members_by_team")
)
MEMBER_CARDS: Children[CardRow] = Children(
    Permission.CARDS_READ, "cards", attrgetter("cards_by_holder")
)
