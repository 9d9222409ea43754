"""Root lists of cards, members, teams, categories and receipts; nested member/card lists."""

from collections.abc import Sequence

from db.nodes import NODE_TABLES
from db.permissions import Permission
from db.queries.lists import ListSpec, count_list, list_page
from db.rows import CardRow, MemberRow, TeamRow
from db.sql import Columns
from resolvers.context import Context
from resolvers.paging import PageArgs, PageResult, keyset, page_result


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
    _, loaders = ctx.require(Permission.TEAMS_READ)
    loader = loaders.narrowed(loaders.members_by_team, columns)
    return await loader.load_all([team.id for team in teams])


async def member_cards(
    ctx: Context, members: Sequence[MemberRow], columns: Columns = None
) -> list[list[CardRow]]:
    """Return the cards of each member that the viewer sees (``columns``: only those of them)."""
    _, loaders = ctx.require(Permission.CARDS_READ)
    loader = loaders.narrowed(loaders.cards_by_holder, columns)
    return await loader.load_all([member.id for member in members])
