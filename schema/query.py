"""The root Query type."""

from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated, Any

import strawberry

from db.nodes import NODE_TABLES, NODE_TYPES
from db.permissions import Permission
from db.queries.lists import ListSpec
from db.queries.summary import Bucket
from db.sql import Columns
from resolvers import nodes as node_resolvers
from resolvers.context import Context, Principal
from resolvers.errors import bad_input
from resolvers.expense_args import Ordering
from resolvers.expenses import list_expenses
from resolvers.nodes import list_rows
from resolvers.paging import PageArgs, PageResult
from resolvers.summary import DEFAULT_MAX_BUCKETS, summarize
from resolvers.viewer import viewer
from schema.base import Info, Node, connection
from schema.business import Viewer
from schema.card import Card
from schema.category import Category
from schema.event import (
    EventConnection,
    load_events,
)
from schema.expense import expense_connection
from schema.expense_inputs import FilterArg
from schema.fields import Narrows, Typed, fetched, one
from schema.list_inputs import (
    CardFilter,
    MemberFilter,
    ReceiptFilter,
    card_spec,
    member_spec,
    receipt_spec,
)
from schema.member import Member
from schema.receipt import Receipt
from schema.summary import SpendBucket, SpendDimension, TimeInterval
from schema.team import Team
from schema.webhooks import (
    WebhookDelivery,
    WebhookEndpoint,
    load_deliveries,
    load_endpoints,
)

MAX_NODES = 100


def _root_list(
    node: type,
    table: str,
    *,
    description: str,
    filter: type | None = None,
    spec: Callable[[Any], ListSpec] | None = None,
) -> Any:
    """Declare the root list of ``table``, with its ``filter`` input read by ``spec``."""

    async def pages(
        ctx: Context, roots: list[Any], args: PageArgs, *, filter: Any = None
    ) -> list[PageResult]:
        ctx.require()  # credentials are checked before the arguments
        listed = spec(filter) if spec is not None and filter is not None else ListSpec()
        return [await list_rows(ctx, table=table, spec=listed, args=args) for _ in roots]

    arguments = None
    if filter is not None:
        described = strawberry.argument(description=f"Conditions the {table} must meet.")
        arguments = {"filter": Annotated[filter | None, described]}
    return connection(
        node,
        pages,
        description=description,
        permission=NODE_TABLES[table].read_permission,
        whole=(table,),  # its rows are primed for the references to them
        arguments=arguments,
        rows=table,
    )


async def _expenses(
    ctx: Context,
    roots: list[Any],
    args: PageArgs,
    *,
    filter_: Any,
    order: Ordering,
    columns: Columns = None,
) -> list[PageResult]:
    return [
        await list_expenses(ctx, filter_=filter_, order=order, args=args, columns=columns)
        for _ in roots
    ]


async def _node(
    ctx: Context,
    roots: list[Any],
    columns: Mapping[str, Columns] | None = None,
    *,
    id: Annotated[strawberry.ID, strawberry.argument(description="Global id.")],
) -> list[Typed]:
    return [Typed(*await node_resolvers.node(ctx, id, columns)) for _ in roots]


async def _viewer(ctx: Context, roots: list[Any]) -> list[Principal]:
    return [viewer(ctx) for _ in roots]


async def _summary(
    ctx: Context,
    roots: list[Any],
    *,
    group_by: Annotated[
        list[SpendDimension],
        strawberry.argument(description="Dimensions to group by (may be empty: one grand total)."),
    ],
    filter: FilterArg = None,
    interval: Annotated[
        TimeInterval | None,
        strawberry.argument(description="Also group by period of this length."),
    ] = None,
    max_buckets: Annotated[
        int,
        strawberry.argument(
            description="At most this many buckets (1 to 5000). The query's cost counts this many, or fewer when `groupBy`, the filter's id lists and `spentAfter`..`spentBefore` allow fewer."
        ),
    ] = DEFAULT_MAX_BUCKETS,
) -> list[list[Bucket]]:
    return [
        await summarize(
            ctx,
            filter_=filter,
            group_by=[d.value for d in group_by],
            interval=interval.value if interval else None,
            max_buckets=max_buckets,
        )
        for _ in roots
    ]


@strawberry.type(description="Read access to a business's expenses, cards, teams and receipts.")
class Query:
    viewer: Viewer = fetched(_viewer, description="The caller and their business.")

    node = fetched(
        _node,
        graphql_type=Node | None,
        description="Any object by global id; NOT_FOUND if it does not exist or is not visible.",
        narrows=Narrows(by_type={name: node.table.name for name, node in NODE_TYPES.items()}),
    )

    @strawberry.field(  # type: ignore[untyped-decorator]  # strawberry types it Any
        description="Objects by global id, in order; a missing one is null with a NOT_FOUND error at its index."
    )
    def nodes(
        self,
        info: Info,
        ids: Annotated[
            list[strawberry.ID], strawberry.argument(description="Global ids (at most 100).")
        ],
    ) -> list[Node | None]:
        info.context.require()
        if len(ids) > MAX_NODES:
            raise bad_input(f"At most {MAX_NODES} ids.", field="ids")
        awaitables: list[Awaitable[Node]] = [one(info, _node, None, id=id_) for id_ in ids]
        return awaitables  # type: ignore[return-value]  # graphql-core awaits each item

    expenses = expense_connection(
        _expenses, description="Expenses the caller may see, newest first unless ordered otherwise."
    )
    receipts = _root_list(
        Receipt, "receipts", filter=ReceiptFilter, spec=receipt_spec,
        description="Receipts the caller may see, newest upload first.",
    )  # fmt: skip
    cards = _root_list(
        Card, "cards", filter=CardFilter, spec=card_spec,
        description="Cards the caller may see, oldest first.",
    )  # fmt: skip
    teams = _root_list(Team, "teams", description="Teams the caller may see, oldest first.")
    members = _root_list(
        Member, "members", filter=MemberFilter, spec=member_spec,
        description="Members the caller may see, oldest first.",
    )  # fmt: skip

    spend_summary = fetched(
        _summary,
        graphql_type=list[SpendBucket],
        description="Spend totals in the home currency, grouped by dimensions and optionally by period; same visibility as `expenses`. More buckets than `maxBuckets` is an error (QUERY_TOO_COMPLEX), never a silently cut list.",
        permission=Permission.EXPENSES_READ,
    )
    events = fetched(
        load_events,
        graphql_type=EventConnection,
        description=(
            "The change feed: every committed change the caller may see, oldest first, "
            "never skipping one (README, Events). Resume with `after:` the last cursor read."
        ),
    )
    webhook_endpoints = fetched(
        load_endpoints,
        graphql_type=list[WebhookEndpoint],
        description="The business's webhook endpoints, oldest first (admins and `admin` keys).",
    )
    webhook_deliveries = fetched(
        load_deliveries,
        graphql_type=list[WebhookDelivery] | None,
        description="An endpoint's deliveries, newest first (admins and `admin` keys); null with NOT_FOUND for an endpoint of no one's or another business's.",
    )

    categories = _root_list(
        Category, "categories", description="Bookkeeping categories of the business, oldest first."
    )
