"""The root Query type."""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import strawberry

from db.nodes import NODE_TABLES
from db.permissions import Permission
from db.queries.lists import ListSpec
from db.queries.summary import Bucket
from resolvers import nodes as node_resolvers
from resolvers.context import Context, Principal
from resolvers.errors import bad_input
from resolvers.expenses import list_expenses
from resolvers.lists import list_rows
from resolvers.paging import PageResult
from resolvers.summary import DEFAULT_MAX_BUCKETS, summarize
from resolvers.viewer import viewer
from schema.base import After, Before, Connection, First, Info, Last, Node, page_args
from schema.business import Viewer
from schema.card import Card
from schema.category import Category
from schema.event import (
    EventAfter,
    EventConnection,
    EventFilterArg,
    EventFirst,
    load_events,
)
from schema.expense import Expense
from schema.expense_inputs import FilterArg, OrderArg, ordering
from schema.fields import Typed, fetch, fetched, one
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
    WebhookDeliveryStatus,
    WebhookEndpoint,
    load_deliveries,
    load_endpoints,
)

MAX_NODES = 100


def _pages(table: str, spec: Callable[[Any], ListSpec] | None = None) -> Callable[..., Any]:
    """Return the load of a root list of ``table`` (``spec`` reads its filter)."""

    async def load(
        ctx: Context,
        roots: list[Any],
        *,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        filter: Any = None,
    ) -> list[PageResult]:
        ctx.require()  # credentials are checked before the arguments
        listed = spec(filter) if spec is not None and filter is not None else ListSpec()
        args = page_args(first, after, last, before)
        return [await list_rows(ctx, table=table, spec=listed, args=args) for _ in roots]

    return load


async def _expenses(
    ctx: Context, roots: list[Any], *, first: int | None = None, after: str | None = None,
    last: int | None = None, before: str | None = None, filter: Any = None, order_by: Any = None,
) -> list[PageResult]:  # fmt: skip
    args = page_args(first, after, last, before)
    order = ordering(order_by)
    return [await list_expenses(ctx, filter_=filter, order=order, args=args) for _ in roots]


async def _node(ctx: Context, roots: list[Any], *, id: str) -> list[Typed]:
    return [Typed(*await node_resolvers.node(ctx, id)) for _ in roots]


async def _viewer(ctx: Context, roots: list[Any]) -> list[Principal]:
    return [viewer(ctx) for _ in roots]


async def _summary(
    ctx: Context, roots: list[Any], *, group_by: list[SpendDimension], filter: Any = None,
    interval: TimeInterval | None = None, max_buckets: int = DEFAULT_MAX_BUCKETS,
) -> list[list[Bucket]]:  # fmt: skip
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


_receipts = _pages("receipts", receipt_spec)
_cards = _pages("cards", card_spec)
_teams = _pages("teams")
_members = _pages("members", member_spec)
_categories = _pages("categories")


@strawberry.type(description="Read access to a business's expenses, cards, teams and receipts.")
class Query:
    viewer: Viewer = fetched(_viewer, description="The caller and their business.")

    @strawberry.field(
        description="Any object by global id; NOT_FOUND if it does not exist or is not visible.",
        metadata=fetch(_node),
    )
    async def node(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="Global id.")],
    ) -> Node | None:
        return await one(info, _node, None, id=id)

    @strawberry.field(
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

    @strawberry.field(
        description="Expenses the caller may see, newest first unless ordered otherwise.",
        metadata=fetch(_expenses, permission=Permission.EXPENSES_READ),
    )
    async def expenses(
        self, info: Info, first: First = None, after: After = None, last: Last = None,
        before: Before = None, filter: FilterArg = None, order_by: OrderArg = None,
    ) -> Connection[Expense]:  # fmt: skip
        return await one(
            info, _expenses, None, first=first, after=after, last=last, before=before,
            filter=filter, order_by=order_by,
        )  # fmt: skip

    @strawberry.field(
        description="Receipts the caller may see, newest upload first.",
        metadata=fetch(_receipts, permission=NODE_TABLES["receipts"].read_permission),
    )
    async def receipts(
        self, info: Info, first: First = None, after: After = None, last: Last = None,
        before: Before = None, filter: Annotated[ReceiptFilter | None, strawberry.argument(description="Conditions the receipts must meet.")] = None,
    ) -> Connection[Receipt]:  # fmt: skip
        return await one(
            info, _receipts, None, first=first, after=after, last=last, before=before, filter=filter
        )

    @strawberry.field(
        description="Cards the caller may see, oldest first.",
        metadata=fetch(_cards, permission=NODE_TABLES["cards"].read_permission),
    )
    async def cards(
        self, info: Info, first: First = None, after: After = None, last: Last = None,
        before: Before = None, filter: Annotated[CardFilter | None, strawberry.argument(description="Conditions the cards must meet.")] = None,
    ) -> Connection[Card]:  # fmt: skip
        return await one(
            info, _cards, None, first=first, after=after, last=last, before=before, filter=filter
        )

    @strawberry.field(
        description="Teams the caller may see, oldest first.",
        metadata=fetch(_teams, permission=NODE_TABLES["teams"].read_permission),
    )
    async def teams(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Team]:
        return await one(info, _teams, None, first=first, after=after, last=last, before=before)

    @strawberry.field(
        description="Members the caller may see, oldest first.",
        metadata=fetch(_members, permission=NODE_TABLES["members"].read_permission),
    )
    async def members(
        self, info: Info, first: First = None, after: After = None, last: Last = None,
        before: Before = None, filter: Annotated[MemberFilter | None, strawberry.argument(description="Conditions the members must meet.")] = None,
    ) -> Connection[Member]:  # fmt: skip
        return await one(
            info, _members, None, first=first, after=after, last=last, before=before, filter=filter
        )

    @strawberry.field(
        description="Spend totals in the home currency, grouped by dimensions and optionally by period; same visibility as `expenses`. More buckets than `maxBuckets` is an error (QUERY_TOO_COMPLEX), never a silently cut list.",
        metadata=fetch(_summary, permission=Permission.EXPENSES_READ),
    )
    async def spend_summary(
        self,
        info: Info,
        group_by: Annotated[
            list[SpendDimension],
            strawberry.argument(
                description="Dimensions to group by (may be empty: one grand total)."
            ),
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
    ) -> list[SpendBucket]:
        return await one(
            info, _summary, None, group_by=group_by, filter=filter, interval=interval,
            max_buckets=max_buckets,
        )  # fmt: skip

    @strawberry.field(
        description=(
            "The change feed: every committed change the caller may see, oldest first, "
            "never skipping one (README, Events). Resume with `after:` the last cursor read."
        ),
        metadata=fetch(load_events),
    )
    async def events(
        self, info: Info, after: EventAfter = None, first: EventFirst = None,
        filter: EventFilterArg = None,
    ) -> EventConnection:  # fmt: skip
        return await one(info, load_events, None, after=after, first=first, filter=filter)

    @strawberry.field(
        description="The business's webhook endpoints, oldest first (admins and `admin` keys).",
        metadata=fetch(load_endpoints),
    )
    async def webhook_endpoints(self, info: Info) -> list[WebhookEndpoint]:
        return await one(info, load_endpoints, None)

    @strawberry.field(
        description="An endpoint's deliveries, newest first (admins and `admin` keys); null with NOT_FOUND for an endpoint of no one's or another business's.",
        metadata=fetch(load_deliveries),
    )
    async def webhook_deliveries(
        self,
        info: Info,
        endpoint_id: Annotated[strawberry.ID, strawberry.argument(description="The endpoint.")],
        statuses: Annotated[
            list[WebhookDeliveryStatus] | None,
            strawberry.argument(description="Only these statuses."),
        ] = None,
        first: Annotated[
            int | None, strawberry.argument(description="At most this many (0..100, default 100).")
        ] = None,
    ) -> list[WebhookDelivery] | None:
        return await one(
            info, load_deliveries, None, endpoint_id=endpoint_id, statuses=statuses, first=first
        )

    @strawberry.field(
        description="Bookkeeping categories of the business, oldest first.",
        metadata=fetch(_categories, permission=NODE_TABLES["categories"].read_permission),
    )
    async def categories(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Category]:
        return await one(
            info, _categories, None, first=first, after=after, last=last, before=before
        )
